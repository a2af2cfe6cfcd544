import { redirect, notFound } from "next/navigation";
import { pagePrincipal } from "@/server/pages/request";
import { environmentIdSchema } from "@/lib/machines";
import { CastPlayer } from "@/components/terminal/cast-player";

export const dynamic = "force-dynamic";

export default async function ReplayPage({ params }: { params: Promise<{ id: string; name: string }> }) {
  const { id, name } = await params;
  const { principal } = await pagePrincipal();
  if (principal?.kind !== "instructor") redirect("/instructor");
  if (!environmentIdSchema.safeParse(id).success || !/^[a-z]+-\d+\.cast$/.test(name)) notFound();
  return (
    <main className="h-screen">
      <CastPlayer url={`/api/environments/${id}/recordings/${name}`} title={`${id} · ${name}`} />
    </main>
  );
}

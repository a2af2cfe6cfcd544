import Link from "next/link";
import { redirect, notFound } from "next/navigation";
import { getContext } from "@/server/context";
import { joinLink } from "@/server/pages/join-link";
import { pageLang, pagePrincipal } from "@/server/pages/request";
import { translator } from "@/lib/i18n";
import { classIdParam } from "@/lib/api-schema";

export const dynamic = "force-dynamic";

/** For the projector: the class title, the join link, the code and a QR code as large as the screen allows. */
export default async function JoinScreenPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const lang = await pageLang();
  const t = translator(lang);
  const { principal } = await pagePrincipal();
  if (principal?.kind !== "instructor") redirect("/instructor");
  const cls = classIdParam.safeParse(id).success ? getContext().store.getClass(id) : undefined;
  if (!cls) notFound();
  const { url, qrSvg } = await joinLink(cls.joinCode);
  return (
    <main className="flex min-h-screen flex-col items-center justify-center gap-6 bg-white p-6 text-center lg:flex-row lg:gap-16" data-testid="join-screen">
      <div className="max-w-xl">
        <h1 className="text-4xl font-bold lg:text-5xl">{cls.title}</h1>
        <p className="mt-8 text-2xl">{t("join.screen.open")}</p>
        <p className="mt-2 break-all font-mono text-3xl font-semibold text-brand">{url.replace(/\/join\/.*$/, "")}</p>
        <p className="mt-6 text-2xl">{t("join.screen.code")}</p>
        <p className="mt-2 font-mono text-7xl font-bold tracking-[0.2em]" data-testid="join-screen-code">{cls.joinCode}</p>
        <p className="mt-6 text-2xl">{t("join.screen.scan")}</p>
        <Link href={`/instructor/classes/${cls.id}`} className="mt-10 inline-block text-brand underline">{t("join.screen.close")}</Link>
      </div>
      <div
        className="aspect-square w-[min(80vw,70vh)] [&>svg]:h-full [&>svg]:w-full"
        role="img"
        aria-label={`${t("dash.qr")}: ${url}`}
        data-testid="join-screen-qr"
        dangerouslySetInnerHTML={{ __html: qrSvg }}
      />
    </main>
  );
}

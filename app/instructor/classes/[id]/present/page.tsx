import { redirect, notFound } from "next/navigation";
import { getContext } from "@/server/context";
import { pageLang, pagePrincipal } from "@/server/pages/request";
import { renderedSlides } from "@/server/pages/lab-content";
import { classIdParam } from "@/lib/api-schema";
import { Presenter } from "@/components/instructor/presenter";

export const dynamic = "force-dynamic";

export default async function PresentPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const lang = await pageLang();
  const { principal } = await pagePrincipal();
  if (principal?.kind !== "instructor") redirect("/instructor");
  const { maillab, store } = getContext();
  const cls = classIdParam.safeParse(id).success ? store.getClass(id) : undefined;
  if (!cls) notFound();
  return (
    <Presenter
      lang={lang}
      classId={cls.id}
      slides={renderedSlides(maillab.course, lang)}
      initialSlide={cls.presenterSlide}
      initialFollow={cls.followSlides}
    />
  );
}

import { redirect, notFound } from "next/navigation";
import { getContext } from "@/server/context";
import { pageLang, pagePrincipal } from "@/server/pages/request";
import { renderedLabs } from "@/server/pages/lab-content";
import { environmentIdSchema } from "@/lib/machines";
import { LearnerDetail } from "@/components/instructor/learner-detail";

export const dynamic = "force-dynamic";

export default async function LearnerPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const lang = await pageLang();
  const { principal } = await pagePrincipal();
  if (principal?.kind !== "instructor") redirect("/instructor");
  const { maillab, store } = getContext();
  const row = environmentIdSchema.safeParse(id).success ? store.getEnvironment(id) : undefined;
  if (!row || row.destroyedAt) notFound();
  const learner = store.getLearner(row.learnerId);
  const view = maillab.environmentView(row, lang);
  return (
    <LearnerDetail
      lang={lang}
      learnerName={learner?.name ?? "?"}
      classId={row.classId}
      labs={renderedLabs(maillab.course, lang, view.params)}
      initial={view}
    />
  );
}

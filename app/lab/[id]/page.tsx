import Link from "next/link";
import { getContext } from "@/server/context";
import { ApiError, isApiError } from "@/server/http-error";
import { pageLang, pagePrincipal } from "@/server/pages/request";
import { renderedLabs, renderedSlides } from "@/server/pages/lab-content";
import { environmentIdSchema } from "@/lib/machines";
import { LabView } from "@/components/lab/lab-view";
import type { EnvironmentView } from "@/components/lab/types";

export const dynamic = "force-dynamic";

export default async function LabPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const lang = await pageLang();
  const { principal } = await pagePrincipal();
  const { maillab, store } = getContext();
  let row;
  try {
    const parsed = environmentIdSchema.safeParse(id);
    if (!parsed.success) throw new ApiError(404, "no such environment");
    row = maillab.authorize(principal, parsed.data);
    await maillab.open(row);
  } catch (error) {
    const message = isApiError(error) ? error.message : "error";
    return (
      <main className="mx-auto max-w-md px-6 py-16 text-center">
        <p className="mb-4 text-lg" data-testid="lab-error">{message}</p>
        <Link className="text-brand underline" href="/">maillab</Link>
      </main>
    );
  }
  const course = maillab.course;
  const view = maillab.environmentView(store.getEnvironment(row.id)!, lang) as EnvironmentView;
  const cls = row.classId ? store.getClass(row.classId) : undefined;
  return (
    <LabView
      lang={lang}
      courseTitle={course.title[lang]}
      content={{ labs: renderedLabs(course, lang, view.params), slides: renderedSlides(course, lang) }}
      initial={view}
      follow={cls ? { slide: cls.presenterSlide, enabled: cls.followSlides } : null}
    />
  );
}

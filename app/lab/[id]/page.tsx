import Link from "next/link";
import { getContext } from "@/server/context";
import { errorBody, isApiError } from "@/server/http-error";
import { pageLang, pagePrincipal } from "@/server/pages/request";
import { renderedLabs, renderedSlides } from "@/server/pages/lab-content";
import { environmentIdSchema } from "@/lib/machines";
import { translator } from "@/lib/i18n";
import { LabView } from "@/components/lab/lab-view";
import { LangSwitch } from "@/components/lang-switch";

export const dynamic = "force-dynamic";

export default async function LabPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const lang = await pageLang();
  const t = translator(lang);
  const { principal } = await pagePrincipal();
  const { maillab, store } = getContext();
  let row;
  try {
    row = maillab.authorize(principal, environmentIdSchema.safeParse(id).success ? id : "");
    await maillab.open(row);
  } catch (error) {
    // The API's own message, in the page's language (docs/api.md "Errors").
    const message = isApiError(error) ? String(errorBody(error, lang).error) : t("error.generic");
    return (
      <main className="mx-auto max-w-md px-6 py-16 text-center">
        <div className="mb-6 flex justify-end"><LangSwitch lang={lang} /></div>
        <h1 className="mb-2 text-xl font-bold">{t("lab.error.title")}</h1>
        <p className="mb-4 text-lg" data-testid="lab-error">{message}</p>
        <Link className="text-brand underline" href="/">{t("lab.error.home")}</Link>
      </main>
    );
  }
  const course = maillab.course;
  const view = maillab.environmentView(store.getEnvironment(row.id)!, lang);
  const cls = row.classId ? store.getClass(row.classId) : undefined;
  return (
    <LabView
      lang={lang}
      courseTitle={course.title[lang]}
      content={{ labs: renderedLabs(course, lang, view.params), slides: renderedSlides(course, lang) }}
      initial={view}
      presenter={cls ? { slide: cls.presenterSlide, follow: cls.followSlides, endedAt: cls.endedAt } : null}
    />
  );
}

import type { EnvironmentView, Lang } from "@/lib/api-types";
import { translator } from "@/lib/i18n";
import { LangSwitch } from "../lang-switch";
import { StepList } from "./step-list";
import type { LabContent } from "./types";

/** A learner's page after the class ended: no terminals, no retries, their results. */
export function EndedView({ lang, courseTitle, content, env }: { lang: Lang; courseTitle: string; content: LabContent; env: EnvironmentView }) {
  const t = translator(lang);
  const done = env.steps.filter((s) => s.status === "pass").length;
  const skipped = env.steps.filter((s) => s.status === "pass" && s.solved).length;
  return (
    <div className="min-h-screen">
      <header className="flex items-center gap-3 border-b border-slate-200 bg-white px-4 py-2">
        <a href="/" className="font-bold text-brand">maillab</a>
        <span className="text-sm text-slate-600">{courseTitle}</span>
        <div className="ml-auto"><LangSwitch lang={lang} /></div>
      </header>
      <main className="mx-auto max-w-2xl px-4 py-8" data-testid="class-ended">
        <h1 className="text-2xl font-bold">{t("ended.title")}</h1>
        <p className="mt-2 text-slate-700">{t("ended.text")}</p>
        <p className="mt-1 font-semibold" data-testid="ended-summary">{t("ended.summary", { done, total: env.steps.length, skipped })}</p>
        {content.labs.map((lab) => (
          <section key={lab.id} className="mt-6">
            <h2 className="mb-2 text-lg font-semibold">{lab.title}</h2>
            <StepList lang={lang} lab={lab} results={env.steps} compact />
          </section>
        ))}
      </main>
    </div>
  );
}

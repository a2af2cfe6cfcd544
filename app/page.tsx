import Link from "next/link";
import { getContext } from "@/server/context";
import { pageLang, pagePrincipal } from "@/server/pages/request";
import { translator } from "@/lib/i18n";
import { LangSwitch } from "@/components/lang-switch";
import { StartButton } from "@/components/home/start-button";
import { JoinForm } from "@/components/home/join-form";
import { WarmUp } from "@/components/warm-up";

export const dynamic = "force-dynamic";

export default async function Home() {
  const lang = await pageLang();
  const t = translator(lang);
  const { learnerId } = await pagePrincipal();
  const { store, maillab } = getContext();
  const live = learnerId ? store.liveEnvironmentOfLearner(learnerId) : undefined;
  const course = maillab.course;
  return (
    <main className="mx-auto max-w-4xl px-6 py-10">
      <WarmUp />
      <header className="mb-8 flex items-center justify-between">
        <div>
          <h1 className="text-3xl font-bold text-brand">{t("app.name")}</h1>
          <p className="text-slate-600">{t("app.tagline")}</p>
        </div>
        <LangSwitch lang={lang} />
      </header>
      <section className="mb-8 rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
        <h2 className="text-2xl font-semibold">{course.title[lang]}</h2>
        <ul className="mt-3 list-disc pl-6 text-slate-700">
          {course.labs.map((l) => (
            <li key={l.id}>{l.title[lang]}</li>
          ))}
        </ul>
      </section>
      <div className="grid gap-6 md:grid-cols-2">
        <section className="rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
          <h2 className="mb-2 text-xl font-semibold">{t("home.selfpaced.title")}</h2>
          <p className="mb-4 text-sm text-slate-600">{t("home.selfpaced.text")}</p>
          {live ? (
            <Link data-testid="resume" href={`/lab/${live.id}`} className="inline-block rounded-md bg-brand px-4 py-2 font-semibold text-white hover:bg-brand-dark">
              {t("home.resume")}
            </Link>
          ) : (
            <StartButton lang={lang} />
          )}
        </section>
        <section className="rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
          <h2 className="mb-4 text-xl font-semibold">{t("home.join.title")}</h2>
          <JoinForm lang={lang} />
        </section>
      </div>
      <p className="mt-8 text-sm">
        <Link href="/instructor" className="text-brand underline">{t("home.instructor")}</Link>
      </p>
    </main>
  );
}

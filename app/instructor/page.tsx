import Link from "next/link";
import { getContext } from "@/server/context";
import { pageLang, pagePrincipal } from "@/server/pages/request";
import { translator } from "@/lib/i18n";
import { LangSwitch } from "@/components/lang-switch";
import { LoginForm } from "@/components/instructor/login-form";
import { NewClassForm } from "@/components/instructor/new-class-form";
import { SignOutButton } from "@/components/instructor/sign-out-button";

export const dynamic = "force-dynamic";

export default async function InstructorHome() {
  const lang = await pageLang();
  const t = translator(lang);
  const { principal } = await pagePrincipal();
  const { store, maillab } = getContext();
  const signedIn = principal?.kind === "instructor";
  const header = (
    <header className="mb-6 flex items-center justify-between gap-4">
      <h1 className="text-2xl font-bold"><Link href="/" className="text-brand">maillab</Link> · {t("instructor.title")}</h1>
      <div className="flex items-center gap-2">
        <LangSwitch lang={lang} />
        {signedIn && <SignOutButton lang={lang} />}
      </div>
    </header>
  );
  if (!signedIn) {
    return (
      <main className="mx-auto max-w-md px-6 py-10">
        {header}
        <div className="rounded-lg border border-slate-200 bg-white p-6 shadow-sm"><LoginForm lang={lang} /></div>
      </main>
    );
  }
  const classes = store.listClasses().sort((a, b) => b.createdAt - a.createdAt);
  return (
    <main className="mx-auto max-w-4xl px-6 py-10">
      {header}
      <section className="mb-8 rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
        <h2 className="mb-4 text-xl font-semibold">{t("instructor.newClass")}</h2>
        <NewClassForm lang={lang} labs={maillab.course.labs.map((l) => ({ id: l.id, title: l.title[lang] }))} />
      </section>
      <section className="rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
        <h2 className="mb-4 text-xl font-semibold">{t("instructor.classes")}</h2>
        <ul className="divide-y divide-slate-100" data-testid="class-list">
          {classes.map((c) => (
            <li key={c.id} className="flex items-center gap-4 py-2">
              <span className="flex-1 font-medium">{c.title}</span>
              <span className="font-mono text-sm">{c.joinCode}</span>
              {c.endedAt && <span className="text-xs text-slate-500">{t("instructor.ended")}</span>}
              <Link className="text-brand underline" href={`/instructor/classes/${c.id}`}>{t("instructor.open")}</Link>
            </li>
          ))}
        </ul>
      </section>
    </main>
  );
}

import Link from "next/link";
import { redirect, notFound } from "next/navigation";
import { getContext } from "@/server/context";
import { joinLink } from "@/server/pages/join-link";
import { pageLang, pagePrincipal } from "@/server/pages/request";
import { translator } from "@/lib/i18n";
import { classIdParam } from "@/lib/api-schema";
import { LangSwitch } from "@/components/lang-switch";
import { Dashboard } from "@/components/instructor/dashboard";
import { SignOutButton } from "@/components/instructor/sign-out-button";

export const dynamic = "force-dynamic";

export default async function ClassPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const lang = await pageLang();
  const t = translator(lang);
  const { principal } = await pagePrincipal();
  if (principal?.kind !== "instructor") redirect("/instructor");
  const { maillab, store } = getContext();
  if (!classIdParam.safeParse(id).success || !store.getClass(id)) notFound();
  const progress = maillab.progress(id, lang);
  const { url, qrSvg } = await joinLink(progress.joinCode);
  return (
    <main className="mx-auto max-w-7xl px-6 py-6">
      <header className="mb-4 flex flex-wrap items-center gap-4">
        <Link href="/instructor" className="text-brand underline">{t("instructor.classes")}</Link>
        <h1 className="text-2xl font-bold" data-testid="class-title-display">{progress.title}</h1>
        {progress.endedAt && <span className="rounded bg-slate-200 px-2 text-sm" data-testid="class-ended-badge">{t("instructor.ended")}</span>}
        <div className="ml-auto flex items-center gap-2">
          <LangSwitch lang={lang} />
          <SignOutButton lang={lang} />
        </div>
      </header>
      <Dashboard lang={lang} initial={progress} joinUrl={url} qrSvg={qrSvg} />
    </main>
  );
}

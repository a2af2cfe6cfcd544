import { pageLang } from "@/server/pages/request";
import { translator } from "@/lib/i18n";
import { JoinForm } from "@/components/home/join-form";
import { LangSwitch } from "@/components/lang-switch";

export const dynamic = "force-dynamic";

export default async function JoinPage({ params }: { params: Promise<{ code: string }> }) {
  const { code } = await params;
  const lang = await pageLang();
  const t = translator(lang);
  return (
    <main className="mx-auto max-w-md px-6 py-10">
      <div className="mb-6 flex items-center justify-between">
        <h1 className="text-2xl font-bold">{t("home.join.title")}</h1>
        <LangSwitch lang={lang} />
      </div>
      <div className="rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
        <JoinForm lang={lang} code={decodeURIComponent(code).slice(0, 8)} />
      </div>
    </main>
  );
}

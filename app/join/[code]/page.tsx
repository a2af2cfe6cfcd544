import { getContext } from "@/server/context";
import { pageLang } from "@/server/pages/request";
import { translator } from "@/lib/i18n";
import { joinCodeSchema } from "@/lib/api-schema";
import { JoinForm } from "@/components/home/join-form";
import { LangSwitch } from "@/components/lang-switch";
import { WarmUp } from "@/components/warm-up";

export const dynamic = "force-dynamic";

/** The join link / QR code's target: which class this is, then name and "join". */
export default async function JoinPage({ params }: { params: Promise<{ code: string }> }) {
  const { code: raw } = await params;
  const lang = await pageLang();
  const t = translator(lang);
  const code = joinCodeSchema.safeParse(decodeURIComponent(raw).slice(0, 12));
  const cls = code.success ? getContext().store.getClassByCode(code.data) : undefined;
  return (
    <main className="mx-auto max-w-md px-6 py-10">
      <WarmUp />
      <div className="mb-6 flex items-center justify-between gap-4">
        <h1 className="text-2xl font-bold">{t("home.join.title")}</h1>
        <LangSwitch lang={lang} />
      </div>
      {cls ? (
        <div className="mb-4 rounded-lg border border-slate-200 bg-white px-6 py-4 shadow-sm">
          <div className="text-sm text-slate-600">{t("join.class")}</div>
          <div className="text-xl font-semibold" data-testid="join-class-title">{cls.title}</div>
          {cls.endedAt && <p className="mt-2 text-fail" data-testid="join-class-ended">{t("join.ended")}</p>}
        </div>
      ) : (
        <p className="mb-4 rounded-lg bg-amber-50 px-4 py-3 text-amber-950" role="alert" data-testid="join-unknown">{t("join.unknown")}</p>
      )}
      {!cls?.endedAt && (
        <div className="rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
          <JoinForm lang={lang} code={code.success ? code.data : ""} />
        </div>
      )}
    </main>
  );
}

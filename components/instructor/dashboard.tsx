"use client";
import { useEffect, useState } from "react";
import Link from "next/link";
import { useRouter } from "next/navigation";
import type { ClassProgressView, Lang, LearnerStepCell, PoolStatus } from "@/lib/api-types";
import { translator, type MessageKey, type Translate } from "@/lib/i18n";
import { apiClient, eventStreams, exportCsvUrl } from "../api-client";
import { useEventSource } from "../lab/use-event-source";

function duration(t: Translate, ms: number) {
  const m = Math.floor(ms / 60_000);
  return m < 60 ? t("dash.minutes", { m }) : t("dash.hours", { h: Math.floor(m / 60), m: m % 60 });
}

/** How a grid cell looks: not done yet is not failed (red is only for "was done, now broken"). */
type CellLook = "pass" | "solved" | "broken" | "working" | "tried" | "pending" | "notDone";

/** `final`: the class has ended; what was not done stays not done. */
function cellLook(c: LearnerStepCell | undefined, final: boolean): CellLook {
  if (final && c?.status !== "pass") return "notDone";
  if (!c || c.status === "pending") return c?.current ? "working" : "pending";
  if (c.status === "pass") return c.broken ? "broken" : c.solved ? "solved" : "pass";
  return c.attempted ? "tried" : "working";
}

const CELL: Record<CellLook, { className: string; icon: string; label: MessageKey }> = {
  pass: { className: "bg-green-600 text-white", icon: "✓", label: "cell.pass" },
  solved: { className: "bg-green-200 text-green-950", icon: "↷", label: "cell.solved" },
  broken: { className: "bg-red-600 text-white", icon: "!", label: "cell.broken" },
  working: { className: "border-2 border-brand bg-white text-brand", icon: "…", label: "cell.working" },
  tried: { className: "bg-amber-300 text-amber-950", icon: "…", label: "cell.tried" },
  pending: { className: "bg-slate-200 text-slate-600", icon: "", label: "cell.pending" },
  notDone: { className: "bg-slate-100 text-slate-600", icon: "–", label: "cell.notDone" },
};

/** The live grid: learners × steps, who is stuck, and the class controls. */
export function Dashboard({ lang, initial, joinUrl, qrSvg }: { lang: Lang; initial: ClassProgressView; joinUrl: string; qrSvg: string }) {
  const t = translator(lang);
  const api = apiClient(lang);
  const router = useRouter();
  const [p, setP] = useState(initial);
  const [pool, setPool] = useState<PoolStatus | null>(null);
  const [count, setCount] = useState(10);
  const [error, setError] = useState<string | null>(null);
  useEventSource(eventStreams.class(p.id, lang), { progress: setP });
  // While pre-warming, follow the pool until it is full (one environment every ~2 s on 2 cores).
  const filling = pool !== null && pool.ready < pool.target;
  useEffect(() => {
    if (!filling) return;
    const timer = setInterval(() => {
      void apiClient(lang).poolStatus(p.id).then(setPool, () => {});
    }, 2000);
    return () => clearInterval(timer);
  }, [filling, p.id, lang]);

  async function run(fn: () => Promise<void>) {
    setError(null);
    try {
      await fn();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }

  return (
    <div className="space-y-6">
      <section className="flex flex-wrap items-start gap-6 rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
        <div>
          <div className="text-sm text-slate-600">{t("dash.joinCode")}</div>
          <div className="font-mono text-4xl font-bold tracking-widest" data-testid="join-code-display">{p.joinCode}</div>
          <div className="mt-2 text-sm text-slate-600">{t("dash.joinLink")}</div>
          <a className="break-all font-mono text-sm text-brand underline" href={joinUrl}>{joinUrl}</a>
          {!p.endedAt && (
            <div className="mt-3">
              <Link className="text-sm text-brand underline" data-testid="join-screen-link" href={`/instructor/classes/${p.id}/join-screen`}>
                {t("dash.joinScreen")}
              </Link>
            </div>
          )}
        </div>
        {!p.endedAt && (
          <Link href={`/instructor/classes/${p.id}/join-screen`} className="block" aria-label={t("dash.joinScreen")}>
            <span className="block h-36 w-36 [&>svg]:h-full [&>svg]:w-full" role="img" aria-label={t("dash.qr")} dangerouslySetInnerHTML={{ __html: qrSvg }} />
          </Link>
        )}
        <div className="ml-auto flex flex-col gap-2 text-sm">
          {!p.endedAt && (
            <div className="flex items-center gap-2">
              <input
                type="number"
                min={0}
                max={200}
                aria-label={t("dash.prewarmCount")}
                className="w-20 rounded border border-slate-300 px-2 py-1"
                value={count}
                onChange={(e) => setCount(Number(e.target.value))}
              />
              <button
                type="button"
                data-testid="prewarm"
                className="rounded bg-slate-800 px-3 py-1 text-white"
                onClick={() => run(async () => setPool(await api.prewarm(p.id, count)))}
              >
                {t("dash.prewarm")}
              </button>
            </div>
          )}
          {pool && (
            <div className="w-56" data-testid="prewarm-progress">
              <div className="h-2 w-full rounded bg-slate-200">
                <div className="h-2 rounded bg-brand" style={{ width: `${pool.target ? (100 * pool.ready) / pool.target : 100}%` }} />
              </div>
              <span className="text-xs">{pool.ready} / {pool.target} {t("dash.ready")}</span>
            </div>
          )}
          <Link className="rounded border border-slate-300 px-3 py-1 text-center hover:bg-slate-50" href={`/instructor/classes/${p.id}/present`} data-testid="present">
            {t("dash.present")}
          </Link>
          <a className="rounded border border-slate-300 px-3 py-1 text-center hover:bg-slate-50" href={exportCsvUrl(p.id, lang)} data-testid="export-csv">
            {t("dash.export")}
          </a>
          {!p.endedAt && (
            <button
              type="button"
              data-testid="end-class"
              className="rounded border border-red-300 px-3 py-1 text-fail hover:bg-red-50"
              onClick={() => window.confirm(t("dash.endConfirm")) && run(async () => {
                await api.endClass(p.id);
                router.refresh();
              })}
            >
              {t("dash.end")}
            </button>
          )}
        </div>
      </section>
      {error && <p role="alert" className="text-sm text-fail">{error}</p>}
      <section className="overflow-x-auto rounded-lg border border-slate-200 bg-white shadow-sm">
        {p.learners.length === 0 ? (
          <p className="p-6 text-slate-600" data-testid="no-learners">{t("dash.noLearners")}</p>
        ) : (
          <table className="min-w-full text-sm" data-testid="progress-grid">
            <thead>
              <tr className="border-b border-slate-200 text-left">
                <th scope="col" className="px-3 py-2">{t("dash.learner")}</th>
                {p.steps.map((s) => (
                  <th scope="col" key={`${s.labId}/${s.id}`} className="px-1 py-2 text-xs font-normal" title={s.title}>
                    <span className="block max-w-[7rem] truncate">{s.labId} · {s.title}</span>
                  </th>
                ))}
                <th scope="col" className="px-3 py-2"><span className="sr-only">{t("dash.watch")}</span></th>
              </tr>
            </thead>
            <tbody>
              {p.learners.map((l) => {
                const byKey = new Map(l.steps.map((s) => [`${s.labId}/${s.id}`, s]));
                const ended = l.status === "ended";
                return (
                  <tr key={l.id} className={`border-b border-slate-100 ${l.stuck ? "bg-amber-50" : ""}`} data-testid={`learner-${l.name}`} data-learner-status={l.status}>
                    <th scope="row" className="px-3 py-2 text-left font-normal">
                      <div className="font-medium">{l.name}</div>
                      <div className="text-xs text-slate-600" data-testid={`learner-status-${l.name}`}>
                        {t(`env.status.${l.status}`)}
                        {!ended && l.currentStep && ` · ${t("dash.timeOnStep")} ${duration(t, l.timeOnStepMs)}`}
                        {l.stuck && <span className="ml-1 rounded bg-amber-300 px-1 text-amber-950" data-testid="stuck">{t("dash.stuck")}</span>}
                        {l.notice && <span className="ml-1 block text-red-800" data-testid={`notice-${l.name}`} title={l.notice.message}>{l.notice.summary}</span>}
                      </div>
                    </th>
                    {p.steps.map((s) => {
                      const c = byKey.get(`${s.labId}/${s.id}`);
                      const look = cellLook(c, ended);
                      const label = `${s.title}: ${t(CELL[look].label)}`;
                      return (
                        <td key={`${s.labId}/${s.id}`} className="px-1 py-2">
                          <span
                            data-testid={`cell-${l.name}-${s.id}`}
                            data-status={c?.status ?? "pending"}
                            data-broken={c?.broken ? "true" : "false"}
                            data-look={look}
                            role="img"
                            aria-label={label}
                            title={`${label}${c?.failing.length ? `\n${c.failing.join("\n")}` : ""}`}
                            className={`flex h-6 w-full min-w-8 items-center justify-center rounded text-xs font-bold ${CELL[look].className}`}
                          >
                            {CELL[look].icon}
                          </span>
                        </td>
                      );
                    })}
                    <td className="px-3 py-2">
                      {l.environmentId && !ended && (
                        <Link className="text-brand underline" data-testid={`watch-${l.name}`} href={`/instructor/environments/${l.environmentId}`}>
                          {t("dash.watch")}
                        </Link>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
        {p.learners.length > 0 && (
          <ul className="flex flex-wrap gap-4 border-t border-slate-100 px-3 py-2 text-xs text-slate-700" aria-label={t("dash.legend")}>
            {(Object.keys(CELL) as CellLook[]).filter((look) => (p.endedAt ? look !== "working" && look !== "tried" && look !== "pending" : look !== "notDone")).map((look) => (
              <li key={look} className="flex items-center gap-1">
                <span aria-hidden className={`flex h-4 w-6 items-center justify-center rounded text-[10px] font-bold ${CELL[look].className}`}>{CELL[look].icon}</span>
                {t(CELL[look].label)}
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}

"use client";
import { useEffect, useState } from "react";
import Link from "next/link";
import { useRouter } from "next/navigation";
import type { Lang } from "@/lib/api-schema";
import { translator } from "@/lib/i18n";
import { api } from "../api-client";
import { useEventSource } from "../lab/use-event-source";

export interface ProgressView {
  id: string;
  title: string;
  joinCode: string;
  endedAt: number | null;
  labs: string[];
  steps: Array<{ labId: string; id: string; title: string }>;
  learners: Array<{
    id: string;
    name: string;
    environmentId: string | null;
    status: string;
    currentStep: string | null;
    timeOnStepMs: number;
    stuck: boolean;
    steps: Array<{ labId: string; id: string; status: string; solved?: boolean; sameFailures?: number; failing: string[] }>;
  }>;
}

function minutes(ms: number) {
  const m = Math.floor(ms / 60_000);
  return m < 60 ? `${m} min` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

const CELL = { pass: "bg-green-500", fail: "bg-red-400", pending: "bg-slate-200" } as Record<string, string>;

/** The live grid: learners × steps, who is stuck, and the class controls. */
export function Dashboard({ lang, initial, joinUrl, qrSvg }: { lang: Lang; initial: ProgressView; joinUrl: string; qrSvg: string }) {
  const t = translator(lang);
  const router = useRouter();
  const [p, setP] = useState(initial);
  const [pool, setPool] = useState<{ ready: number; target: number } | null>(null);
  const [count, setCount] = useState(10);
  const [error, setError] = useState<string | null>(null);
  useEventSource(`/api/classes/${p.id}/events?lang=${lang}`, { progress: (d) => setP(d as ProgressView) });
  // While pre-warming, follow the pool until it is full (one environment every ~2 s on 2 cores).
  const filling = pool !== null && pool.ready < pool.target;
  useEffect(() => {
    if (!filling) return;
    const timer = setInterval(() => {
      void api<{ ready: number; target: number }>("GET", `/api/classes/${p.id}/prewarm`).then(setPool, () => {});
    }, 2000);
    return () => clearInterval(timer);
  }, [filling, p.id]);

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
          <div className="text-sm text-slate-500">{t("dash.joinCode")}</div>
          <div className="font-mono text-4xl font-bold tracking-widest" data-testid="join-code-display">{p.joinCode}</div>
          <div className="mt-2 text-sm text-slate-500">{t("dash.joinLink")}</div>
          <a className="break-all font-mono text-sm text-brand underline" href={joinUrl}>{joinUrl}</a>
        </div>
        <div className="h-36 w-36" aria-label="QR code" dangerouslySetInnerHTML={{ __html: qrSvg }} />
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
                onClick={() => run(async () => {
                  setPool(await api("POST", `/api/classes/${p.id}/prewarm`, { count }));
                })}
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
          <Link className="rounded border border-slate-300 px-3 py-1 text-center hover:bg-slate-50" href={`/instructor/classes/${p.id}/present`}>
            {t("dash.present")}
          </Link>
          <a className="rounded border border-slate-300 px-3 py-1 text-center hover:bg-slate-50" href={`/api/classes/${p.id}/export.csv?lang=${lang}`} data-testid="export-csv">
            {t("dash.export")}
          </a>
          {!p.endedAt && (
            <button
              type="button"
              data-testid="end-class"
              className="rounded border border-red-300 px-3 py-1 text-fail hover:bg-red-50"
              onClick={() => window.confirm(t("dash.endConfirm")) && run(async () => {
                await api("DELETE", `/api/classes/${p.id}`);
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
          <p className="p-6 text-slate-500" data-testid="no-learners">{t("dash.noLearners")}</p>
        ) : (
          <table className="min-w-full text-sm" data-testid="progress-grid">
            <thead>
              <tr className="border-b border-slate-200 text-left">
                <th className="px-3 py-2">{t("dash.learner")}</th>
                {p.steps.map((s) => (
                  <th key={`${s.labId}/${s.id}`} className="px-1 py-2 text-xs font-normal" title={s.title}>
                    <span className="block max-w-[7rem] truncate">{s.labId} · {s.title}</span>
                  </th>
                ))}
                <th className="px-3 py-2" />
              </tr>
            </thead>
            <tbody>
              {p.learners.map((l) => {
                const byKey = new Map(l.steps.map((s) => [`${s.labId}/${s.id}`, s]));
                return (
                  <tr key={l.id} className={`border-b border-slate-100 ${l.stuck ? "bg-amber-50" : ""}`} data-testid={`learner-${l.name}`}>
                    <td className="px-3 py-2">
                      <div className="font-medium">{l.name}</div>
                      <div className="text-xs text-slate-500">
                        {l.status}
                        {l.currentStep && ` · ${t("dash.timeOnStep")} ${minutes(l.timeOnStepMs)}`}
                        {l.stuck && <span className="ml-1 rounded bg-amber-300 px-1 text-amber-950" data-testid="stuck">{t("dash.stuck")}</span>}
                      </div>
                    </td>
                    {p.steps.map((s) => {
                      const r = byKey.get(`${s.labId}/${s.id}`);
                      const status = r?.status ?? "pending";
                      return (
                        <td key={`${s.labId}/${s.id}`} className="px-1 py-2">
                          <span
                            data-testid={`cell-${l.name}-${s.id}`}
                            data-status={status}
                            title={`${s.title}: ${status}${r?.failing.length ? `\n${r.failing.join("\n")}` : ""}`}
                            className={`block h-5 w-full min-w-8 rounded ${CELL[status]} ${r?.solved ? "opacity-50" : ""}`}
                          />
                        </td>
                      );
                    })}
                    <td className="px-3 py-2">
                      {l.environmentId && (
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
      </section>
    </div>
  );
}

"use client";
import { useEffect, useState } from "react";
import type { EnvironmentView, Lang, RecordingView } from "@/lib/api-types";
import { translator } from "@/lib/i18n";
import { TerminalTabs } from "@/components/terminal/terminal-tabs";
import { apiClient, eventStreams } from "../api-client";
import { MachineNotice } from "../lab/machine-notice";
import { StepList } from "../lab/step-list";
import type { LabContent } from "../lab/types";
import { useEventSource } from "../lab/use-event-source";

/** One learner seen by the instructor: live terminals (read-only or take over), steps, recordings. */
export function LearnerDetail({ lang, learnerName, classId, labs, initial }: {
  lang: Lang;
  learnerName: string;
  classId: string | null;
  labs: LabContent["labs"];
  initial: EnvironmentView;
}) {
  const t = translator(lang);
  const api = apiClient(lang);
  const [env, setEnv] = useState(initial);
  const [recordings, setRecordings] = useState<RecordingView[]>([]);
  const [target, setTarget] = useState(labs[0]?.steps[0]?.id ?? "");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEventSource(env.status === "ended" ? null : eventStreams.environment(env.id, lang), { environment: setEnv });
  useEffect(() => {
    void apiClient(lang).recordings(env.id).then((r) => setRecordings(r.recordings), () => {});
  }, [env.id, lang]);

  async function run(fn: () => Promise<EnvironmentView>) {
    setBusy(true);
    setError(null);
    try {
      setEnv(await fn());
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="flex h-screen flex-col">
      <header className="flex flex-wrap items-center gap-x-3 gap-y-2 border-b border-slate-200 bg-white px-4 py-2 text-sm">
        {classId && <a className="text-brand underline" href={`/instructor/classes/${classId}`}>{t("dash.back")}</a>}
        <h1 className="text-lg font-bold" data-testid="learner-name">{learnerName}</h1>
        <span className="break-all font-mono text-slate-600">{env.params.domain}</span>
        <div className="flex min-w-0 max-w-full flex-wrap items-center gap-2 lg:ml-auto">
          <select aria-label={t("dash.solveTo")} className="min-w-0 max-w-full flex-1 rounded border border-slate-300 px-2 py-1" value={target} onChange={(e) => setTarget(e.target.value)}>
            {labs.flatMap((l) => l.steps.map((s) => (
              <option key={`${l.id}/${s.id}`} value={s.id}>{l.title} · {s.title}</option>
            )))}
          </select>
          <button type="button" disabled={busy} className="rounded bg-slate-800 px-3 py-1 text-white disabled:opacity-60"
            onClick={() => run(() => api.solveUpTo(env.id, target))}>
            {t("dash.solveTo")}
          </button>
          <button type="button" disabled={busy} className="rounded border border-red-300 px-3 py-1 text-fail disabled:opacity-60"
            onClick={() => window.confirm(t("lab.resetConfirm")) && run(() => api.reset(env.id))}>
            {t("dash.reset")}
          </button>
        </div>
      </header>
      <MachineNotice notice={env.notice} />
      {error && <p role="alert" className="bg-red-100 px-4 py-1 text-sm text-fail">{error}</p>}
      <div className="flex min-h-0 flex-1 flex-col lg:flex-row">
        <aside className="max-h-[40vh] overflow-auto bg-slate-50 p-4 lg:max-h-none lg:w-[38%]">
          {labs.map((l) => (
            <section key={l.id} className="mb-6">
              <h2 className="mb-2 font-semibold">{l.title}</h2>
              <StepList lang={lang} lab={l} results={env.steps} />
            </section>
          ))}
          <section>
            <h2 className="mb-2 font-semibold">{t("dash.recordings")}</h2>
            <ul className="space-y-1 text-sm" data-testid="recordings">
              {recordings.map((r) => (
                <li key={r.name}>
                  <a className="text-brand underline" href={`/instructor/environments/${env.id}/replay/${r.name}`}>
                    {r.machine} · {new Date(r.startedAt).toLocaleString(lang)}
                  </a>{" "}
                  <span className="text-slate-600">({Math.ceil(r.bytes / 1024)} KiB)</span>{" "}
                  <a className="text-xs text-slate-600 underline" href={`/api/environments/${env.id}/recordings/${r.name}`} download>.cast</a>
                </li>
              ))}
            </ul>
          </section>
        </aside>
        <section className="min-h-[320px] min-w-0 flex-1 bg-slate-900" aria-label={t("lab.machines")}>
          <TerminalTabs envId={env.id} machines={["mail", "partner"]} viewer lang={lang} />
        </section>
      </div>
    </div>
  );
}

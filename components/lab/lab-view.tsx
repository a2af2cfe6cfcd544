"use client";
import { useState } from "react";
import type { Lang } from "@/lib/api-schema";
import { translator } from "@/lib/i18n";
import { TerminalTabs } from "@/components/terminal/terminal-tabs";
import { LangSwitch } from "../lang-switch";
import { api } from "../api-client";
import { SlidesPanel } from "./slides-panel";
import { StepList } from "./step-list";
import type { EnvironmentView, LabContent } from "./types";
import { useEventSource } from "./use-event-source";

type Panel = "steps" | "slides";

/** The learner's lab: task list or slides on the left, the mail/partner terminals on the right. */
export function LabView({
  lang,
  courseTitle,
  content,
  initial,
  follow,
}: {
  lang: Lang;
  courseTitle: string;
  content: LabContent;
  initial: EnvironmentView;
  follow: { slide: number; enabled: boolean } | null;
}) {
  const t = translator(lang);
  const [env, setEnv] = useState(initial);
  const [panel, setPanel] = useState<Panel>("steps");
  const [viewLab, setViewLab] = useState(initial.lab);
  const [slide, setSlide] = useState(follow?.enabled ? follow.slide : 0);
  const [following, setFollowing] = useState(Boolean(follow?.enabled));
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEventSource(`/api/environments/${env.id}/events?lang=${lang}`, {
    environment: (data) => {
      const next = data as EnvironmentView;
      setEnv((prev) => {
        if (next.lab !== prev.lab) setViewLab(next.lab);
        return next;
      });
    },
  });
  useEventSource(env.classId ? `/api/classes/${env.classId}/events` : null, {
    presenter: (data) => {
      const p = data as { slide: number; follow: boolean };
      if (p.follow && following) setSlide(p.slide);
    },
  });

  async function act(label: string, fn: () => Promise<unknown>) {
    setBusy(label);
    setError(null);
    try {
      const result = await fn();
      if (result && typeof result === "object" && "steps" in result) setEnv(result as EnvironmentView);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(null);
    }
  }

  const lab = content.labs.find((l) => l.id === viewLab) ?? content.labs[0]!;
  const labIndex = content.labs.indexOf(lab);
  const nextLab = content.labs[labIndex + 1];
  const labResults = env.steps.filter((s) => s.labId === lab.id);
  const allDone = labResults.length > 0 && labResults.every((s) => s.status === "pass");
  const [u1, u2] = env.params.users;

  return (
    <div className="flex h-screen flex-col">
      <header className="flex flex-wrap items-center gap-3 border-b border-slate-200 bg-white px-4 py-2">
        <a href="/" className="font-bold text-brand">maillab</a>
        <span className="hidden text-sm text-slate-500 md:inline">{courseTitle}</span>
        <nav className="flex gap-1" aria-label="Labs">
          {content.labs.map((l) => (
            <button
              key={l.id}
              type="button"
              data-testid={`lab-tab-${l.id}`}
              aria-current={l.id === lab.id ? "page" : undefined}
              className={`rounded px-3 py-1 text-sm ${l.id === lab.id ? "bg-brand text-white" : "hover:bg-slate-100"}`}
              onClick={() => setViewLab(l.id)}
            >
              {l.title}
            </button>
          ))}
        </nav>
        <div className="ml-auto flex items-center gap-2">
          <button
            type="button"
            data-testid="check-now"
            disabled={busy !== null}
            className="rounded-md bg-brand px-3 py-1 text-sm font-semibold text-white hover:bg-brand-dark disabled:opacity-60"
            onClick={() => act("check", () => api("POST", `/api/environments/${env.id}/check?lang=${lang}`))}
          >
            {busy === "check" ? t("lab.checking") : t("lab.checkNow")}
          </button>
          <LangSwitch lang={lang} />
        </div>
      </header>
      {env.status === "stopped" && <p className="bg-amber-100 px-4 py-1 text-sm">{t("lab.env.stopped")}</p>}
      {env.status === "missing" && <p className="bg-red-100 px-4 py-1 text-sm">{t("lab.env.missing")}</p>}
      {error && <p role="alert" className="bg-red-100 px-4 py-1 text-sm text-fail">{error}</p>}
      <div className="flex min-h-0 flex-1 flex-col lg:flex-row">
        <section className="flex min-h-0 flex-col border-slate-200 lg:w-[42%] lg:border-r">
          <div role="tablist" className="flex border-b border-slate-200 bg-white text-sm">
            {(["steps", "slides"] as const).map((p) => (
              <button
                key={p}
                role="tab"
                type="button"
                data-testid={`panel-${p}`}
                aria-selected={panel === p}
                className={`px-4 py-2 ${panel === p ? "border-b-2 border-brand font-semibold" : "text-slate-600"}`}
                onClick={() => setPanel(p)}
              >
                {t(p === "steps" ? "lab.steps" : "lab.slides")}
              </button>
            ))}
            {panel === "slides" && env.classId && (
              <label className="ml-auto flex items-center gap-1 px-3 text-xs">
                <input type="checkbox" checked={following} onChange={(e) => setFollowing(e.target.checked)} />
                {t("lab.followInstructor")}
              </label>
            )}
          </div>
          {panel === "slides" ? (
            <div className="min-h-0 flex-1">
              <SlidesPanel lang={lang} slides={content.slides} index={slide} onIndex={setSlide} />
            </div>
          ) : (
            <div className="min-h-0 flex-1 overflow-auto bg-slate-50 p-4">
              <h1 className="mb-2 text-xl font-bold" data-testid="lab-title">{lab.title}</h1>
              <div className="prose-lab mb-4" dangerouslySetInnerHTML={{ __html: lab.introHtml }} />
              <dl className="mb-4 grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 rounded-md border border-slate-200 bg-white p-3 text-sm" data-testid="params">
                <dt className="font-medium">{t("lab.domain")}</dt>
                <dd className="font-mono">{env.params.domain}</dd>
                {[u1, u2].map((u) => u && (
                  <div key={u.name} className="contents">
                    <dt className="font-medium">{t("lab.user")} / {t("lab.password")}</dt>
                    <dd className="font-mono">{u.name} / {u.password}</dd>
                  </div>
                ))}
              </dl>
              <StepList lang={lang} lab={lab} results={env.steps} />
              {allDone && (
                <div className="mt-4 rounded-md bg-green-50 p-3 text-green-900" data-testid="lab-done">
                  {t("lab.allDone")}
                  {nextLab && (
                    <button type="button" className="ml-2 underline" onClick={() => setViewLab(nextLab.id)}>
                      {t("lab.next")} {nextLab.title}
                    </button>
                  )}
                </div>
              )}
              <div className="mt-6 flex flex-wrap gap-2 text-sm">
                {content.labs.slice(1).filter((l) => l.id !== env.lab).map((l) => (
                  <button
                    key={l.id}
                    type="button"
                    data-testid={`skip-to-${l.id}`}
                    disabled={busy !== null}
                    className="rounded border border-slate-300 bg-white px-3 py-1 hover:bg-slate-100"
                    onClick={() => window.confirm(t("lab.skipConfirm")) &&
                      act("skip", () => api("POST", `/api/environments/${env.id}/lab?lang=${lang}`, { lab: l.id }))}
                  >
                    {busy === "skip" ? "…" : `${t("lab.skipTo")} ${l.title}`}
                  </button>
                ))}
                <button
                  type="button"
                  data-testid="reset"
                  disabled={busy !== null}
                  className="rounded border border-red-300 bg-white px-3 py-1 text-fail hover:bg-red-50"
                  onClick={() => window.confirm(t("lab.resetConfirm")) &&
                    act("reset", () => api("POST", `/api/environments/${env.id}/reset?lang=${lang}`))}
                >
                  {busy === "reset" ? "…" : t("lab.reset")}
                </button>
              </div>
            </div>
          )}
        </section>
        <section className="min-h-[320px] flex-1 bg-slate-900" aria-label={t("lab.machines")}>
          <TerminalTabs envId={env.id} machines={["mail", "partner"]} lang={lang} />
        </section>
      </div>
    </div>
  );
}

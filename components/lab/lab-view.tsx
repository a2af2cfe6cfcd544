"use client";
import { useRef, useState } from "react";
import type { EnvironmentView, Lang, PresenterEvent, StepView } from "@/lib/api-types";
import { translator, type Translate } from "@/lib/i18n";
import { TerminalCloseCode } from "@/lib/terminal-wire";
import { TerminalTabs } from "@/components/terminal/terminal-tabs";
import { LangSwitch } from "../lang-switch";
import { ApiCallError, apiClient, eventStreams } from "../api-client";
import { EndedView } from "./ended-view";
import { MachineNotice } from "./machine-notice";
import { ParamsPanel } from "./params-panel";
import { SlidesPanel } from "./slides-panel";
import { StepList } from "./step-list";
import type { LabContent } from "./types";
import { useEventSource } from "./use-event-source";

type Panel = "steps" | "slides";

/** A lab the environment just finished and the one it moved on to (docs/learning-loop.md "Progression"). */
interface Advance {
  from: string;
  to: string | null;
}

/** What a screen reader hears when steps change: newly done and newly broken steps. */
function stepNews(t: Translate, prev: StepView[], next: StepView[]): string {
  const before = new Map(prev.map((s) => [`${s.labId}/${s.id}`, s]));
  const news: string[] = [];
  for (const s of next) {
    const b = before.get(`${s.labId}/${s.id}`);
    if (s.status === "pass" && b?.status !== "pass") news.push(`✓ ${s.title}: ${t("lab.status.pass")}`);
    else if (s.broken && !b?.broken) news.push(`⚠ ${s.title}: ${t("lab.status.broken")}`);
  }
  return news.join(". ");
}

/** The learner's lab: task list or slides on the left, the mail/partner terminals on the right. */
export function LabView({
  lang,
  courseTitle,
  content,
  initial,
  presenter: initialPresenter,
}: {
  lang: Lang;
  courseTitle: string;
  content: LabContent;
  initial: EnvironmentView;
  /** The class's presenter mode (null: self-paced). */
  presenter: PresenterEvent | null;
}) {
  const t = translator(lang);
  const api = apiClient(lang);
  const [env, setEnv] = useState(initial);
  const following0 = Boolean(initialPresenter?.follow);
  const [panel, setPanel] = useState<Panel>(following0 ? "slides" : "steps");
  const [viewLab, setViewLab] = useState(initial.lab);
  const [slide, setSlide] = useState(following0 ? initialPresenter!.slide : 0);
  const [following, setFollowing] = useState(following0);
  const presenter = useRef(initialPresenter);
  const [followOffered, setFollowOffered] = useState(following0);
  const [advance, setAdvance] = useState<Advance | null>(null);
  const [news, setNews] = useState("");
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const ended = env.status === "ended";
  const labTitle = (id: string) => content.labs.find((l) => l.id === id)?.title ?? id;
  /** "Lab 12.1" of "Lab 12.1: Mails von außen annehmen". */
  const labName = (id: string) => labTitle(id).replace(/:.*$/, "");

  const current = useRef(initial);
  function receive(next: EnvironmentView) {
    const prev = current.current;
    current.current = next;
    setNews(stepNews(t, prev.steps, next.steps));
    if (next.lab !== prev.lab) {
      // The course's order moved the environment on: say so, and show the new lab.
      if (next.labs.find((l) => l.id === prev.lab)?.status === "done") setAdvance({ from: prev.lab, to: next.lab });
      setViewLab(next.lab);
    } else if (next.labs.every((l) => l.status === "done") && !prev.labs.every((l) => l.status === "done")) {
      setAdvance({ from: next.lab, to: null });
    }
    setEnv(next);
  }
  const markEnded = () => receive({ ...current.current, status: "ended" });

  // A class that has ended has nothing more to send: the streams close with the ended view.
  useEventSource(ended ? null : eventStreams.environment(env.id, lang), { environment: receive });
  useEventSource(env.classId && !ended ? eventStreams.class(env.classId, lang) : null, {
    presenter: (p) => {
      const was = presenter.current;
      presenter.current = p;
      setFollowOffered(p.follow);
      if (p.endedAt) return markEnded();
      if (p.follow && !was?.follow) {
        // Follow mode just turned on: every open page goes to the slides, at the instructor's slide.
        setFollowing(true);
        setPanel("slides");
        setSlide(p.slide);
      } else if (p.follow && following && p.slide !== was?.slide) {
        setSlide(p.slide);
      } else if (!p.follow) {
        setFollowing(false);
      }
    },
  });

  async function act(label: string, fn: () => Promise<EnvironmentView>) {
    setBusy(label);
    setError(null);
    try {
      receive(await fn());
    } catch (e) {
      if (e instanceof ApiCallError && e.code === "class-ended") markEnded();
      else setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(null);
    }
  }

  if (ended) return <EndedView lang={lang} courseTitle={courseTitle} content={content} env={env} />;

  const lab = content.labs.find((l) => l.id === viewLab) ?? content.labs[0]!;
  const labIndex = content.labs.indexOf(lab);
  const nextLab = content.labs[labIndex + 1];
  const labState = env.labs.find((l) => l.id === lab.id);
  const allDone = labState?.status === "done";
  // Once the learner is at work (a step done, or tried and not yet right), the intro folds so the
  // current step's verdict and hints are in view at 1366×768 without scrolling.
  const started = env.steps.some((s) => s.labId === lab.id && (s.status === "pass" || s.attempted));

  return (
    <div className="flex h-screen flex-col">
      <header className="flex flex-wrap items-center gap-3 border-b border-slate-200 bg-white px-4 py-2">
        <a href="/" className="font-bold text-brand">maillab</a>
        <span className="hidden text-sm text-slate-600 md:inline">{courseTitle}</span>
        <nav className="flex gap-1" aria-label={t("lab.labsNav")}>
          {content.labs.map((l) => {
            const done = env.labs.find((x) => x.id === l.id)?.status === "done";
            return (
              <button
                key={l.id}
                type="button"
                data-testid={`lab-tab-${l.id}`}
                aria-current={l.id === lab.id ? "page" : undefined}
                className={`rounded px-3 py-1 text-sm ${l.id === lab.id ? "bg-brand text-white" : "hover:bg-slate-100"}`}
                onClick={() => setViewLab(l.id)}
              >
                {done && <span aria-hidden>✓ </span>}
                {l.title}
              </button>
            );
          })}
        </nav>
        <div className="ml-auto flex items-center gap-2">
          <button
            type="button"
            data-testid="check-now"
            disabled={busy !== null}
            className="rounded-md bg-brand px-3 py-1 text-sm font-semibold text-white hover:bg-brand-dark disabled:opacity-60"
            onClick={() => act("check", () => api.checkNow(env.id))}
          >
            {busy === "check" ? t("lab.checking") : t("lab.checkNow")}
          </button>
          <LangSwitch lang={lang} />
        </div>
      </header>
      <div role="status" aria-live="polite" aria-atomic="true">
        {advance && (
          <div className="flex flex-wrap items-center gap-3 bg-green-100 px-4 py-2 text-sm text-green-950" data-testid="lab-advanced">
            <span className="font-semibold">
              {advance.to ? t("lab.advanced", { from: labName(advance.from), to: labTitle(advance.to) }) : t("lab.courseDone")}
            </span>
            {advance.to && (
              <button type="button" className="underline" data-testid="lab-advanced-show" onClick={() => setViewLab(advance.from)}>
                {t("lab.advanced.show", { lab: labName(advance.from) })}
              </button>
            )}
            <button type="button" className="ml-auto rounded px-2 hover:bg-green-200" aria-label={t("join.screen.close")} onClick={() => setAdvance(null)}>
              ✕
            </button>
          </div>
        )}
      </div>
      <p className="sr-only" aria-live="polite" data-testid="step-news">{news}</p>
      <MachineNotice notice={env.notice} />
      {env.status === "stopped" && !env.notice && <p className="bg-amber-100 px-4 py-1 text-sm">{t("lab.env.stopped")}</p>}
      {env.status === "missing" && <p className="bg-red-100 px-4 py-1 text-sm">{t("lab.env.missing")}</p>}
      {error && <p role="alert" className="bg-red-100 px-4 py-1 text-sm text-fail">{error}</p>}
      <div className="flex min-h-0 flex-1 flex-col lg:flex-row">
        <section className="flex min-h-0 flex-col border-slate-200 lg:w-[42%] lg:border-r" aria-label={t(panel === "steps" ? "lab.steps" : "lab.slides")}>
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
            {panel === "slides" && followOffered && (
              <label className="ml-auto flex items-center gap-1 px-3 text-xs">
                <input
                  type="checkbox"
                  data-testid="follow-instructor"
                  checked={following}
                  onChange={(e) => {
                    setFollowing(e.target.checked);
                    // Following means being where the instructor is, now.
                    if (e.target.checked && presenter.current) setSlide(presenter.current.slide);
                  }}
                />
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
              {allDone && (
                <div className="mb-3 flex flex-wrap items-center gap-2 rounded-md bg-green-100 p-3 text-green-950" data-testid="lab-done">
                  <span>{t("lab.allDone")}</span>
                  {nextLab && (
                    <button type="button" className="underline" onClick={() => setViewLab(nextLab.id)}>
                      {t("lab.next")} {nextLab.title}
                    </button>
                  )}
                </div>
              )}
              {/* Open until the first step of this lab is done; then the current step moves up. */}
              <details className="mb-4" open={!started} data-testid="lab-intro">
                <summary className="cursor-pointer text-sm font-semibold text-slate-700">{t("lab.intro")}</summary>
                <div className="prose-lab" dangerouslySetInnerHTML={{ __html: lab.introHtml }} />
              </details>
              <ParamsPanel lang={lang} params={env.params} />
              <StepList lang={lang} lab={lab} results={env.steps} />
              <div className="mt-6 flex flex-wrap gap-2 text-sm">
                {content.labs.slice(1).filter((l) => l.id !== env.lab && env.labs.find((x) => x.id === l.id)?.status === "upcoming").map((l) => (
                  <button
                    key={l.id}
                    type="button"
                    data-testid={`skip-to-${l.id}`}
                    disabled={busy !== null}
                    className="rounded border border-slate-300 bg-white px-3 py-1 hover:bg-slate-100"
                    onClick={() => window.confirm(t("lab.skipConfirm")) && act("skip", () => api.skipToLab(env.id, l.id))}
                  >
                    {busy === "skip" ? "…" : `${t("lab.skipTo")} ${l.title}`}
                  </button>
                ))}
                <button
                  type="button"
                  data-testid="reset"
                  disabled={busy !== null}
                  className="rounded border border-red-300 bg-white px-3 py-1 text-fail hover:bg-red-50"
                  onClick={() => window.confirm(t("lab.resetConfirm")) && act("reset", () => api.reset(env.id))}
                >
                  {busy === "reset" ? "…" : t("lab.reset")}
                </button>
              </div>
            </div>
          )}
        </section>
        <section className="min-h-[320px] flex-1 bg-slate-900" aria-label={t("lab.machines")}>
          <TerminalTabs
            envId={env.id}
            machines={["mail", "partner"]}
            lang={lang}
            onStateChange={(_machine, s) => {
              // 4411: the class ended while the page was open; the terminals stop, the page shows the results.
              if (s.status === "ended" && s.closeCode === TerminalCloseCode.CLASS_ENDED) markEnded();
            }}
          />
        </section>
      </div>
    </div>
  );
}

"use client";
import type { CheckView, Lang, StepView } from "@/lib/api-types";
import { translator, type MessageKey } from "@/lib/i18n";
import { InlineMarkdown } from "./inline-markdown";
import type { LabContent } from "./types";

/**
 * How a step looks, from its API state (lib/api-types.ts StepView):
 * - `done`: passed (for good); `broken`: passed, but what it checked fails now;
 * - `open`: the step to work on, not tried yet: no failure, no answers shown unasked;
 * - `tried`: the learner changed something and it still fails: what the checks see, and their hints;
 * - `pending`: a later step, not checked yet.
 */
export type StepLook = "done" | "broken" | "open" | "tried" | "pending" | "notDone";

/** `final`: the results after the class ended: a step is done or not, nothing is open any more. */
export function stepLook(r: Pick<StepView, "status" | "broken" | "attempted"> | undefined, final = false): StepLook {
  if (final && r?.status !== "pass") return "notDone";
  if (!r || r.status === "pending") return "pending";
  if (r.status === "pass") return r.broken ? "broken" : "done";
  return r.attempted ? "tried" : "open";
}

const ICON: Record<StepLook, string> = { done: "✓", broken: "⚠", open: "○", tried: "…", pending: "○", notDone: "–" };
const COLOR: Record<StepLook, string> = {
  done: "text-pass",
  broken: "text-fail",
  open: "text-brand",
  tried: "text-amber-800",
  pending: "text-slate-600",
  notDone: "text-slate-600",
};
const BORDER: Record<StepLook, string> = {
  done: "border-green-300",
  broken: "border-red-400",
  open: "border-brand",
  tried: "border-amber-400",
  pending: "border-slate-200",
  notDone: "border-slate-200",
};
const LABEL: Record<StepLook, MessageKey> = {
  done: "lab.status.pass",
  broken: "lab.status.broken",
  open: "lab.status.open",
  tried: "lab.status.fail",
  pending: "lab.status.pending",
  notDone: "lab.status.notDone",
};

function uniqueHints(checks: CheckView[]): string[] {
  return [...new Set(checks.flatMap((c) => c.hints))];
}

/**
 * The steps of one lab with live status. The step to work on (and any broken one) is open with its
 * task. `compact`: titles and final status only (the results page after a class ended).
 */
export function StepList({
  lang,
  lab,
  results,
  compact = false,
}: {
  lang: Lang;
  lab: LabContent["labs"][number];
  results: StepView[];
  compact?: boolean;
}) {
  const t = translator(lang);
  const byId = new Map(results.filter((r) => r.labId === lab.id).map((r) => [r.id, r]));
  const firstOpen = lab.steps.find((s) => byId.get(s.id)?.status !== "pass")?.id;
  return (
    <ol className="space-y-3" data-testid="step-list">
      {lab.steps.map((step, i) => {
        const r = byId.get(step.id);
        const look = stepLook(r, compact);
        const failing = r?.checks.filter((c) => !c.ok) ?? [];
        const head = (
          <>
            <span aria-hidden className={`w-5 text-center text-xl font-bold ${COLOR[look]}`}>{ICON[look]}</span>
            <span className="flex-1 font-medium">
              {i + 1}. {step.title}
            </span>
            <span className={`text-xs font-medium ${COLOR[look]}`} data-testid={`step-status-${step.id}`}>
              {t(LABEL[look])}
              {r?.solved ? ` (${t("lab.solved")})` : ""}
            </span>
          </>
        );
        return (
          <li
            key={step.id}
            data-testid={`step-${step.id}`}
            data-status={r?.status ?? "pending"}
            data-broken={r?.broken ? "true" : "false"}
            data-attempted={r?.attempted ? "true" : "false"}
            className={`rounded-lg border bg-white ${BORDER[look]} ${look === "open" ? "border-2" : ""}`}
          >
            {compact ? (
              <div className="flex items-center gap-3 px-4 py-2">{head}</div>
            ) : (
              <details open={step.id === firstOpen || look === "broken"}>
                <summary className="flex cursor-pointer list-none items-center gap-3 px-4 py-3">{head}</summary>
                <div className="border-t border-slate-100 px-4 py-3">
                  {look === "broken" && <BrokenNote lang={lang} stepId={step.id} failing={failing} />}
                  <div className="prose-lab" dangerouslySetInnerHTML={{ __html: step.taskHtml }} />
                  {look === "tried" && <CheckList lang={lang} checks={r?.checks ?? []} />}
                  {look === "tried" && uniqueHints(failing).length > 0 && (
                    <HintBox lang={lang} stepId={step.id} hints={uniqueHints(failing)} />
                  )}
                  {(look === "open" || look === "tried") && step.hints.length > 0 && (
                    <details className="mt-3 text-sm" data-testid={`static-hints-${step.id}`}>
                      <summary className="cursor-pointer text-brand underline">{t("lab.showHints")}</summary>
                      <MarkdownList items={step.hints} className="mt-2 text-slate-700" />
                    </details>
                  )}
                </div>
              </details>
            )}
          </li>
        );
      })}
    </ol>
  );
}

/** "Was done, now broken": what fails now and what to do, above the task. */
function BrokenNote({ lang, stepId, failing }: { lang: Lang; stepId: string; failing: CheckView[] }) {
  const t = translator(lang);
  const hints = uniqueHints(failing);
  return (
    <div className="mb-3 rounded-md border border-red-300 bg-red-50 p-3 text-sm text-red-950" data-testid={`broken-${stepId}`}>
      <p className="font-semibold">{t("lab.broken.lead")}</p>
      <MarkdownList items={failing.map((c) => c.message)} className="mt-1" />
      {hints.length > 0 && <MarkdownList items={hints} className="mt-2" testId={`hints-${stepId}`} />}
    </div>
  );
}

function CheckList({ lang, checks }: { lang: Lang; checks: CheckView[] }) {
  const t = translator(lang);
  return (
    <div className="mt-3 text-sm">
      <h4 className="font-semibold text-slate-700">{t("lab.checksTitle")}</h4>
      <ul className="mt-1 space-y-1">
        {checks.map((c) => (
          <li key={c.id}>
            <span aria-hidden className={c.ok ? "text-pass" : "text-amber-800"}>{c.ok ? "✓" : "✗"}</span>{" "}
            <InlineMarkdown text={c.message} />
            {!c.ok && c.transcript && (
              <details className="mt-1">
                <summary className="cursor-pointer text-xs text-slate-600">{t("lab.transcript")}</summary>
                <pre tabIndex={0} className="mt-1 max-h-60 overflow-auto rounded bg-slate-900 p-2 text-xs text-slate-100">{c.transcript}</pre>
              </details>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}

function HintBox({ lang, stepId, hints }: { lang: Lang; stepId: string; hints: string[] }) {
  const t = translator(lang);
  return (
    <div className="mt-3 rounded-md bg-amber-50 p-3 text-sm">
      <h4 className="mb-1 font-semibold text-amber-950">{t("lab.hints")}</h4>
      <MarkdownList items={hints} className="text-amber-950" testId={`hints-${stepId}`} />
    </div>
  );
}

/** Hints and check messages: one-line Markdown each. */
function MarkdownList({ items, className, testId }: { items: string[]; className: string; testId?: string }) {
  return (
    <ul className={`list-disc space-y-1 pl-5 ${className}`} data-testid={testId}>
      {items.map((text) => (
        <li key={text}><InlineMarkdown text={text} /></li>
      ))}
    </ul>
  );
}

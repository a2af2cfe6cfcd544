"use client";
import type { Lang, StepResultView } from "@/lib/api-schema";
import { translator } from "@/lib/i18n";
import type { LabContent } from "./types";

const ICON = { pass: "✓", fail: "✗", pending: "○" } as const;
const COLOR = { pass: "text-pass", fail: "text-fail", pending: "text-slate-400" } as const;

/** The steps of one lab with live status; the first unfinished step is open with its task. */
export function StepList({
  lang,
  lab,
  results,
}: {
  lang: Lang;
  lab: LabContent["labs"][number];
  results: StepResultView[];
}) {
  const t = translator(lang);
  const byId = new Map(results.filter((r) => r.labId === lab.id).map((r) => [r.id, r]));
  const firstOpen = lab.steps.find((s) => byId.get(s.id)?.status !== "pass")?.id;
  return (
    <ol className="space-y-3" data-testid="step-list">
      {lab.steps.map((step, i) => {
        const r = byId.get(step.id);
        const status = r?.status ?? "pending";
        const failing = r?.checks.filter((c) => !c.ok) ?? [];
        const hints = [...new Set(failing.flatMap((c) => c.hints ?? []))];
        return (
          <li
            key={step.id}
            data-testid={`step-${step.id}`}
            data-status={status}
            className={`rounded-lg border bg-white ${status === "pass" ? "border-green-300" : "border-slate-200"}`}
          >
            <details open={step.id === firstOpen}>
              <summary className="flex cursor-pointer list-none items-center gap-3 px-4 py-3">
                <span aria-hidden className={`text-xl font-bold ${COLOR[status]}`}>{ICON[status]}</span>
                <span className="flex-1 font-medium">
                  {i + 1}. {step.title}
                </span>
                <span className={`text-xs ${COLOR[status]}`} data-testid={`step-status-${step.id}`}>
                  {t(`lab.status.${status}`)}
                  {r?.solved ? ` (${t("lab.solved")})` : ""}
                </span>
              </summary>
              <div className="border-t border-slate-100 px-4 py-3">
                <div className="prose-lab" dangerouslySetInnerHTML={{ __html: step.taskHtml }} />
                {status !== "pass" && (hints.length > 0 || step.hints.length > 0) && (
                  <div className="mt-3 rounded-md bg-amber-50 p-3 text-sm" role="status">
                    <h4 className="mb-1 font-semibold text-amber-900">{t("lab.hints")}</h4>
                    <ul className="list-disc space-y-1 pl-5 text-amber-900" data-testid={`hints-${step.id}`}>
                      {(hints.length > 0 ? hints : step.hints).map((h) => (
                        <li key={h}>{h}</li>
                      ))}
                    </ul>
                  </div>
                )}
                {r && r.checks.length > 0 && (
                  <ul className="mt-3 space-y-1 text-sm">
                    {r.checks.map((c) => (
                      <li key={c.id}>
                        <span className={c.ok ? "text-pass" : "text-fail"}>{c.ok ? "✓" : "✗"}</span> {c.message}
                        {!c.ok && c.transcript && (
                          <details className="mt-1">
                            <summary className="cursor-pointer text-xs text-slate-500">{t("lab.transcript")}</summary>
                            <pre className="mt-1 max-h-60 overflow-auto rounded bg-slate-900 p-2 text-xs text-slate-100">{c.transcript}</pre>
                          </details>
                        )}
                      </li>
                    ))}
                  </ul>
                )}
              </div>
            </details>
          </li>
        );
      })}
    </ol>
  );
}

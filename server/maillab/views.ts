// What the API returns about an environment's progress (lib/api-types.ts), built from the stored
// step states: one function per view, no side effects.
import type { CheckView, EnvironmentStatus, EnvironmentView, Lang, LabProgressView, LearnerStepCell, NoticeView, StepView } from "@/lib/api-types";
import type { Course } from "@/lib/lab-schema";
import type { EnvironmentRow } from "../db";
import { currentStep, labCompletedAt, labIndex } from "./evaluation-plan";
import { paramsOf } from "./evaluation";
import { stepKey, type StepState, type StoredCheck } from "./step-state";

function checkView(c: StoredCheck, lang: Lang): CheckView {
  return {
    id: c.id,
    ...(c.title ? { title: c.title[lang] } : {}),
    ok: c.ok,
    message: c.message[lang],
    hints: c.hints?.[lang] ?? [],
    transcript: c.transcript,
    durationMs: c.durationMs,
    checkedAt: c.checkedAt,
    ...(c.evidence ? { evidence: true } : {}),
  };
}

/**
 * How long after a step became the current one its results still belong to the command that
 * finished the step before: the follow-up looks after it (docs/learning-loop.md: up to 2.2 s after
 * a prompt, 3.75 s after Enter, plus the checks' own second) see that command's after-effects
 * (qmgr restarting after a reload, its mail.log lines), not something the learner did for this step.
 */
export const ATTEMPT_GRACE_MS = 6_000;

/**
 * A failing step the learner has worked on: a failing check was found again well after the step
 * became the current one (its first results come in the run that made it current; later ones mean
 * something it depends on changed, or the learner pressed "check now").
 */
function attempted(s: StepState | undefined): boolean {
  return s?.status === "fail" && s.checks.some((c) => !c.ok && c.checkedAt > s.firstSeenAt + ATTEMPT_GRACE_MS);
}

export function stepViews(course: Course, labId: string, states: ReadonlyMap<string, StepState>, lang: Lang): StepView[] {
  const current = currentStep(course, labId, states);
  return course.labs.flatMap((lab) =>
    lab.steps.map((step): StepView => {
      const s = states.get(stepKey(lab.id, step.id));
      return {
        id: step.id,
        labId: lab.id,
        title: step.title[lang],
        status: s?.status ?? "pending",
        broken: s?.broken ?? false,
        attempted: attempted(s),
        current: current?.lab === lab && current.step === step,
        checks: (s?.checks ?? []).map((c) => checkView(c, lang)),
        solved: s?.solvedBy != null,
        passedAt: s?.passedAt ?? null,
        firstSeenAt: s?.firstSeenAt ?? null,
        sameFailures: s?.sameFailures ?? 0,
      };
    }),
  );
}

export function labViews(course: Course, labId: string, states: ReadonlyMap<string, StepState>): LabProgressView[] {
  const currentIndex = labIndex(course, labId);
  return course.labs.map((lab, i) => {
    const completedAt = labCompletedAt(lab, states);
    const status = completedAt !== null || i < currentIndex ? "done" : i === currentIndex ? "current" : "upcoming";
    return { id: lab.id, status, completedAt };
  });
}

export function environmentView(
  course: Course,
  row: EnvironmentRow,
  states: ReadonlyMap<string, StepState>,
  status: EnvironmentStatus,
  lang: Lang,
  notice: NoticeView | null = null,
): EnvironmentView {
  const checkedAt = Math.max(0, ...[...states.values()].map((s) => s.updatedAt));
  return {
    id: row.id,
    status,
    lab: row.labId,
    labs: labViews(course, row.labId, states),
    classId: row.classId,
    params: paramsOf(row),
    steps: stepViews(course, row.labId, states, lang),
    checkedAt: checkedAt || null,
    notice,
  };
}

/** A step as the dashboard's grid shows it. */
export function learnerStepCell(s: StepView): LearnerStepCell {
  return {
    labId: s.labId,
    id: s.id,
    status: s.status,
    broken: s.broken,
    attempted: s.attempted,
    current: s.current,
    solved: s.solved,
    passedAt: s.passedAt,
    sameFailures: s.sameFailures,
    failing: s.checks.filter((c) => !c.ok).map((c) => c.message),
  };
}

// The learning loop's rules (docs/learning-loop.md), as pure functions of the course, what is
// stored per step, and the machines' fingerprint. ./evaluation.ts runs them against the machines.
//
// - The current step is the first not-passed step of the environment's current lab. Its checks
//   run when something they depend on changed since their last run (or when the learner presses
//   "check now"); evidence of the learner's own action, once found, is kept and not looked for again.
// - A passed step stays passed. Its state checks (not evidence) run again only when their inputs
//   changed, to notice breakage: then the step is `broken` ("was done, now broken") until they pass.
// - Later steps are not checked.
import type { Check, Course, Lab, Step } from "@/lib/lab-schema";
import { failureSignature, stepKey, type StepState, type StoredCheck } from "./step-state";

export interface PlannedCheck {
  /** Step key (`<lab>/<step>`). */
  key: string;
  lab: Lab;
  step: Step;
  check: Check;
  /** Runs because an input it depends on changed (or it never ran); false: only because forced. */
  changed: boolean;
}

export interface PlanInput {
  course: Course;
  /** The environment's current lab. */
  labId: string;
  states: ReadonlyMap<string, StepState>;
  /** Input name → fingerprint, or undefined when unknown (then everything counts as changed). */
  inputs: Record<string, string> | undefined;
  /** "Check now": run the current step's checks (and broken steps' failing ones) even if unchanged. */
  force?: boolean;
}

export function labIndex(course: Course, labId: string): number {
  const i = course.labs.findIndex((l) => l.id === labId);
  return i < 0 ? 0 : i;
}

/** The first step of the current lab that has not passed, or null when the lab is done. */
export function currentStep(course: Course, labId: string, states: ReadonlyMap<string, StepState>): { lab: Lab; step: Step } | null {
  const lab = course.labs[labIndex(course, labId)]!;
  const step = lab.steps.find((s) => states.get(stepKey(lab.id, s.id))?.status !== "pass");
  return step ? { lab, step } : null;
}

/** Did anything this check depends on change since its stored result was found? */
export function inputsChanged(check: Check, stored: StoredCheck | undefined, inputs: Record<string, string> | undefined): boolean {
  if (!stored || !stored.basis || !inputs) return true;
  return check.depends.some((name) => stored.basis![name] !== inputs[name]);
}

/** The checks to run now. */
export function planRun({ course, labId, states, inputs, force = false }: PlanInput): PlannedCheck[] {
  const planned: PlannedCheck[] = [];
  const current = currentStep(course, labId, states);
  for (const lab of course.labs.slice(0, labIndex(course, labId) + 1)) {
    for (const step of lab.steps) {
      const key = stepKey(lab.id, step.id);
      const state = states.get(key);
      const stored = new Map(state?.checks.map((c) => [c.id, c]));
      if (state?.status === "pass") {
        for (const check of step.checks) {
          if (check.evidence) continue; // what the learner did stays done
          const changed = inputsChanged(check, stored.get(check.id), inputs);
          const retry = force && state.broken && stored.get(check.id)?.ok === false;
          if (changed || retry) planned.push({ key, lab, step, check, changed });
        }
      } else if (current && current.lab === lab && current.step === step) {
        for (const check of step.checks) {
          const previous = stored.get(check.id);
          if (check.evidence && previous?.ok) continue;
          const changed = inputsChanged(check, previous, inputs);
          if (changed || force) planned.push({ key, lab, step, check, changed });
        }
      }
    }
  }
  return planned;
}

export interface MergeInput {
  course: Course;
  labId: string;
  states: ReadonlyMap<string, StepState>;
  planned: readonly PlannedCheck[];
  /** By `<step key>/<check id>`. */
  results: ReadonlyMap<string, StoredCheck>;
  now: number;
}

/** Applies a run's results: the new state of every step they touched (and of the current step). */
export function mergeRun({ course, labId, states, planned, results, now }: MergeInput): Map<string, StepState> {
  const out = new Map(states);
  const touched = new Map<string, { lab: Lab; step: Step; changed: boolean }>();
  for (const p of planned) {
    const t = touched.get(p.key);
    touched.set(p.key, { lab: p.lab, step: p.step, changed: (t?.changed ?? false) || p.changed });
  }
  const current = currentStep(course, labId, states);
  if (current) {
    const key = stepKey(current.lab.id, current.step.id);
    if (!touched.has(key)) touched.set(key, { lab: current.lab, step: current.step, changed: false });
  }
  for (const [key, { step, changed }] of touched) {
    const previous = states.get(key);
    const stored = new Map(previous?.checks.map((c) => [c.id, c]));
    for (const check of step.checks) {
      const fresh = results.get(`${key}/${check.id}`);
      if (fresh) stored.set(check.id, fresh);
    }
    const checks = step.checks.map((c) => stored.get(c.id)).filter((c): c is StoredCheck => c !== undefined);
    if (previous?.status === "pass") {
      const broken = step.checks.some((c) => !c.evidence && stored.get(c.id)?.ok === false);
      out.set(key, { ...previous, checks, broken, updatedAt: now });
      continue;
    }
    const done = step.checks.every((c) => stored.get(c.id)?.ok === true);
    if (done) {
      out.set(key, {
        key,
        status: "pass",
        checks,
        passedAt: now,
        solvedBy: null,
        broken: false,
        sameFailures: 0,
        firstSeenAt: previous?.firstSeenAt ?? now,
        updatedAt: now,
      });
      continue;
    }
    // Only runs after a relevant change count towards "stuck": exploring (postconf, ls, cat) and
    // pressing "check now" without changing anything never do.
    const same = previous?.status === "fail" && failureSignature(checks) === failureSignature(previous.checks);
    const sameFailures = changed ? (same ? previous!.sameFailures + 1 : 0) : (previous?.sameFailures ?? 0);
    out.set(key, {
      key,
      status: checks.length > 0 ? "fail" : "pending",
      checks,
      passedAt: null,
      solvedBy: null,
      broken: false,
      sameFailures,
      firstSeenAt: previous?.firstSeenAt ?? now,
      updatedAt: now,
    });
  }
  return out;
}

/** The lab that follows `labId` once every step of it has passed (the course's order decides). */
export function nextLab(course: Course, labId: string, states: ReadonlyMap<string, StepState>): string | null {
  if (currentStep(course, labId, states)) return null;
  return course.labs[labIndex(course, labId) + 1]?.id ?? null;
}

/** When a lab's last step passed, or null while it is not done. */
export function labCompletedAt(lab: Lab, states: ReadonlyMap<string, StepState>): number | null {
  let latest = 0;
  for (const step of lab.steps) {
    const state = states.get(stepKey(lab.id, step.id));
    if (state?.status !== "pass" || state.passedAt === null) return null;
    latest = Math.max(latest, state.passedAt);
  }
  return latest;
}

// The automation API's responses (docs/api.md), declared once: server/maillab returns them, the
// route handlers send them, components/api-client.ts and the event streams are typed by them.
import type { EnvironmentParams } from "./machines";

export type Lang = "de" | "en";

/** One check of a step, in the viewer's language. */
export interface CheckView {
  id: string;
  title?: string;
  ok: boolean;
  message: string;
  /** Why it fails and what to do (HINT lines of the check and its explain script). */
  hints: string[];
  /** The dialogue and whatever else the script printed. */
  transcript?: string;
  durationMs?: number;
  /** When this result was found (ms since the epoch); results are reused while nothing changed. */
  checkedAt?: number;
  /** Evidence of the learner's own action, kept once found. */
  evidence?: boolean;
}

/**
 * - `pass`: done. Stays `pass` (with `passedAt`) for good; if what it checked breaks later,
 *   `broken` is true and `checks` lists the failing checks until it works again.
 * - `fail`: checked, not done yet (the current step, or a step whose checks ran and failed).
 * - `pending`: not checked yet (a later step).
 */
export type StepStatus = "pass" | "fail" | "pending";

export interface StepView {
  id: string;
  labId: string;
  title: string;
  status: StepStatus;
  /** Passed earlier, fails now ("was done, now broken"). */
  broken: boolean;
  /** The step the learner works on now (the first not passed step of the current lab). */
  current: boolean;
  checks: CheckView[];
  /** Fast-forwarded by a solve script (skip / instructor), not done by the learner. */
  solved: boolean;
  passedAt: number | null;
  /** When the step became the current one. */
  firstSeenAt: number | null;
  /** Runs in a row, each after a relevant change, that failed the same way. */
  sameFailures: number;
}

export interface LabProgressView {
  id: string;
  status: "done" | "current" | "upcoming";
  /** When its last step passed. */
  completedAt: number | null;
}

/** `ended`: the class is over; the steps show the final results, the machines are gone. */
export type EnvironmentStatus = "creating" | "running" | "stopped" | "error" | "missing" | "ended";

export interface EnvironmentView {
  id: string;
  status: EnvironmentStatus;
  /** The lab the learner works on now: the course's order moves it on when a lab is done. */
  lab: string;
  labs: LabProgressView[];
  classId: string | null;
  params: EnvironmentParams;
  steps: StepView[];
  /** When the checks last looked at the machines. */
  checkedAt: number | null;
}

export interface ClassStepColumn {
  labId: string;
  id: string;
  title: string;
}

export interface LearnerStepCell {
  labId: string;
  id: string;
  status: StepStatus;
  broken: boolean;
  solved: boolean;
  passedAt: number | null;
  sameFailures: number;
  /** Messages of the failing checks (for a broken step: what broke). */
  failing: string[];
}

/** A learner's machines on the dashboard: `ended` once the class is over. */
export type LearnerStatus = EnvironmentStatus;

export interface LearnerProgressView {
  id: string;
  name: string;
  environmentId: string | null;
  status: LearnerStatus;
  lab: string | null;
  currentStep: string | null;
  timeOnStepMs: number;
  /** 10 minutes on one step, or the same failure 5 runs in a row after changes (never while the class is over). */
  stuck: boolean;
  steps: LearnerStepCell[];
}

export interface ClassProgressView {
  id: string;
  title: string;
  joinCode: string;
  endedAt: number | null;
  labs: string[];
  steps: ClassStepColumn[];
  learners: LearnerProgressView[];
}

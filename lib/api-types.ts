// The automation API's responses (docs/api.md), declared once: server/maillab returns them, the
// route handlers send them, components/api-client.ts and the event streams are typed by them.
// Nothing else redeclares them (no copies in the UI, no casts between look-alikes).
import type { EnvironmentParams } from "./machines";

/** The product's languages; German first (the course's language). */
export const LANGS = ["de", "en"] as const;
export type Lang = (typeof LANGS)[number];

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
  /**
   * `fail` only: the checks looked again after the step became the current one (the learner
   * changed something they depend on, or pressed "check now") and it still fails. False: the
   * learner has not tried yet: the step is open, not failed (the UI shows no failure, no hints).
   */
  attempted: boolean;
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

/**
 * Something that happened to the machines that nobody on the page did, worded for the viewer:
 * `disk-limit` (stopped for writing more than the environment's disk limit), `machine-exited` (a
 * machine was killed or ran out of memory), `machine-removed` (its container was removed outside maillab),
 * `node-drained` / `node-lost` (Swarm mode: the server a machine ran on was taken out of service or is
 * unreachable; a reset brings the machines back on another).
 */
export interface NoticeView {
  code: "disk-limit" | "machine-exited" | "machine-removed" | "node-drained" | "node-lost";
  /** When it happened (ms since the epoch). */
  at: number;
  /** For the learner: what happened and what to do. */
  message: string;
  /** A few words for the instructor's dashboard. */
  summary: string;
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
  notice: NoticeView | null;
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
  /** As in StepView: a `fail` after the learner tried (not just "not done yet"). */
  attempted: boolean;
  /** The learner's current step. */
  current: boolean;
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
  /** What happened to the learner's machines (see NoticeView); null when nothing did. */
  notice: NoticeView | null;
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

/** `GET /api/classes/:id/events` → `presenter`: the instructor's slide and follow mode. */
export interface PresenterEvent {
  slide: number;
  /** Learners' pages show the slides and follow the instructor's slide. */
  follow: boolean;
  endedAt: number | null;
}

/** Server-sent events by name: `GET /api/environments/:id/events`. */
export interface EnvironmentEvents {
  environment: EnvironmentView;
}

/** Server-sent events by name: `GET /api/classes/:id/events` (`progress` for the instructor only). */
export interface ClassEvents {
  presenter: PresenterEvent;
  progress: ClassProgressView;
}

/** `POST /api/classes/join` (201): the learner's environment and the class. */
export interface JoinResult extends EnvironmentView {
  class: { id: string; title: string };
}

/** `POST /api/classes` (201). */
export interface ClassCreated {
  id: string;
  joinCode: string;
  joinUrl: string;
}

/** One entry of `GET /api/classes`. */
export interface ClassSummary extends ClassCreated {
  title: string;
  labs: string[];
  createdAt: number;
  endedAt: number | null;
}

export interface ClassList {
  classes: ClassSummary[];
}

/** What `GET /api/health` says about environments; the start and join pages show it while a learner waits. */
export interface EnvironmentsHealth {
  live: number;
  pool: { ready: number; target: number };
  /** Learner-facing creates being built and waiting in line (a class joining without pre-warm). */
  creating: { running: number; waiting: number };
}

/** `GET|POST /api/classes/:id/prewarm`: the warm pool. */
export interface PoolStatus {
  ready: number;
  /** Ready environments the pool is building up to (all classes' reservations plus the base). */
  target: number;
  /** This class's reservation: learners still expected to join (prewarm only). */
  reserved?: number;
}

export interface RecordingView {
  name: string;
  machine: string;
  startedAt: number;
  bytes: number;
}

/** `GET /api/environments/:id/recordings`. */
export interface RecordingList {
  recordings: RecordingView[];
}

/** Answers that only confirm (`POST /api/auth/login`, `/logout`, `/presenter`, `DELETE /api/classes/:id`). */
export interface OkResult {
  ok: true;
}

/** Every error answer (docs/api.md "Errors"): `error` for people, `code` for programs. */
export interface ApiErrorBody {
  error: string;
  code: string;
  retryAfterS?: number;
  maxBytes?: number;
}

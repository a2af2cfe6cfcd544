// What the app remembers of each step of an environment, and how it is kept in the store's
// step_results rows. The rules that change it are in ./evaluation-plan.ts.
import type { CheckResult } from "@/lib/lab-schema";
import type { StepResultRow } from "../db";

/** A check's last result as stored, with what it was found on. */
export interface StoredCheck extends CheckResult {
  /** When it ran (ms since the epoch). */
  checkedAt: number;
  /**
   * The values of the inputs it depends on at the time it ran. Missing when the result must not
   * be reused (it was blocked by a gate, or the machines' fingerprint could not be read).
   */
  basis?: Record<string, string>;
  /** Evidence of the learner's own action: once ok, kept for good. */
  evidence?: boolean;
}

export interface StepState {
  /** `<lab id>/<step id>` */
  key: string;
  status: "pass" | "fail" | "pending";
  checks: StoredCheck[];
  /** Once set, never cleared (only a reset of the environment forgets progress). */
  passedAt: number | null;
  solvedBy: string | null;
  broken: boolean;
  sameFailures: number;
  /** When the step became the current one. */
  firstSeenAt: number;
  updatedAt: number;
}

export function stepKey(labId: string, stepId: string): string {
  return `${labId}/${stepId}`;
}

export function fromRow(row: StepResultRow): StepState {
  return {
    key: row.stepId,
    status: row.status,
    checks: JSON.parse(row.checks) as StoredCheck[],
    passedAt: row.passedAt ?? null,
    solvedBy: row.solvedBy ?? null,
    broken: row.broken,
    sameFailures: row.sameFailures,
    firstSeenAt: row.firstSeenAt,
    updatedAt: row.updatedAt,
  };
}

export function toRow(environmentId: string, state: StepState) {
  return {
    environmentId,
    stepId: state.key,
    status: state.status,
    checks: JSON.stringify(state.checks),
    passedAt: state.passedAt,
    solvedBy: state.solvedBy,
    broken: state.broken,
    sameFailures: state.sameFailures,
    firstSeenAt: state.firstSeenAt,
    updatedAt: state.updatedAt,
  };
}

/** What failing looks like, to tell "the same failure again" from a new one. */
export function failureSignature(checks: ReadonlyArray<Pick<StoredCheck, "id" | "ok" | "message">>): string {
  return checks
    .filter((c) => !c.ok)
    .map((c) => `${c.id}:${c.message.en}`)
    .join("|");
}

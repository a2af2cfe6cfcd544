import type { EnvironmentParams } from "@/lib/machines";
import type { Check, CheckResult, Course } from "@/lib/lab-schema";

/**
 * What the product layer needs from the machines (server/docker) and the labs (server/labs).
 * Kept narrow so server/maillab reads as the product's rules, not Docker's, and so its unit tests
 * can stand in for both (./testing.ts).
 */
export type MachineStatus = "creating" | "running" | "stopped" | "error" | "missing";

/** What happened to an environment's machines that its learner and instructor are told (server/docker's EnvironmentNotice). */
export type MachineNotice =
  | { kind: "disk-limit"; at: number; usedBytes: number; limitBytes: number; resumedAt?: number }
  | { kind: "machine-exited"; at: number; machine: "mail" | "partner" | "probe"; exitCode: number | null; oom: boolean }
  | { kind: "machine-removed"; at: number; machine: "mail" | "partner" | "probe" }
  | { kind: "node-drained" | "node-lost"; at: number; machine: "mail" | "partner" | "probe"; node: string };

export interface Machines {
  create(): Promise<{ id: string; params: EnvironmentParams }>;
  status(id: string): MachineStatus;
  notice(id: string): MachineNotice | undefined;
  /** Called when an environment's machines change status or notice, also on their own (killed, removed, over the disk limit). */
  onChange(listener: (id: string) => void): () => void;
  resume(id: string): Promise<void>;
  /** Resolves when every machine finished its start-up (services up, first-start secrets made). */
  waitReady(id: string): Promise<void>;
  stop(id: string): Promise<void>;
  /**
   * Fresh machines with the same parameters (also rebuilds an environment whose machines are gone).
   * Resolves with the params as they are now where the machines' addresses changed (Swarm mode: Swarm
   * gives the new machines their addresses), to be kept instead of the old ones.
   */
  reset(id: string, params: EnvironmentParams): Promise<EnvironmentParams | void>;
  destroy(id: string): Promise<void>;
  touch(id: string): void;
  /** Ready environments to keep. `trim: false` keeps members above the new target (one was just claimed). */
  fillPool(n: number, options?: { trim?: boolean }): void;
  poolStatus(): { ready: number; target: number };
}

/** Shared by the scripts of one evaluation (see server/labs/check-runner.ts RunContext). */
export interface RunOptions {
  runId: string;
  changedAt: Record<string, number>;
}

export interface CheckOutcome extends CheckResult {
  durationMs: number;
}

export interface GateOutcome {
  ok: boolean;
  message: { de: string; en: string };
  hints: { de: string[]; en: string[] };
  transcript: string;
  retryAfterS?: number;
}

export interface Labs {
  course: Course;
  /** The machines' fingerprint per input (course.yaml `inputs`); undefined when unknown. */
  readInputs(environmentId: string, params: EnvironmentParams): Promise<Record<string, string> | undefined>;
  runGate(environmentId: string, params: EnvironmentParams, gateId: string, options: RunOptions): Promise<GateOutcome>;
  /** Runs the checks (side by side) and, for those that fail, their explain scripts. */
  runChecks(environmentId: string, params: EnvironmentParams, checks: Check[], options: RunOptions): Promise<CheckOutcome[]>;
  /** A gate's verdict standing in for a check that was not run because of it. */
  blocked(check: Check, gate: GateOutcome, params: EnvironmentParams): CheckOutcome;
  solveStep(environmentId: string, params: EnvironmentParams, labId: string, stepId: string): Promise<void>;
}

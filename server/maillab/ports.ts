import type { EnvironmentParams, MachineName } from "@/lib/machines";
import type { CheckResult, Course } from "@/lib/lab-schema";

/**
 * What the product layer needs from the machines (server/docker) and the labs (server/labs).
 * Kept narrow so server/maillab reads as the product's rules, not Docker's.
 */
export type MachineStatus = "creating" | "running" | "stopped" | "error" | "missing";

export interface Machines {
  create(): Promise<{ id: string; params: EnvironmentParams }>;
  status(id: string): MachineStatus;
  resume(id: string): Promise<void>;
  /** Resolves when both machines finished their start-up (services up, first-start secrets made). */
  waitReady(id: string): Promise<void>;
  stop(id: string): Promise<void>;
  /** Fresh machines with the same parameters (also rebuilds an environment whose machines are gone). */
  reset(id: string, params: EnvironmentParams): Promise<void>;
  destroy(id: string): Promise<void>;
  touch(id: string): void;
  fillPool(n: number): void;
  poolStatus(): { ready: number; target: number };
}

export interface StepOutcome {
  status: "pass" | "fail";
  checks: CheckResult[];
}

export interface Labs {
  course: Course;
  runStep(environmentId: string, params: EnvironmentParams, labId: string, stepId: string): Promise<StepOutcome>;
  solveStep(environmentId: string, params: EnvironmentParams, labId: string, stepId: string): Promise<void>;
}

export type { MachineName };

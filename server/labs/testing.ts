// Test support for the lab end-to-end tests: real environments from server/docker (real Docker
// engine, real lab images), the course loaded from labs/, and small helpers to run checks/solves.
import type { EnvironmentMachine, EnvironmentParams } from "@/lib/machines";
import type { Course, Lab, Step, StepResult } from "@/lib/lab-schema";
import { expect } from "vitest";
import { EnvironmentManager } from "../docker/environments";
import { readInputs, runStepChecks, solveStep, type RunContext, type RunScriptFn } from "./check-runner";
import { loadCourse } from "./load-course";

export interface LabEnvironment extends RunContext {
  manager: EnvironmentManager;
  destroy(): Promise<void>;
  /** Runs a shell command in a machine as root; throws with its output when it exits non-zero. */
  sh(machine: EnvironmentMachine, script: string, timeoutMs?: number): Promise<string>;
  /** Runs a shell command in a machine as root: its exit status and its output (stdout, then stderr). */
  shell(machine: EnvironmentMachine, script: string, timeoutMs?: number): Promise<{ exitCode: number; output: string }>;
  /** When each input last changed, as the app saw it (filled by observe; empty: "since ever"). */
  changedAt: Record<string, number>;
  /**
   * Reads the course's fingerprint as the app does after every command and notes which inputs
   * changed and since when (server/maillab/evaluation.ts): hints that quote mail.log then read only
   * what happened since the last relevant change, as they do for a learner.
   */
  observe(): Promise<void>;
}

/**
 * Lab images: the content-hash tags of docker/ that the environments module uses by default
 * (`npm test` builds them first). MAILLAB_TEST_IMAGE_TAG forces another tag (development builds).
 */
function images(): Partial<Record<EnvironmentMachine, string>> | undefined {
  const forced = process.env.MAILLAB_TEST_IMAGE_TAG;
  return forced ? { mail: `maillab/mail:${forced}`, partner: `maillab/partner:${forced}`, probe: `maillab/partner:${forced}` } : undefined;
}

/**
 * One manager for the environments of a test file, disposed with the last of them. A promise, so
 * that environments started side by side (describe.concurrent) share it: two managers, one
 * disposed when its first user is done, would close the other's check channels mid-run.
 */
let shared: { manager: Promise<EnvironmentManager>; users: number } | undefined;

async function newManager(): Promise<EnvironmentManager> {
  const manager = new EnvironmentManager({
    labels: { "maillab.test": `labs-${process.pid}` },
    idleStopMs: 0,
    ttlMs: 0,
    hostFirewall: false,
    images: images(),
    log: () => undefined,
  });
  await manager.init();
  return manager;
}

/** A fresh environment (both machines ready) with the course loaded. */
export async function startLabEnvironment(course: Course = loadCourse()): Promise<LabEnvironment> {
  const entry = (shared ??= { manager: newManager(), users: 0 });
  entry.users++;
  const release = async () => {
    if (--entry.users > 0) return;
    if (shared === entry) shared = undefined;
    (await entry.manager.catch(() => undefined))?.dispose();
  };
  let manager: EnvironmentManager;
  let info: Awaited<ReturnType<EnvironmentManager["create"]>>;
  try {
    manager = await entry.manager;
    info = await manager.create({ usePool: false });
  } catch (error) {
    await release();
    throw error;
  }
  await manager.waitReady(info.id);
  const run: RunScriptFn = (envId, machine, job) => manager.runScript(envId, machine, job);
  let seen: Record<string, string> | undefined;
  let lookedAt = 0;
  const env: LabEnvironment = {
    manager,
    run,
    envId: info.id,
    params: info.params as EnvironmentParams,
    course,
    changedAt: {},
    async observe() {
      const t = Date.now();
      const inputs = await readInputs(env);
      if (!inputs) throw new Error("the course's inputs script did not run");
      // As the app does: a change happened after the previous look, when the input was as before.
      for (const [name, value] of Object.entries(inputs)) {
        if (seen && seen[name] !== value) env.changedAt[name] = lookedAt;
        else env.changedAt[name] ??= 0;
      }
      seen = inputs;
      lookedAt = t;
    },
    async destroy() {
      await manager.destroy(info.id).catch(() => undefined);
      await release();
    },
    async sh(machine, script, timeoutMs = 60_000) {
      const r = await manager.exec(info.id, machine, ["bash", "-c", script], { timeoutMs });
      if (r.exitCode !== 0) throw new Error(`${machine}: \`${script}\` exited ${r.exitCode}:\n${r.stdout}${r.stderr}`);
      return r.stdout;
    },
    async shell(machine, script, timeoutMs = 60_000) {
      const r = await manager.exec(info.id, machine, ["bash", "-c", script], { timeoutMs });
      return { exitCode: r.exitCode, output: `${r.stdout}${r.stderr}` };
    },
  };
  return env;
}

export function labOf(course: Course, labId: string): Lab {
  const lab = course.labs.find((l) => l.id === labId);
  if (!lab) throw new Error(`no lab ${labId}`);
  return lab;
}

export async function checkStep(env: LabEnvironment, step: Step): Promise<StepResult> {
  return runStepChecks({ ...env, step });
}

export async function solve(env: LabEnvironment, step: Step): Promise<void> {
  await solveStep({ ...env, step });
}

/** Solves the steps of a lab in order, optionally stopping after the step with id `upTo`. */
export async function solveLabSteps(env: LabEnvironment, lab: Lab, filter: (step: Step) => boolean = () => true): Promise<void> {
  for (const step of lab.steps) if (filter(step)) await solve(env, step);
}

/** A readable summary of failing/passing checks for assertion messages. */
export function describeResult(result: StepResult): string {
  return result.checks
    .map((c) => `${c.ok ? "PASS" : "FAIL"} ${c.id}: ${c.message.en}${c.hints?.en.length ? `\n    hints: ${c.hints.en.join(" | ")}` : ""}\n    ${(c.transcript ?? "").trim().split("\n").slice(-12).join("\n    ")}`)
    .join("\n");
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2);
}

/**
 * The lab tests' core promise (docs/design.md §8): a step fails before its solve script (every
 * non-guard check fails; with `requireHints`, every failing check explains itself) and passes after.
 */
export async function expectStepFailsThenPassesAfterSolve(env: LabEnvironment, step: Step, { requireHints = false } = {}): Promise<void> {
  const before = await checkStep(env, step);
  expect(before.status, describeResult(before)).toBe("fail");
  for (const c of before.checks) {
    const def = step.checks.find((d) => d.id === c.id)!;
    if (!def.guard) expect(c.ok, `${step.id}/${c.id} passes before its solve:\n${describeResult(before)}`).toBe(false);
    if (requireHints && !c.ok) expect(c.hints?.en.length ?? 0, `${step.id}/${c.id} fails without a hint:\n${describeResult(before)}`).toBeGreaterThan(0);
  }
  await solve(env, step);
  const after = await checkStep(env, step);
  expect(after.status, describeResult(after)).toBe("pass");
}

/** Runs a step's checks `runs` times, handing each result to `assert`; returns the median time in ms. */
export async function timeStepChecks(env: LabEnvironment, step: Step, assert: (result: StepResult) => void, runs = 5): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const result = await checkStep(env, step);
    times.push(performance.now() - t);
    assert(result);
  }
  return median(times);
}

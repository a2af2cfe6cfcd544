// Runs a course's check, gate, explain, solve and inputs scripts in the lab machines
// (docs/authoring.md "Scripts").
//
// Every script runs as bash in the named machine with the course's lib/check-lib.sh sourced first,
// stdin /dev/null and stderr merged into stdout, so the transcript keeps the order of what
// happened. Scripts go over the injected `run` port: in the app that is server/docker's
// long-lived channel per machine (no `docker exec` per check), in unit tests a local bash.
//
// Output protocol (docs/authoring.md): exit 0 passes; lines `PASS[de]: …`, `PASS[en]: …`,
// `FAIL[de]: …`, `FAIL[en]: …` (or `PASS: …`/`FAIL: …` for both languages) give the message;
// `HINT[de]: …`, `HINT[en]: …`, `HINT: …` are shown to the learner when the check fails; a gate may
// print `RETRY_AFTER: <seconds>` to be asked again then (a throttled Postfix recovers by itself).
import { readFile } from "node:fs/promises";
import { PROBE_HOSTNAME, probeIpOf, type EnvironmentMachine, type EnvironmentParams } from "@/lib/machines";
import {
  CHECK_HELO,
  renderTemplate,
  stepStatus,
  type Check,
  type CheckResult,
  type Course,
  type Gate,
  type LocalizedText,
  type SolveStep,
  type Step,
  type StepResult,
} from "@/lib/lab-schema";

/** A script for one machine (server/docker's ScriptJob fits). */
export interface ScriptJob {
  script: string;
  env?: Record<string, string>;
  timeoutMs: number;
  /** Sourced before the script. */
  library?: string;
}

/** What came of it (server/docker's ScriptRun fits): exit code -1 when it could not run at all. */
export interface ScriptRun {
  exitCode: number;
  output: string;
  durationMs: number;
  timedOut: boolean;
}

/** Runs a script in one machine of an environment. Never throws for the script's own failure. */
export type RunScriptFn = (envId: string, machine: EnvironmentMachine, job: ScriptJob) => Promise<ScriptRun>;

export interface RunContext {
  run: RunScriptFn;
  envId: string;
  params: EnvironmentParams;
  course: Course;
  /**
   * Names one evaluation: scripts of the same run may share work through it (check-lib's SMTP
   * survey does one dialogue for all checks of a run instead of one each).
   */
  runId?: string;
  /**
   * When each input last changed (ms since the epoch, as far as the app saw it), for hints that
   * quote mail.log: they read only what happened since the last relevant change (an error fixed an
   * hour ago is not news). Scripts get it as MAILLAB_CHANGED="<input>=<epoch s.ms> …" (to the
   * millisecond: mail.log's stamps have microseconds, and a second is long in a lab).
   */
  changedAt?: Record<string, number>;
}

export interface CheckRunResult {
  ok: boolean;
  message: LocalizedText;
  hints: { de: string[]; en: string[] };
  transcript: string;
  durationMs: number;
  exitCode: number;
  timedOut: boolean;
}

export interface GateRunResult extends CheckRunResult {
  /** The gate asked to be run again after this many seconds (even if nothing changes). */
  retryAfterS?: number;
}

/** Environment variables every script gets. */
export function scriptEnv(params: EnvironmentParams, extra: { runId?: string; changedAt?: Record<string, number> } = {}): Record<string, string> {
  return {
    MAILLAB_DOMAIN: params.domain,
    MAILLAB_MAIL_HOST: params.mailHost,
    MAILLAB_USER1: params.users[0]!.name,
    MAILLAB_PASSWORD1: params.users[0]!.password,
    MAILLAB_USER2: params.users[1]!.name,
    MAILLAB_PASSWORD2: params.users[1]!.password,
    MAILLAB_SUBNET: params.subnet,
    MAILLAB_MAIL_IP: params.mailIp,
    MAILLAB_PARTNER_IP: params.partnerIp,
    MAILLAB_PROBE_IP: probeIpOf(params),
    MAILLAB_PROBE_HOST: PROBE_HOSTNAME,
    MAILLAB_CHECK_HELO: CHECK_HELO,
    MAILLAB_RUN: extra.runId ?? `r${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`,
    MAILLAB_CHANGED: Object.entries(extra.changedAt ?? {})
      .map(([name, ms]) => `${name}=${ms > 0 ? (ms / 1000).toFixed(3) : 0}`)
      .join(" "),
    LC_ALL: "C.UTF-8",
  };
}

/** Script texts, read once (re-read after a while so edits show up in development without a restart). */
const textCache = new Map<string, Promise<string>>();
function readScript(file: string): Promise<string> {
  let text = textCache.get(file);
  if (!text) {
    text = readFile(file, "utf8");
    textCache.set(file, text);
    setTimeout(() => textCache.delete(file), 5_000).unref();
  }
  return text;
}

async function runFile(ctx: RunContext, machine: EnvironmentMachine, scriptPath: string, timeoutS: number): Promise<ScriptRun> {
  const [library, script] = await Promise.all([ctx.course.checkLibPath ? readScript(ctx.course.checkLibPath) : undefined, readScript(scriptPath)]);
  try {
    return await ctx.run(ctx.envId, machine, {
      script,
      library,
      env: scriptEnv(ctx.params, { runId: ctx.runId, changedAt: ctx.changedAt }),
      timeoutMs: Math.round(timeoutS * 1000),
    });
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    return { exitCode: -1, output: `maillab: could not run in ${machine}: ${text}\n`, durationMs: 0, timedOut: false };
  }
}

const LINE_RE = /^(PASS|FAIL|HINT)(?:\[(de|en)\])?:\s?(.*)$/;
const RETRY_RE = /^RETRY_AFTER:\s*(\d+(?:\.\d+)?)\s*$/;

interface ParsedOutput {
  pass: Partial<LocalizedText>;
  fail: Partial<LocalizedText>;
  hints: { de: string[]; en: string[] };
  retryAfterS?: number;
}

/** Reads the PASS/FAIL/HINT (and RETRY_AFTER) lines of a script's output. */
export function parseOutput(output: string): ParsedOutput {
  const parsed: ParsedOutput = { pass: {}, fail: {}, hints: { de: [], en: [] } };
  for (const raw of output.split("\n")) {
    const line = raw.replace(/\r$/, "");
    const retry = RETRY_RE.exec(line);
    if (retry) {
      parsed.retryAfterS = Number(retry[1]);
      continue;
    }
    const m = LINE_RE.exec(line);
    if (!m) continue;
    const kind = m[1] as "PASS" | "FAIL" | "HINT";
    const text = m[3]!;
    for (const l of m[2] ? [m[2] as "de" | "en"] : (["de", "en"] as const)) {
      if (kind === "HINT") {
        if (!parsed.hints[l].includes(text)) parsed.hints[l].push(text);
      } else if (kind === "PASS") parsed.pass[l] = text;
      else parsed.fail[l] = text;
    }
  }
  return parsed;
}

function outcome(what: { machine: string; timeout: number }, run: ScriptRun, explain?: { run: ScriptRun; label: string }): GateRunResult {
  const ok = run.exitCode === 0 && !run.timedOut;
  const parsed = parseOutput(run.output);
  const hints = parsed.hints;
  let transcript = run.output;
  if (explain) {
    const explained = parseOutput(explain.run.output);
    for (const l of ["de", "en"] as const) for (const h of explained.hints[l]) if (!hints[l].includes(h)) hints[l].push(h);
    transcript += `\n---- explain (${explain.label}) ----\n${explain.run.output}`;
  }
  let message: LocalizedText;
  const chosen = ok ? parsed.pass : parsed.fail;
  if (chosen.de !== undefined || chosen.en !== undefined) {
    message = { de: chosen.de ?? chosen.en!, en: chosen.en ?? chosen.de! };
  } else if (ok) {
    message = { de: "Bestanden", en: "Passed" };
  } else if (run.timedOut) {
    message = { de: `Zeitüberschreitung nach ${what.timeout} s`, en: `timed out after ${what.timeout} s` };
  } else if (run.exitCode === -1) {
    message = { de: `Maschine ${what.machine} nicht erreichbar`, en: `machine ${what.machine} not reachable` };
  } else {
    message = { de: `Prüfung fehlgeschlagen (Exit-Code ${run.exitCode})`, en: `check failed (exit code ${run.exitCode})` };
  }
  return {
    ok,
    message,
    hints: ok ? { de: [], en: [] } : hints,
    transcript,
    durationMs: run.durationMs + (explain?.run.durationMs ?? 0),
    exitCode: run.exitCode,
    timedOut: run.timedOut,
    ...(parsed.retryAfterS !== undefined ? { retryAfterS: parsed.retryAfterS } : {}),
  };
}

/**
 * Runs checks, each as its own script (they run side by side in their machines), then the explain
 * scripts of those that failed. `exclusive` checks run alone, after the others.
 */
export async function runChecks(ctx: RunContext & { checks: Check[] }): Promise<CheckRunResult[]> {
  const one = async (check: Check): Promise<CheckRunResult> => {
    const run = await runFile(ctx, check.machine, check.scriptPath, check.timeout);
    const failed = !(run.exitCode === 0 && !run.timedOut);
    const explain =
      failed && check.explain && check.explainPath
        ? { run: await runFile(ctx, check.explain.machine, check.explainPath, Math.min(check.timeout, 10)), label: `${check.explain.machine}: ${check.explain.script}` }
        : undefined;
    return outcome(check, run, explain);
  };
  const results: CheckRunResult[] = new Array(ctx.checks.length);
  await Promise.all(ctx.checks.map(async (check, i) => !check.exclusive && (results[i] = await one(check))));
  for (const [i, check] of ctx.checks.entries()) if (check.exclusive) results[i] = await one(check);
  return results;
}

/** Runs one check (and, when it fails, its explain script). Never throws for script failures. */
export async function runCheck(ctx: RunContext & { check: Check }): Promise<CheckRunResult> {
  const started = performance.now();
  const [result] = await runChecks({ ...ctx, checks: [ctx.check] });
  return { ...result!, durationMs: Math.round(performance.now() - started) };
}

/** Runs a gate (course.yaml `gates`). */
export async function runGate(ctx: RunContext & { gate: Gate }): Promise<GateRunResult> {
  return outcome(ctx.gate, await runFile(ctx, ctx.gate.machine, ctx.gate.scriptPath, ctx.gate.timeout));
}

/**
 * The course's fingerprint of the machines (course.yaml `inputs`): one line `<input> <text>` per
 * item, grouped by input. Undefined when the course has none or the script could not run (then
 * every check counts as changed).
 */
export async function readInputs(ctx: RunContext): Promise<Record<string, string> | undefined> {
  const inputs = ctx.course.inputs;
  if (!inputs) return undefined;
  const run = await runFile(ctx, inputs.machine, inputs.scriptPath, 5);
  if (run.exitCode !== 0) return undefined;
  const lines = new Map<string, string[]>(inputs.names.map((n) => [n, []]));
  for (const line of run.output.split("\n")) {
    const sp = line.indexOf(" ");
    const name = sp < 0 ? line : line.slice(0, sp);
    lines.get(name)?.push(sp < 0 ? "" : line.slice(sp + 1));
  }
  return Object.fromEntries([...lines].map(([name, items]) => [name, fingerprint(items)]));
}

/** A short, order-independent digest (FNV-1a over the sorted lines): equal state, equal text. */
function fingerprint(items: string[]): string {
  let h = 0x811c9dc5;
  let h2 = 0x01000193;
  for (const item of [...items].sort()) {
    for (let i = 0; i < item.length; i++) {
      const c = item.charCodeAt(i);
      h = Math.imul(h ^ c, 0x01000193) >>> 0;
      h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0;
    }
    h = Math.imul(h ^ 10, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ 10, 0x5bd1e995) >>> 0;
  }
  return `${items.length}:${h.toString(16)}${h2.toString(16)}`;
}

export function toResult(check: Check, r: CheckRunResult, params: EnvironmentParams): CheckResult {
  return {
    id: check.id,
    title: { de: renderTemplate(check.title.de, params), en: renderTemplate(check.title.en, params) },
    ok: r.ok,
    message: r.message,
    ...(r.ok ? {} : { hints: r.hints }),
    transcript: r.transcript,
    durationMs: r.durationMs,
  };
}

/**
 * Runs every check of a step now, gates first (a check whose gate fails reports the gate's verdict
 * instead of running). The lab tests and benchmarks use this; the app's evaluation
 * (server/maillab/evaluation.ts) decides per check whether it needs to run at all.
 */
export async function runStepChecks(ctx: RunContext & { step: Step }): Promise<StepResult> {
  const { step } = ctx;
  const runId = ctx.runId ?? scriptEnv(ctx.params).MAILLAB_RUN;
  const gates = new Map<string, GateRunResult>();
  for (const id of new Set(step.checks.flatMap((c) => c.needs))) {
    const gate = ctx.course.gates.find((g) => g.id === id);
    if (gate) gates.set(id, await runGate({ ...ctx, runId, gate }));
  }
  const blocked = (c: Check) => c.needs.map((id) => gates.get(id)).find((g) => g && !g.ok);
  const runnable = step.checks.filter((c) => !blocked(c));
  const runs = await runChecks({ ...ctx, runId, checks: runnable });
  const byId = new Map(runnable.map((c, i) => [c.id, runs[i]!]));
  const checks = step.checks.map((c) => toResult(c, byId.get(c.id) ?? blockedResult(blocked(c)!), ctx.params));
  const title = { de: renderTemplate(step.title.de, ctx.params), en: renderTemplate(step.title.en, ctx.params) };
  return { id: step.id, title, status: stepStatus(checks), checks };
}

/** A check not run because its gate failed: the gate's message and hints stand for it. */
export function blockedResult(gate: GateRunResult): CheckRunResult {
  return { ...gate, durationMs: 0 };
}

export class SolveError extends Error {
  constructor(
    readonly step: string,
    readonly entry: SolveStep,
    readonly exitCode: number,
    readonly output: string,
  ) {
    const tail = output.trimEnd().split("\n").slice(-15).join("\n");
    super(`solve script ${entry.script} of step ${step} failed in ${entry.machine} (exit ${exitCode}):\n${tail}`);
    this.name = "SolveError";
  }
}

/** Runs a step's solve scripts in order; throws SolveError when one exits non-zero or times out. */
export async function solveStep(ctx: RunContext & { step: Step }): Promise<{ transcript: string; durationMs: number }> {
  const started = performance.now();
  let transcript = "";
  for (const entry of ctx.step.solve) {
    const r = await runFile(ctx, entry.machine, entry.scriptPath, entry.timeout);
    transcript += `---- ${entry.machine}: ${entry.script} ----\n${r.output}`;
    if (r.exitCode !== 0 || r.timedOut) throw new SolveError(ctx.step.id, entry, r.timedOut ? 137 : r.exitCode, r.output);
  }
  return { transcript, durationMs: Math.round(performance.now() - started) };
}

/** Solves a lab's steps in order (first the labs it requires, with `withRequired`), up to `upTo`. */
export async function solveLab(ctx: RunContext & { labId: string; withRequired?: boolean; upTo?: string }): Promise<void> {
  const lab = ctx.course.labs.find((l) => l.id === ctx.labId);
  if (!lab) throw new Error(`unknown lab "${ctx.labId}"`);
  if (ctx.withRequired) for (const req of lab.requires) await solveLab({ ...ctx, labId: req, upTo: undefined });
  for (const step of lab.steps) {
    await solveStep({ ...ctx, step });
    if (ctx.upTo === step.id) return;
  }
}

// Runs a step's check and solve scripts in the lab machines (DESIGN.md §4).
//
// A script runs as `bash` in the named machine with the course's lib/check-lib.sh prepended. The
// text goes in on stdin and is read completely before it runs, so commands in the script (nc,
// telnet, openssl) never eat the rest of the script; the script's own stdin is /dev/null and its
// stderr is merged into stdout, so the transcript keeps the order of what happened.
//
// Output protocol (see docs/authoring.md): exit 0 passes; lines `PASS[de]: …`, `PASS[en]: …`,
// `FAIL[de]: …`, `FAIL[en]: …` (or `PASS: …`/`FAIL: …` for both languages) give the message;
// lines `HINT[de]: …`, `HINT[en]: …`, `HINT: …` are shown to the learner when the check fails.
import { readFile } from "node:fs/promises";
import type { EnvironmentParams, MachineName } from "@/lib/machines";
import {
  CHECK_HELO,
  stepStatus,
  type Check,
  type CheckResult,
  type Course,
  type LocalizedText,
  type SolveStep,
  type Step,
  type StepResult,
} from "@/lib/lab-schema";

export interface ExecResultLike {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

/** Runs a command in one machine of an environment (server/docker's environment exec fits). */
export type ExecFn = (
  envId: string,
  machine: MachineName,
  cmd: string[],
  opts: { env?: Record<string, string>; stdin?: string; timeoutMs?: number },
) => Promise<ExecResultLike>;

export interface RunContext {
  exec: ExecFn;
  envId: string;
  params: EnvironmentParams;
  course: Course;
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

/** Reads the script text, wraps it so it runs after being read whole, stdin from /dev/null. */
export const SCRIPT_RUNNER_CMD = ["bash", "-c", 's=$(cat); exec bash -c "$s" maillab-script </dev/null 2>&1'];

/** Environment variables every check and solve script gets. */
export function scriptEnv(params: EnvironmentParams): Record<string, string> {
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
    MAILLAB_CHECK_HELO: CHECK_HELO,
    LC_ALL: "C.UTF-8",
  };
}

const libCache = new Map<string, Promise<string>>();
async function checkLib(course: Course): Promise<string> {
  if (!course.checkLibPath) return "";
  let lib = libCache.get(course.checkLibPath);
  if (!lib) {
    lib = readFile(course.checkLibPath, "utf8");
    libCache.set(course.checkLibPath, lib);
    // Re-read after a while so edits show up in development without a restart.
    setTimeout(() => libCache.delete(course.checkLibPath), 5_000).unref();
  }
  return lib;
}

async function scriptText(course: Course, scriptPath: string): Promise<string> {
  const [lib, script] = await Promise.all([checkLib(course), readFile(scriptPath, "utf8")]);
  return `${lib}\n# ---- ${scriptPath.split("/").slice(-3).join("/")} ----\n${script}\n`;
}

const LINE_RE = /^(PASS|FAIL|HINT)(?:\[(de|en)\])?:\s?(.*)$/;

interface ParsedOutput {
  pass: Partial<LocalizedText>;
  fail: Partial<LocalizedText>;
  hints: { de: string[]; en: string[] };
}

export function parseOutput(output: string): ParsedOutput {
  const parsed: ParsedOutput = { pass: {}, fail: {}, hints: { de: [], en: [] } };
  for (const raw of output.split("\n")) {
    const m = LINE_RE.exec(raw.replace(/\r$/, ""));
    if (!m) continue;
    const [, kind, lang, text] = m as unknown as [string, "PASS" | "FAIL" | "HINT", "de" | "en" | undefined, string];
    const langs = lang ? [lang] : (["de", "en"] as const);
    for (const l of langs) {
      if (kind === "HINT") {
        if (!parsed.hints[l].includes(text)) parsed.hints[l].push(text);
      } else if (kind === "PASS") parsed.pass[l] = text;
      else parsed.fail[l] = text;
    }
  }
  return parsed;
}

async function runScript(
  ctx: RunContext,
  machine: MachineName,
  scriptPath: string,
  timeoutSeconds: number,
): Promise<ExecResultLike & { output: string }> {
  const stdin = await scriptText(ctx.course, scriptPath);
  try {
    const r = await ctx.exec(ctx.envId, machine, SCRIPT_RUNNER_CMD, {
      env: scriptEnv(ctx.params),
      stdin,
      timeoutMs: Math.round(timeoutSeconds * 1000),
    });
    return { ...r, output: r.stdout + r.stderr };
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    return { exitCode: -1, stdout: "", stderr: text, timedOut: false, durationMs: 0, output: `maillab: could not run in ${machine}: ${text}\n` };
  }
}

/** Runs one check (and on failure its explain script). Never throws for script failures. */
export async function runCheck(ctx: RunContext & { check: Check }): Promise<CheckRunResult> {
  const { check } = ctx;
  const started = performance.now();
  const r = await runScript(ctx, check.machine, check.scriptPath, check.timeout);
  const ok = r.exitCode === 0 && !r.timedOut;
  const parsed = parseOutput(r.output);
  let transcript = r.output;
  const hints = parsed.hints;

  if (!ok && check.explain && check.explainPath) {
    const e = await runScript(ctx, check.explain.machine, check.explainPath, Math.min(check.timeout, 10));
    const explained = parseOutput(e.output);
    for (const l of ["de", "en"] as const) for (const h of explained.hints[l]) if (!hints[l].includes(h)) hints[l].push(h);
    transcript += `\n---- explain (${check.explain.machine}: ${check.explain.script}) ----\n${e.output}`;
  }

  let message: LocalizedText;
  const chosen = ok ? parsed.pass : parsed.fail;
  if (chosen.de !== undefined || chosen.en !== undefined) {
    message = { de: chosen.de ?? chosen.en!, en: chosen.en ?? chosen.de! };
  } else if (ok) {
    message = { de: "Bestanden", en: "Passed" };
  } else if (r.timedOut) {
    message = { de: `Zeitüberschreitung nach ${check.timeout} s`, en: `timed out after ${check.timeout} s` };
  } else if (r.exitCode === -1) {
    message = { de: `Maschine ${check.machine} nicht erreichbar`, en: `machine ${check.machine} not reachable` };
  } else {
    message = { de: `Prüfung fehlgeschlagen (Exit-Code ${r.exitCode})`, en: `check failed (exit code ${r.exitCode})` };
  }
  return {
    ok,
    message,
    hints: ok ? { de: [], en: [] } : hints,
    transcript,
    durationMs: Math.round(performance.now() - started),
    exitCode: r.exitCode,
    timedOut: r.timedOut,
  };
}

function toResult(check: Check, r: CheckRunResult): CheckResult {
  return {
    id: check.id,
    title: check.title,
    ok: r.ok,
    message: r.message,
    ...(r.ok ? {} : { hints: r.hints }),
    transcript: r.transcript,
    durationMs: r.durationMs,
  };
}

/** Runs all checks of a step: in parallel, then the `exclusive` ones one at a time. */
export async function runStepChecks(ctx: RunContext & { step: Step }): Promise<StepResult> {
  const { step } = ctx;
  const results = new Map<string, CheckResult>();
  const parallel = step.checks.filter((c) => !c.exclusive);
  await Promise.all(parallel.map(async (check) => results.set(check.id, toResult(check, await runCheck({ ...ctx, check })))));
  for (const check of step.checks.filter((c) => c.exclusive)) {
    results.set(check.id, toResult(check, await runCheck({ ...ctx, check })));
  }
  const checks = step.checks.map((c) => results.get(c.id)!);
  return { id: step.id, title: step.title, status: stepStatus(checks), checks };
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
    const r = await runScript(ctx, entry.machine, entry.scriptPath, entry.timeout);
    transcript += `---- ${entry.machine}: ${entry.script} ----\n${r.output}`;
    if (r.exitCode !== 0 || r.timedOut) throw new SolveError(ctx.step.id, entry, r.timedOut ? 137 : r.exitCode, r.output);
  }
  return { transcript, durationMs: Math.round(performance.now() - started) };
}

/** Solves every step of a lab in order (after the labs it requires, if `withRequired`). */
export async function solveLab(ctx: RunContext & { labId: string; withRequired?: boolean; upTo?: string }): Promise<void> {
  const lab = ctx.course.labs.find((l) => l.id === ctx.labId);
  if (!lab) throw new Error(`unknown lab "${ctx.labId}"`);
  if (ctx.withRequired) for (const req of lab.requires) await solveLab({ ...ctx, labId: req, upTo: undefined });
  for (const step of lab.steps) {
    await solveStep({ ...ctx, step });
    if (ctx.upTo === step.id) return;
  }
}

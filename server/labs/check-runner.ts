// Runs a step's check and solve scripts in the lab machines (DESIGN.md §4).
//
// A script runs as `bash` in the named machine with the course's lib/check-lib.sh prepended. The
// text goes in on stdin and is written to a file first, so commands in the script (nc, telnet,
// openssl) never eat the rest of the script; the script's own stdin is /dev/null and its stderr is
// merged into stdout, so the transcript keeps the order of what happened. All checks of a step that
// run in one machine share ONE exec (they run in parallel inside it): an exec costs far more than
// a check.
//
// Output protocol (see docs/authoring.md): exit 0 passes; lines `PASS[de]: …`, `PASS[en]: …`,
// `FAIL[de]: …`, `FAIL[en]: …` (or `PASS: …`/`FAIL: …` for both languages) give the message;
// lines `HINT[de]: …`, `HINT[en]: …`, `HINT: …` are shown to the learner when the check fails.
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { EnvironmentParams, MachineName } from "@/lib/machines";
import {
  CHECK_HELO,
  renderTemplate,
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

/**
 * Copies stdin to a file in the machine and runs it with bash: bash reads a regular file in blocks
 * (a pipe byte by byte), and the script's own stdin is /dev/null. The script removes its file first.
 */
export const SCRIPT_RUNNER_CMD = ["bash", "-c", 'f=$(mktemp /tmp/maillab-run.XXXXXX) && cat >"$f" && exec bash "$f" </dev/null 2>&1'];

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
    // Read again after a while so edits show up in development without a restart.
    setTimeout(() => libCache.delete(course.checkLibPath), 5_000).unref();
  }
  return lib;
}

/** The text that runs: check-lib, then the script. */
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

/** Reads the PASS/FAIL/HINT lines of a script's output. */
export function parseOutput(output: string): ParsedOutput {
  const parsed: ParsedOutput = { pass: {}, fail: {}, hints: { de: [], en: [] } };
  for (const raw of output.split("\n")) {
    const m = LINE_RE.exec(raw.replace(/\r$/, ""));
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

interface ScriptRun {
  exitCode: number;
  output: string;
  durationMs: number;
  timedOut: boolean;
}

interface BundleItem {
  scriptPath: string;
  timeoutSeconds: number;
}

/**
 * Runs several scripts in one machine with ONE exec (an exec costs a few hundred ms on a busy
 * engine): each script is written to a file and run in parallel under its own `timeout`; the
 * results come back as sections of stdout, delimited by a marker with a random nonce.
 */
async function runBundle(ctx: RunContext, machine: MachineName, items: BundleItem[]): Promise<ScriptRun[]> {
  const nonce = randomBytes(8).toString("hex");
  const marker = `MAILLAB-RESULT-${nonce}`;
  const texts = await Promise.all(items.map((item) => scriptText(ctx.course, item.scriptPath)));
  let bundle = `rm -f "$0"\nd=$(mktemp -d /tmp/maillab-checks.XXXXXX) || exit 90\n`;
  texts.forEach((text, i) => {
    bundle += `cat >"$d/${i}.sh" <<'MAILLAB_EOF_${nonce}'\n${text}\nMAILLAB_EOF_${nonce}\n`;
  });
  items.forEach((item, i) => {
    const t = item.timeoutSeconds.toFixed(3);
    bundle += `{ s=$EPOCHREALTIME; timeout -s KILL ${t} bash "$d/${i}.sh" </dev/null >"$d/${i}.out" 2>&1; rc=$?; echo "$rc $s $EPOCHREALTIME" >"$d/${i}.rc"; } &\n`;
  });
  bundle += `wait\n`;
  items.forEach((_item, i) => {
    bundle += `printf '\\n${marker} ${i} %s\\n' "$(cat "$d/${i}.rc" 2>/dev/null || echo "-1 0 0")"; cat "$d/${i}.out" 2>/dev/null\n`;
  });
  bundle += `printf '\\n${marker} end\\n'; rm -rf "$d"\n`;

  const maxTimeout = Math.max(...items.map((i) => i.timeoutSeconds));
  let stdout = "";
  let failure = "";
  let execDuration = 0;
  let bundleTimedOut = false;
  try {
    const r = await ctx.exec(ctx.envId, machine, SCRIPT_RUNNER_CMD, {
      env: scriptEnv(ctx.params),
      stdin: bundle,
      timeoutMs: Math.round((maxTimeout + 3) * 1000),
    });
    stdout = r.stdout + r.stderr;
    execDuration = r.durationMs;
    if (r.timedOut) {
      failure = `maillab: the checks in ${machine} did not finish in time\n`;
      bundleTimedOut = true;
    }
  } catch (error) {
    failure = `maillab: could not run in ${machine}: ${error instanceof Error ? error.message : String(error)}\n`;
  }

  const results: ScriptRun[] = items.map(() => ({
    exitCode: bundleTimedOut ? 137 : -1,
    output: failure || "maillab: no result\n",
    durationMs: execDuration,
    timedOut: bundleTimedOut,
  }));
  const sections = stdout.split(new RegExp(`\\n?${marker} `));
  for (const section of sections.slice(1)) {
    const nl = section.indexOf("\n");
    const header = nl < 0 ? section : section.slice(0, nl);
    const body = nl < 0 ? "" : section.slice(nl + 1);
    const [index, rc, start, end] = header.split(" ");
    if (index === "end" || index === undefined) continue;
    const i = Number(index);
    if (!(i >= 0 && i < items.length)) continue;
    const exitCode = Number(rc);
    const durationMs = Math.max(0, Math.round((Number(end) - Number(start)) * 1000));
    const timedOut = exitCode === 137 && durationMs >= items[i]!.timeoutSeconds * 1000 - 50;
    results[i] = { exitCode, output: body, durationMs, timedOut };
  }
  return results;
}

/** Runs one script alone (solve scripts). */
async function runScript(ctx: RunContext, machine: MachineName, scriptPath: string, timeoutSeconds: number): Promise<ScriptRun> {
  const stdin = `rm -f "$0"\n${await scriptText(ctx.course, scriptPath)}`;
  try {
    const r = await ctx.exec(ctx.envId, machine, SCRIPT_RUNNER_CMD, {
      env: scriptEnv(ctx.params),
      stdin,
      timeoutMs: Math.round(timeoutSeconds * 1000),
    });
    return { exitCode: r.exitCode, output: r.stdout + r.stderr, durationMs: r.durationMs, timedOut: r.timedOut };
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    return { exitCode: -1, output: `maillab: could not run in ${machine}: ${text}\n`, durationMs: 0, timedOut: false };
  }
}

function outcome(check: Check, run: ScriptRun, explain?: ScriptRun): CheckRunResult {
  const ok = run.exitCode === 0 && !run.timedOut;
  const parsed = parseOutput(run.output);
  const hints = parsed.hints;
  let transcript = run.output;
  if (explain) {
    const explained = parseOutput(explain.output);
    for (const l of ["de", "en"] as const) for (const h of explained.hints[l]) if (!hints[l].includes(h)) hints[l].push(h);
    transcript += `\n---- explain (${check.explain!.machine}: ${check.explain!.script}) ----\n${explain.output}`;
  }
  let message: LocalizedText;
  const chosen = ok ? parsed.pass : parsed.fail;
  if (chosen.de !== undefined || chosen.en !== undefined) {
    message = { de: chosen.de ?? chosen.en!, en: chosen.en ?? chosen.de! };
  } else if (ok) {
    message = { de: "Bestanden", en: "Passed" };
  } else if (run.timedOut) {
    message = { de: `Zeitüberschreitung nach ${check.timeout} s`, en: `timed out after ${check.timeout} s` };
  } else if (run.exitCode === -1) {
    message = { de: `Maschine ${check.machine} nicht erreichbar`, en: `machine ${check.machine} not reachable` };
  } else {
    message = { de: `Prüfung fehlgeschlagen (Exit-Code ${run.exitCode})`, en: `check failed (exit code ${run.exitCode})` };
  }
  return {
    ok,
    message,
    hints: ok ? { de: [], en: [] } : hints,
    transcript,
    durationMs: run.durationMs + (explain?.durationMs ?? 0),
    exitCode: run.exitCode,
    timedOut: run.timedOut,
  };
}

/**
 * Runs checks: one exec per machine for all of them (in parallel inside the machine), then one
 * exec per machine for the explain scripts of those that failed.
 */
export async function runChecks(ctx: RunContext & { checks: Check[] }): Promise<CheckRunResult[]> {
  const runs: ScriptRun[] = new Array(ctx.checks.length);
  const byMachine = (indices: number[], machineOf: (i: number) => MachineName) => {
    const groups = new Map<MachineName, number[]>();
    for (const i of indices) groups.set(machineOf(i), [...(groups.get(machineOf(i)) ?? []), i]);
    return groups;
  };
  const all = ctx.checks.map((_c, i) => i);
  await Promise.all(
    [...byMachine(all, (i) => ctx.checks[i]!.machine)].map(async ([machine, indices]) => {
      const results = await runBundle(ctx, machine, indices.map((i) => ({ scriptPath: ctx.checks[i]!.scriptPath, timeoutSeconds: ctx.checks[i]!.timeout })));
      indices.forEach((i, k) => (runs[i] = results[k]!));
    }),
  );
  const explains: Array<ScriptRun | undefined> = new Array(ctx.checks.length);
  const failing = all.filter((i) => {
    const c = ctx.checks[i]!;
    return c.explain && c.explainPath && !(runs[i]!.exitCode === 0 && !runs[i]!.timedOut);
  });
  await Promise.all(
    [...byMachine(failing, (i) => ctx.checks[i]!.explain!.machine)].map(async ([machine, indices]) => {
      const results = await runBundle(ctx, machine, indices.map((i) => ({ scriptPath: ctx.checks[i]!.explainPath!, timeoutSeconds: Math.min(ctx.checks[i]!.timeout, 10) })));
      indices.forEach((i, k) => (explains[i] = results[k]!));
    }),
  );
  return ctx.checks.map((check, i) => outcome(check, runs[i]!, explains[i]));
}

/** Runs one check (and, when it fails, its explain script). Never throws for script failures. */
export async function runCheck(ctx: RunContext & { check: Check }): Promise<CheckRunResult> {
  const started = performance.now();
  const [result] = await runChecks({ ...ctx, checks: [ctx.check] });
  return { ...result!, durationMs: Math.round(performance.now() - started) };
}

function toResult(check: Check, r: CheckRunResult, params: EnvironmentParams): CheckResult {
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

/** Runs all checks of a step: together (one exec per machine), then the `exclusive` ones one by one. */
export async function runStepChecks(ctx: RunContext & { step: Step }): Promise<StepResult> {
  const { step } = ctx;
  const results = new Map<string, CheckResult>();
  const together = step.checks.filter((c) => !c.exclusive);
  if (together.length > 0) {
    const runs = await runChecks({ ...ctx, checks: together });
    together.forEach((check, i) => results.set(check.id, toResult(check, runs[i]!, ctx.params)));
  }
  for (const check of step.checks.filter((c) => c.exclusive)) {
    results.set(check.id, toResult(check, await runCheck({ ...ctx, check }), ctx.params));
  }
  const checks = step.checks.map((c) => results.get(c.id)!);
  const title = { de: renderTemplate(step.title.de, ctx.params), en: renderTemplate(step.title.en, ctx.params) };
  return { id: step.id, title, status: stepStatus(checks), checks };
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

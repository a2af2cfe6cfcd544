// The runner's protocol (PASS/FAIL/HINT, RETRY_AFTER, timeouts, explain, gates, inputs, solve
// errors) against a local bash standing in for a lab machine's check channel: no Docker needed.
// (server/docker/check-channel.test.ts runs the real channel in a real container.)
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Check, Course, Gate, Step } from "@/lib/lab-schema";
import { SolveError, parseOutput, readInputs, runCheck, runGate, runStepChecks, solveStep, type RunScriptFn } from "./check-runner";
import { SAMPLE_PARAMS } from "./__fixtures__/params";
import { loadCourse } from "./load-course";

const course: Course = loadCourse(path.join(import.meta.dirname, "__fixtures__", "labs", "mini"));
const dir = mkdtempSync(path.join(tmpdir(), "maillab-runner-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const params = SAMPLE_PARAMS;

const calls: Array<{ machine: string; at: number }> = [];
let jobNo = 0;
/** Runs a job locally the way the machine's dispatcher does: library sourced, then the script. */
const localRun: RunScriptFn = (_env, machine, job) =>
  new Promise((resolve) => {
    calls.push({ machine, at: performance.now() });
    const n = ++jobNo;
    const lib = path.join(dir, `job-${n}.lib`);
    const file = path.join(dir, `job-${n}.sh`);
    writeFileSync(lib, job.library ?? "");
    writeFileSync(file, job.script);
    const started = performance.now();
    const child = spawn("bash", ["-c", '. "$0"; . "$1"', lib, file], { env: { ...process.env, ...job.env, MACHINE: machine }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, job.timeoutMs);
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ exitCode: timedOut ? 137 : (code ?? 137), output, timedOut, durationMs: Math.round(performance.now() - started) });
    });
  });

function script(name: string, body: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, `#!/bin/bash\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

function check(id: string, body: string, extra: Partial<Check> = {}): Check {
  return {
    id,
    title: { de: id, en: id },
    machine: "mail",
    script: `${id}.sh`,
    scriptPath: script(`${id}.sh`, body),
    timeout: 5,
    guard: false,
    exclusive: false,
    evidence: false,
    needs: [],
    depends: [],
    ...extra,
  };
}

const ctx = { run: localRun, envId: "test", params, course };

describe("parseOutput", () => {
  it("reads localized and plain PASS/FAIL/HINT lines", () => {
    const p = parseOutput("x\nHINT[de]: a\nHINT[en]: b\nHINT: both\nFAIL[de]: nein\nFAIL[en]: no\nPASS: ignored?\n");
    expect(p.hints).toEqual({ de: ["a", "both"], en: ["b", "both"] });
    expect(p.fail).toEqual({ de: "nein", en: "no" });
    expect(p.pass).toEqual({ de: "ignored?", en: "ignored?" });
  });
});

describe("runCheck", () => {
  it("passes on exit 0 with the PASS message, with the environment and check-lib available", async () => {
    const r = await runCheck({ ...ctx, check: check("env", 'echo "S: $MAILLAB_DOMAIN $MAILLAB_USER2 $MAILLAB_PARTNER_IP on $MACHINE"; pass "gut" "good"') });
    expect(r.ok).toBe(true);
    expect(r.message).toEqual({ de: "gut", en: "good" });
    expect(r.transcript).toContain("S: k7qa.example.test bob 10.213.0.19 on mail");
    expect(r.hints).toEqual({ de: [], en: [] });
  });

  it("fails with hints, and the explain script adds its hints", async () => {
    const c = check("bad", 'echo "C: RCPT TO:<x>"; hint "Tipp" "tip"; fail "kaputt" "broken"', {
      explain: { machine: "partner", script: "explain.sh" },
      explainPath: script("explain.sh", 'hint "Erklärung auf $MACHINE" "explained on $MACHINE"'),
    });
    const r = await runCheck({ ...ctx, check: c });
    expect(r.ok).toBe(false);
    expect(r.message).toEqual({ de: "kaputt", en: "broken" });
    expect(r.hints).toEqual({ de: ["Tipp", "Erklärung auf partner"], en: ["tip", "explained on partner"] });
    expect(r.transcript).toContain("C: RCPT TO:<x>");
    expect(r.transcript).toContain("---- explain (partner: explain.sh) ----");
  });

  it("reads stdin-hungry commands without eating the script", async () => {
    const r = await runCheck({ ...ctx, check: check("stdin", 'cat >/dev/null\nread -r x || true\npass "weiter" "still running"') });
    expect(r.ok).toBe(true);
  });

  it("times out a hanging check and says so", async () => {
    const r = await runCheck({ ...ctx, check: check("slow", "sleep 30", { timeout: 0.5 }) });
    expect(r.ok).toBe(false);
    expect(r.timedOut).toBe(true);
    expect(r.message.en).toBe("timed out after 0.5 s");
  });

  it("reports a non-zero exit without FAIL line by its code", async () => {
    const r = await runCheck({ ...ctx, check: check("exit3", "exit 3") });
    expect(r).toMatchObject({ ok: false, exitCode: 3, message: { en: "check failed (exit code 3)" } });
  });

  it("turns a channel error into a failed check", async () => {
    const broken: RunScriptFn = () => Promise.reject(new Error("environment x is stopped"));
    const r = await runCheck({ ...ctx, run: broken, check: check("gone", "true") });
    expect(r.ok).toBe(false);
    expect(r.transcript).toContain("environment x is stopped");
  });
});

describe("runStepChecks", () => {
  const stepOf = (checks: Check[]): Step => ({
    id: "s",
    dir: "01-s",
    title: { de: "S", en: "S" },
    kind: "config",
    task: { de: "", en: "" },
    hints: { de: [], en: [] },
    checks,
    solve: [],
  });

  it("runs a step's checks side by side on their machines, one run id for all", async () => {
    const step = stepOf([
      check("a", 'sleep 1; echo "run=$MAILLAB_RUN"; pass "a"'),
      check("b", 'sleep 1; echo "run=$MAILLAB_RUN"; fail "b"'),
      check("c", 'sleep 1; echo "run=$MAILLAB_RUN"; pass "c"', { machine: "probe" }),
    ]);
    calls.length = 0;
    const started = performance.now();
    const r = await runStepChecks({ ...ctx, step });
    expect(performance.now() - started).toBeLessThan(2500);
    expect(calls.map((c) => c.machine).sort()).toEqual(["mail", "mail", "probe"]);
    expect(r.status).toBe("fail");
    expect(r.checks.map((c) => [c.id, c.ok])).toEqual([
      ["a", true],
      ["b", false],
      ["c", true],
    ]);
    const runIds = new Set(r.checks.map((c) => /run=(\S+)/.exec(c.transcript ?? "")?.[1]));
    expect(runIds.size).toBe(1);
    expect(r.checks[1]!.hints).toEqual({ de: [], en: [] });
    expect(r.checks[0]!.durationMs).toBeGreaterThanOrEqual(900);
  });

  it("does not run a check whose gate fails: the gate's verdict stands for it", async () => {
    const marker = path.join(dir, "gated-ran");
    const gate: Gate = {
      id: "serving",
      title: { de: "dient", en: "serving" },
      machine: "mail",
      script: "gate.sh",
      timeout: 5,
      scriptPath: script("gate.sh", 'hint "Tippfehler in main.cf" "typo in main.cf"; echo "RETRY_AFTER: 12"; fail "Postfix kann nicht" "Postfix cannot serve"'),
    };
    const gated = check("gated", `touch ${marker}; pass "lief" "ran"`, { needs: ["serving"] });
    const free = check("free", 'pass "frei" "free"');
    const r = await runStepChecks({ ...ctx, course: { ...course, gates: [gate] }, step: stepOf([gated, free]) });
    expect(r.checks.map((c) => [c.id, c.ok, c.message.en])).toEqual([
      ["gated", false, "Postfix cannot serve"],
      ["free", true, "free"],
    ]);
    expect(r.checks[0]!.hints?.en).toEqual(["typo in main.cf"]);
    const { existsSync } = await import("node:fs");
    expect(existsSync(marker)).toBe(false);
    const g = await runGate({ ...ctx, gate });
    expect(g.retryAfterS).toBe(12);
  });
});

describe("readInputs", () => {
  it("groups the inputs script's lines by input and fingerprints each, order-independent", async () => {
    const inputs = (body: string) => ({ ...course, inputs: { machine: "mail" as const, names: ["config", "log"], scriptPath: script(`inputs-${++jobNo}.sh`, body) } });
    const a = await readInputs({ ...ctx, course: inputs('echo "config main.cf 10"; echo "config master.cf 3"; echo "log 5"; echo "other x"') });
    const b = await readInputs({ ...ctx, course: inputs('echo "config master.cf 3"; echo "log 5"; echo "config main.cf 10"') });
    const c = await readInputs({ ...ctx, course: inputs('echo "config main.cf 11"; echo "config master.cf 3"; echo "log 5"') });
    expect(Object.keys(a!)).toEqual(["config", "log"]);
    expect(a).toEqual(b);
    expect(c!.config).not.toBe(a!.config);
    expect(c!.log).toBe(a!.log);
    expect(await readInputs({ ...ctx, course: inputs("exit 1") })).toBeUndefined();
    expect(await readInputs(ctx)).toBeUndefined();
  });
});

describe("solveStep", () => {
  const base: Omit<Step, "solve"> = {
    id: "s",
    dir: "01-s",
    title: { de: "S", en: "S" },
    kind: "config",
    task: { de: "", en: "" },
    hints: { de: [], en: [] },
    checks: [],
  };

  it("runs the solve scripts in order on their machines", async () => {
    const marker = path.join(dir, "order");
    const step: Step = {
      ...base,
      solve: [
        { machine: "partner", script: "s1.sh", timeout: 5, scriptPath: script("s1.sh", `echo "1 $MACHINE" >> ${marker}`) },
        { machine: "mail", script: "s2.sh", timeout: 5, scriptPath: script("s2.sh", `echo "2 $MACHINE" >> ${marker}`) },
      ],
    };
    await solveStep({ ...ctx, step });
    const { readFileSync } = await import("node:fs");
    expect(readFileSync(marker, "utf8")).toBe("1 partner\n2 mail\n");
  });

  it("fails loudly when a solve script exits non-zero", async () => {
    const step: Step = { ...base, solve: [{ machine: "mail", script: "bad.sh", timeout: 5, scriptPath: script("bad.sh", 'echo "postconf: fatal: bad"; exit 4') }] };
    const error = await solveStep({ ...ctx, step }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SolveError);
    expect((error as SolveError).message).toContain("solve script bad.sh of step s failed in mail (exit 4)");
    expect((error as SolveError).message).toContain("postconf: fatal: bad");
  });
});

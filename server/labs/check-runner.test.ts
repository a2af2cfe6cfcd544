// The runner's protocol (bundles, PASS/FAIL/HINT, timeouts, explain, solve errors) against a local
// bash standing in for a lab machine: no Docker needed.
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Check, Course, Step } from "@/lib/lab-schema";
import { SolveError, parseOutput, runCheck, runStepChecks, solveStep, type ExecFn } from "./check-runner";
import { SAMPLE_PARAMS } from "./__fixtures__/params";
import { loadCourse } from "./load-course";

const course: Course = loadCourse(path.join(import.meta.dirname, "__fixtures__", "labs", "mini"));
const dir = mkdtempSync(path.join(tmpdir(), "maillab-runner-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const params = SAMPLE_PARAMS;

const calls: Array<{ machine: string; cmd: string[] }> = [];
/** Runs the command locally with bash, like `docker exec` would in the machine. */
const localExec: ExecFn = (_env, machine, cmd, opts) =>
  new Promise((resolve) => {
    calls.push({ machine, cmd });
    const started = performance.now();
    const child = spawn(cmd[0]!, cmd.slice(1), { env: { ...process.env, ...opts.env, MACHINE: machine } });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, opts.timeoutMs ?? 15_000);
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ exitCode: code ?? 137, stdout, stderr, timedOut, durationMs: Math.round(performance.now() - started) });
    });
    child.stdin.end(opts.stdin ?? "");
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
    ...extra,
  };
}

const ctx = { exec: localExec, envId: "test", params, course };

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

  it("turns an exec error into a failed check", async () => {
    const broken: ExecFn = () => Promise.reject(new Error("environment x is stopped"));
    const r = await runCheck({ ...ctx, exec: broken, check: check("gone", "true") });
    expect(r.ok).toBe(false);
    expect(r.transcript).toContain("environment x is stopped");
  });
});

describe("runStepChecks", () => {
  it("runs a step's checks with one exec per machine, in parallel inside it", async () => {
    const step: Step = {
      id: "s",
      dir: "01-s",
      title: { de: "S", en: "S" },
      kind: "config",
      task: { de: "", en: "" },
      hints: { de: [], en: [] },
      checks: [
        check("a", 'sleep 1; pass "a"'),
        check("b", 'sleep 1; fail "b"'),
        check("c", 'sleep 1; pass "c"', { machine: "partner" }),
      ],
      solve: [],
    };
    calls.length = 0;
    const started = performance.now();
    const r = await runStepChecks({ ...ctx, step });
    expect(performance.now() - started).toBeLessThan(2500);
    expect(calls.map((c) => c.machine).sort()).toEqual(["mail", "partner"]);
    expect(r.status).toBe("fail");
    expect(r.checks.map((c) => [c.id, c.ok])).toEqual([
      ["a", true],
      ["b", false],
      ["c", true],
    ]);
    expect(r.checks[1]!.hints).toEqual({ de: [], en: [] });
    expect(r.checks[0]!.durationMs).toBeGreaterThanOrEqual(900);
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

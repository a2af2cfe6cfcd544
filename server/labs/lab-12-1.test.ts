// Lab 12.1 end to end on a real environment (real Docker engine, real lab images, real SMTP):
// on a fresh environment every check of every step fails; then, step by step, each step's checks
// fail before its solve (guards excepted: they protect what earlier steps achieved) and pass after.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkStep, describeResult, expectStepFailsThenPassesAfterSolve, labOf, startLabEnvironment, timeStepChecks, type LabEnvironment } from "./testing";
import { readFileSync } from "node:fs";
import path from "node:path";
import { defaultCourseDir, loadCourse } from "./load-course";

const course = loadCourse();
const lab = labOf(course, "12-1");
let env: LabEnvironment;

beforeAll(async () => {
  env = await startLabEnvironment(course);
});
afterAll(async () => {
  await env?.destroy();
});

describe("Lab 12.1: Mails von außen annehmen", () => {
  it("on a fresh environment, every check of every step of the course fails", async () => {
    for (const l of course.labs) {
      for (const step of l.steps) {
        const result = await checkStep(env, step);
        for (const c of result.checks) expect(c.ok, `${l.id}/${step.id}/${c.id} passes on a fresh environment:\n${describeResult(result)}`).toBe(false);
        for (const c of result.checks) expect(c.message.de.length * c.message.en.length, `${step.id}/${c.id} has no message`).toBeGreaterThan(0);
      }
    }
  });

  it("the failing checks of a fresh environment explain themselves (timings reported)", async () => {
    const timings: string[] = [];
    for (const step of lab.steps) {
      const ms = await timeStepChecks(env, step, (result) => {
        expect(result.status).toBe("fail");
        for (const c of result.checks) expect(c.hints?.de.length ?? 0, `${step.id}/${c.id} fails without a hint`).toBeGreaterThan(0);
      });
      timings.push(`${step.id}: median ${ms} ms (fresh, failing)`);
    }
    console.log(`[timings 12-1 fresh]\n  ${timings.join("\n  ")}`);
  });

  it("right after an edit of main.cf the checks read it without Postfix's cool-down wait, and answer the same", async () => {
    // Postfix programs wait up to ~2 s while main.cf is younger than two seconds ("pausing to let
    // main.cf cool down" with -vv); check-lib's postconf reads a dated-back copy then.
    const lib = readFileSync(path.join(defaultCourseDir(), "lib", "check-lib.sh"), "utf8");
    const out = await env.sh(
      "mail",
      `${lib}\npostconf -e 'delay_warning_time = 3h' 'smtpd_banner = $myhostname ESMTP'\n` +
        `echo 'smtpd_banner = $myhostname ESMTP x' >> /etc/postfix/main.cf\n` +
        `echo "lib pauses: $(postconf -vv -n 2>&1 | grep -c 'cool down')"\n` +
        `echo "lib value: $(pc delay_warning_time)"\n` +
        `echo "lib warning: $(postconf -n 2>&1 >/dev/null | head -n1)"\n` +
        `postconf -e 'delay_warning_time = 4h'\n` +
        `echo "postfix pauses: $(command postconf -vv -n 2>&1 | grep -c 'cool down')"\n` +
        `sed -i '$d' /etc/postfix/main.cf && postconf -X delay_warning_time smtpd_banner\n`,
    );
    expect(out).toContain("lib pauses: 0");
    expect(out).toContain("lib value: 3h");
    expect(out).toMatch(/lib warning: postconf: warning: \/etc\/postfix\/main\.cf, line \d+: overriding earlier entry: smtpd_banner=/);
    expect(out).toMatch(/postfix pauses: [1-9]/);
  });

  for (const step of lab.steps) {
    it(`step ${step.id}: fails before its solve, passes after`, async () => {
      await expectStepFailsThenPassesAfterSolve(env, step);
    }, 600_000); // a solve may install packages: slow on a busy machine
  }

  it("after all solves every step still passes (timings reported)", async () => {
    const timings: string[] = [];
    for (const step of lab.steps) {
      const ms = await timeStepChecks(env, step, (result) => expect(result.status, describeResult(result)).toBe("pass"));
      timings.push(`${step.id}: median ${ms} ms (solved, passing)`);
    }
    console.log(`[timings 12-1 solved]\n  ${timings.join("\n  ")}`);
  });
});

// Lab 12.1 end to end on a real environment (real Docker engine, real lab images, real SMTP):
// on a fresh environment every check of every step fails; then, step by step, each step's checks
// fail before its solve (guards excepted: they protect what earlier steps achieved) and pass after.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkStep, describeResult, expectStepFailsThenPassesAfterSolve, labOf, startLabEnvironment, timeStepChecks, type LabEnvironment } from "./testing";
import { loadCourse } from "./load-course";

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

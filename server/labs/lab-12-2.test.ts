// Lab 12.2 end to end on a real environment: it starts where Lab 12.1 ends (all of 12.1 solved);
// then each step's checks fail before its solve (guards excepted) and pass after.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkStep, describeResult, expectStepFailsThenPassesAfterSolve, labOf, solveLabSteps, startLabEnvironment, timeStepChecks, type LabEnvironment } from "./testing";
import { loadCourse } from "./load-course";

const course = loadCourse();
const lab = labOf(course, "12-2");
let env: LabEnvironment;

beforeAll(async () => {
  env = await startLabEnvironment(course);
  for (const required of lab.requires) await solveLabSteps(env, labOf(course, required));
});
afterAll(async () => {
  await env?.destroy();
});

describe("Lab 12.2: Dovecot", () => {
  it("starts with Lab 12.1 solved: its steps pass, none of 12.2's checks does", async () => {
    for (const step of labOf(course, "12-1").steps) {
      const result = await checkStep(env, step);
      expect(result.status, describeResult(result)).toBe("pass");
    }
    for (const step of lab.steps) {
      const result = await checkStep(env, step);
      for (const c of result.checks) expect(c.ok, `${step.id}/${c.id} passes before Lab 12.2:\n${describeResult(result)}`).toBe(false);
    }
  });

  for (const step of lab.steps) {
    it(`step ${step.id}: fails before its solve, passes after`, async () => {
      await expectStepFailsThenPassesAfterSolve(env, step, { requireHints: true });
    }, 600_000); // a solve may install packages: slow on a busy machine
  }

  it("after all solves every step of the course passes (timings reported)", async () => {
    const timings: string[] = [];
    for (const l of course.labs) {
      for (const step of l.steps) {
        const ms = await timeStepChecks(env, step, (result) => expect(result.status, describeResult(result)).toBe("pass"));
        if (l.id === lab.id) timings.push(`${step.id}: median ${ms} ms (solved, passing)`);
      }
    }
    console.log(`[timings 12-2 solved]\n  ${timings.join("\n  ")}`);
  });
});

// server/labs: loads the course from labs/ and runs its checks and solve scripts in the lab machines
// through an injected exec (server/docker's EnvironmentManager.exec fits).
import type { EnvironmentParams } from "@/lib/machines";
import type { Course } from "@/lib/lab-schema";
import type { Labs, StepOutcome } from "../maillab/ports";
import { runStepChecks, solveStep, type ExecFn } from "./check-runner";
import { findStep, loadCourse } from "./load-course";

export { loadCourse, defaultCourseDir, findStep, LabContentError } from "./load-course";
export { parseSlides } from "./slides";
export { runCheck, runChecks, runStepChecks, solveStep, solveLab, SolveError, type ExecFn, type CheckRunResult } from "./check-runner";

/** The Labs port of server/maillab: a step's check results, and fast-forward through solve scripts. */
export function createLabs({ exec, course = loadCourse() }: { exec: ExecFn; course?: Course }): Labs {
  return {
    course,
    async runStep(environmentId: string, params: EnvironmentParams, labId: string, stepId: string): Promise<StepOutcome> {
      const { step } = findStep(course, labId, stepId);
      const result = await runStepChecks({ exec, envId: environmentId, params, course, step });
      return { status: result.status === "pass" ? "pass" : "fail", checks: result.checks };
    },
    async solveStep(environmentId: string, params: EnvironmentParams, labId: string, stepId: string): Promise<void> {
      const { step } = findStep(course, labId, stepId);
      await solveStep({ exec, envId: environmentId, params, course, step });
    },
  };
}

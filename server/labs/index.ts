// server/labs: loads the course from labs/ and runs its scripts in the lab machines through an
// injected `run` port (server/docker's long-lived check channels fit).
import type { Course } from "@/lib/lab-schema";
import type { Labs } from "../maillab/ports";
import { blockedResult, readInputs, runChecks, runGate, solveStep, toResult, type RunScriptFn } from "./check-runner";
import { findStep, loadCourse } from "./load-course";

export { loadCourse, defaultCourseDir, findStep, LabContentError } from "./load-course";
export { parseSlides } from "./slides";
export {
  runCheck,
  runChecks,
  runStepChecks,
  solveStep,
  solveLab,
  SolveError,
  type RunScriptFn,
  type ScriptJob,
  type ScriptRun,
  type CheckRunResult,
} from "./check-runner";

/** The Labs port of server/maillab. */
export function createLabs({ run, course = loadCourse() }: { run: RunScriptFn; course?: Course }): Labs {
  const ctx = (envId: string, params: Parameters<Labs["readInputs"]>[1]) => ({ run, envId, params, course });
  return {
    course,
    readInputs: (envId, params) => readInputs(ctx(envId, params)),
    async runGate(envId, params, gateId, options) {
      const gate = course.gates.find((g) => g.id === gateId);
      if (!gate) throw new Error(`unknown gate "${gateId}"`);
      return runGate({ ...ctx(envId, params), ...options, gate });
    },
    async runChecks(envId, params, checks, options) {
      const results = await runChecks({ ...ctx(envId, params), ...options, checks });
      return checks.map((check, i) => ({ ...toResult(check, results[i]!, params), durationMs: results[i]!.durationMs }));
    },
    blocked: (check, gate, params) => ({ ...toResult(check, blockedResult({ ...gate, durationMs: 0, exitCode: 1, timedOut: false }), params), durationMs: 0 }),
    async solveStep(envId, params, labId, stepId) {
      const { step } = findStep(course, labId, stepId);
      await solveStep({ ...ctx(envId, params), step });
    },
  };
}

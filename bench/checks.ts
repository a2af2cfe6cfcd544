import { EnvironmentManager } from "../server/docker/environments";
import { loadCourse } from "../server/labs/load-course";
import { runStepChecks, solveStep, type RunScriptFn } from "../server/labs/check-runner";

const RUNS = 5;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.95) - 1)] ?? NaN;

/**
 * Time to run all checks of each step (what the learner waits for after a command), on one
 * fresh environment walked through both labs: each step checked RUNS times before its solve
 * (failing) and RUNS times after (passing).
 */
export async function benchChecks(): Promise<Record<string, number>> {
  const course = loadCourse();
  const manager = new EnvironmentManager({ hostFirewall: false, labels: { "maillab.bench": "1" }, idleStopMs: 0, ttlMs: 0 });
  await manager.init();
  const out: Record<string, number> = {};
  const all: number[] = [];
  const env = await manager.create();
  try {
    await manager.waitReady(env.id);
    const run: RunScriptFn = (id, machine, job) => manager.runScript(id, machine, job);
    const ctx = { run, envId: env.id, params: env.params, course };
    for (const lab of course.labs) {
      for (const step of lab.steps) {
        for (const phase of ["before", "after"] as const) {
          if (phase === "after") await solveStep({ ...ctx, step });
          const times: number[] = [];
          for (let i = 0; i < RUNS; i++) {
            const t0 = performance.now();
            await runStepChecks({ ...ctx, step });
            times.push(performance.now() - t0);
          }
          all.push(...times);
          out[`${lab.id}/${step.id} ${phase} (median ms)`] = median(times);
        }
      }
    }
    out["all steps p95 ms"] = p95(all);
    return out;
  } finally {
    await manager.destroy(env.id).catch(() => {});
    manager.dispose();
  }
}

// One evaluation of an environment: read the machines' fingerprint, run what the learning loop's
// rules (./evaluation-plan.ts) say needs running, store the outcome, move on to the next step and
// the next lab, and tell the learner's page and the dashboard. The scheduler
// (./check-scheduler.ts) decides when; this module decides what.
import { randomBytes } from "node:crypto";
import type { Check, Course } from "@/lib/lab-schema";
import type { EnvironmentParams } from "@/lib/machines";
import type { EnvironmentRow, Store } from "../db";
import type { EventBus } from "../events";
import { currentStep, mergeRun, nextLab, planRun, type PlannedCheck } from "./evaluation-plan";
import type { CheckOutcome, GateOutcome, Labs, Machines } from "./ports";
import { fromRow, stepKey, toRow, type StepState, type StoredCheck } from "./step-state";

export interface EvaluationDeps {
  course: Course;
  store: Store;
  labs: Labs;
  machines: Machines;
  events: EventBus;
  now?: () => number;
  /** With MAILLAB_DEBUG_CHECKS=1: one line per evaluation round (what ran, how long). */
  debug?: (line: string) => void;
}

export interface EvaluationResult {
  /** Something the learner sees changed (a step's status, a check's result, the lab). */
  changed: boolean;
  /** Checks actually run (0 when nothing relevant changed). */
  ran: number;
  /** A gate asked to be asked again after this long (a throttled Postfix recovers by itself). */
  retryAfterMs?: number;
}

/** A lab moves on by itself; more than this many rounds in one evaluation would be a loop. */
const MAX_ROUNDS = 50;

export function loadStates(store: Store, environmentId: string): Map<string, StepState> {
  return new Map(store.stepResultsOf(environmentId).map((r) => [r.stepId, fromRow(r)]));
}

export function paramsOf(row: EnvironmentRow): EnvironmentParams {
  return JSON.parse(row.params) as EnvironmentParams;
}

export function createEvaluator({ course, store, labs, machines, events, now = Date.now, debug }: EvaluationDeps) {
  /**
   * Per environment: the last fingerprint seen, when it was read, and when each input last changed
   * (for hints that read mail.log "since the change").
   */
  const seen = new Map<string, { values: Record<string, string>; lookedAt: number; changedAt: Record<string, number> }>();

  /**
   * Notes a fingerprint read at `lookedAt`. An input that differs changed after the previous look,
   * when it was still as before: that look's time is "since the change". (Not the time of this
   * look: the command that made the change logged its own complaints while it ran, before this
   * look, e.g. Postfix's fatal error during `systemctl restart postfix`.)
   */
  function noteInputs(environmentId: string, inputs: Record<string, string> | undefined, lookedAt: number): Record<string, number> {
    const entry = seen.get(environmentId) ?? { values: {}, lookedAt: 0, changedAt: {} };
    if (inputs) {
      for (const [name, value] of Object.entries(inputs)) {
        // The first look after an app start knows no history: 0 means "since ever".
        if (name in entry.values && entry.values[name] !== value) entry.changedAt[name] = entry.lookedAt;
        else entry.changedAt[name] ??= 0;
      }
      entry.values = inputs;
      entry.lookedAt = lookedAt;
    }
    seen.set(environmentId, entry);
    return entry.changedAt;
  }

  async function runPlanned(
    row: EnvironmentRow,
    params: EnvironmentParams,
    planned: PlannedCheck[],
    inputs: Record<string, string> | undefined,
    options: { runId: string; changedAt: Record<string, number> },
  ): Promise<{ results: Map<string, StoredCheck>; retryAfterS?: number }> {
    const results = new Map<string, StoredCheck>();
    if (planned.length === 0) return { results };
    const gateIds = [...new Set(planned.flatMap((p) => p.check.needs))];
    const gates = new Map<string, GateOutcome>(
      await Promise.all(gateIds.map(async (id) => [id, await labs.runGate(row.id, params, id, options)] as const)),
    );
    const blockedBy = (check: Check) => check.needs.map((id) => gates.get(id)!).find((g) => !g.ok);
    const runnable = planned.filter((p) => !blockedBy(p.check));
    const outcomes = await labs.runChecks(row.id, params, runnable.map((p) => p.check), options);
    const t = now();
    const store = (p: PlannedCheck, outcome: CheckOutcome, reusable: boolean) => {
      const basis = reusable && inputs ? Object.fromEntries(p.check.depends.map((d) => [d, inputs[d] ?? ""])) : undefined;
      results.set(`${p.key}/${p.check.id}`, { ...outcome, checkedAt: t, ...(basis ? { basis } : {}), ...(p.check.evidence ? { evidence: true } : {}) });
    };
    runnable.forEach((p, i) => store(p, outcomes[i]!, true));
    // Not run: the gate's verdict stands in, and is never reused (the gate is asked again next time).
    for (const p of planned) if (blockedBy(p.check)) store(p, labs.blocked(p.check, blockedBy(p.check)!, params), false);
    const retries = [...gates.values()].filter((g) => !g.ok && g.retryAfterS !== undefined).map((g) => g.retryAfterS!);
    return { results, ...(retries.length ? { retryAfterS: Math.min(...retries) } : {}) };
  }

  /** Evaluates an environment now. `force`: the learner pressed "check now". */
  async function evaluate(environmentId: string, { force = false }: { force?: boolean } = {}): Promise<EvaluationResult> {
    const row = store.getEnvironment(environmentId);
    if (!row || row.destroyedAt || machines.status(environmentId) !== "running") return { changed: false, ran: 0 };
    const started = performance.now();
    await machines.waitReady(environmentId);
    const params = paramsOf(row);
    const lookedAt = now();
    const inputs = await labs.readInputs(environmentId, params);
    const options = { runId: randomBytes(6).toString("hex"), changedAt: noteInputs(environmentId, inputs, lookedAt) };
    let saved = loadStates(store, environmentId);
    let states: Map<string, StepState> = saved;
    let labId = row.labId;
    let ran = 0;
    let changed = false;
    let retryAfterS: number | undefined;
    // Each round's verdict is stored and shown before the next round runs: a step turns green on
    // the page while the checks of the step after it are still running.
    const flush = () => {
      let visibleChange = false;
      for (const [key, state] of states) {
        const previous = saved.get(key);
        if (previous === state) continue;
        if (!previous || JSON.stringify(visible(previous)) !== JSON.stringify(visible(state))) visibleChange = true;
        store.upsertStepResult(toRow(environmentId, state));
      }
      if (labId !== store.getEnvironment(environmentId)?.labId) {
        store.updateEnvironment(environmentId, { labId });
        visibleChange = true;
      }
      saved = states;
      if (visibleChange) {
        changed = true;
        events.emit("environment", { environmentId, classId: row.classId });
      }
    };
    const t0 = performance.now();
    debug?.(`[eval ${environmentId}] inputs read in ${Math.round(t0 - started)} ms`);
    const runRound = async (label: string, planned: PlannedCheck[]) => {
      const tr = performance.now();
      const run = await runPlanned(row, params, planned, inputs, options);
      if (planned.length) {
        const took = [...run.results].map(([k, r]) => `${k.split("/").slice(1).join("/")}${r.ok ? "" : "✗"}:${r.durationMs ?? "?"}`);
        debug?.(`[eval ${environmentId}] ${label} (+${Math.round(tr - t0)} ms) ${Math.round(performance.now() - tr)} ms: ${took.join(" ")}`);
      }
      ran += run.results.size;
      if (run.retryAfterS !== undefined) retryAfterS = Math.min(retryAfterS ?? Infinity, run.retryAfterS);
      return run;
    };
    // Passed steps are looked at again (to notice breakage) after the current step's verdict is
    // shown: the learner waits for the step they work on, not for the re-verification.
    const deferred = new Map<string, PlannedCheck>();
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const was = currentStep(course, labId, states);
      const currentKey = was ? stepKey(was.lab.id, was.step.id) : null;
      const planned = planRun({ course, labId, states, inputs, force: force && round === 0 });
      const mine = planned.filter((p) => p.key === currentKey);
      for (const p of planned) if (p.key !== currentKey) deferred.set(`${p.key}/${p.check.id}`, p);
      const run = await runRound(`round ${round}`, mine);
      states = mergeRun({ course, labId, states, planned: mine, results: run.results, now: now() });
      const is = currentStep(course, labId, states);
      if (!is) {
        // Every step of this lab passed: on to the next lab of the course, its checks start at once.
        const next = nextLab(course, labId, states);
        if (next) labId = next;
        flush();
        if (!next) break;
        continue;
      }
      flush();
      if (was && is.step === was.step) break; // the current step is not done: wait for the learner
    }
    if (deferred.size > 0) {
      const planned = [...deferred.values()];
      const run = await runRound("re-verify", planned);
      states = mergeRun({ course, labId, states, planned, results: run.results, now: now() });
      flush();
    }
    return { changed, ran, ...(retryAfterS !== undefined ? { retryAfterMs: retryAfterS * 1000 } : {}) };
  }

  return {
    evaluate,
    forget(environmentId: string) {
      seen.delete(environmentId);
    },
  };
}

/** What a viewer sees of a step (a rerun that found the same thing changes nothing on screen). */
function visible(state: StepState) {
  return {
    status: state.status,
    broken: state.broken,
    passedAt: state.passedAt,
    sameFailures: state.sameFailures,
    checks: state.checks.map((c) => [c.id, c.ok, c.message.en, c.hints?.en ?? []]),
  };
}

export type Evaluator = ReturnType<typeof createEvaluator>;

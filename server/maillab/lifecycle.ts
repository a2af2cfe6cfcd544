// A learner's environment from start to end: create (self-paced or by joining), open (wake
// stopped machines), check, fast-forward (solve scripts), switch lab, reset, destroy.
import type { EnvironmentStatus, EnvironmentView, Lang } from "@/lib/api-types";
import type { Course } from "@/lib/lab-schema";
import type { EnvironmentRow, Store } from "../db";
import type { EventBus } from "../events";
import type { Principal } from "../auth";
import type { CheckScheduler } from "./check-scheduler";
import { errors } from "./errors";
import { loadStates, paramsOf, type Evaluator } from "./evaluation";
import type { Labs, Machines } from "./ports";
import { stepKey } from "./step-state";
import { noticeView } from "./notices";
import { environmentView } from "./views";

/** How long after a learner got an environment its checks first look (see createEnvironmentFor). */
const FIRST_LOOK_DELAY_MS = 3000;

export interface LifecycleDeps {
  course: Course;
  store: Store;
  machines: Machines;
  labs: Labs;
  events: EventBus;
  scheduler: CheckScheduler;
  evaluator: Evaluator;
}

export function createLifecycle({ course, store, machines, labs, events, scheduler, evaluator }: LifecycleDeps) {
  function lab(labId: string) {
    const found = course.labs.find((l) => l.id === labId);
    if (!found) throw errors.unknownLab(labId, course.labs.map((l) => l.id));
    return found;
  }

  function classEnded(row: EnvironmentRow): boolean {
    return Boolean(row.classId && store.getClass(row.classId)?.endedAt);
  }

  /**
   * The environment, if the principal may use it: its learner, or the instructor. 404 hides
   * others' ids. An environment of an ended class can still be read (its final results).
   */
  function authorize(principal: Principal | null, environmentId: string): EnvironmentRow {
    if (!principal) throw errors.signIn();
    const row = store.getEnvironment(environmentId);
    if (!row || (row.destroyedAt && !classEnded(row))) throw errors.noEnvironment();
    if (principal.kind === "learner" && row.learnerId !== principal.learnerId) throw errors.notYours();
    return row;
  }

  function publish(row: EnvironmentRow) {
    events.emit("environment", { environmentId: row.id, classId: row.classId });
  }

  function status(row: EnvironmentRow): EnvironmentStatus {
    if (row.destroyedAt) return classEnded(row) ? "ended" : "missing";
    return machines.status(row.id);
  }

  function view(row: EnvironmentRow, lang: Lang): EnvironmentView {
    return environmentView(course, row, loadStates(store, row.id), status(row), lang, row.destroyedAt ? null : noticeView(machines.notice(row.id), lang));
  }

  /** Machines running (woken if they slept); refuses when they are gone or the class ended. */
  async function ensureRunning(row: EnvironmentRow) {
    if (row.destroyedAt) throw classEnded(row) ? errors.classEnded() : errors.noEnvironment();
    machines.touch(row.id);
    store.updateEnvironment(row.id, { lastActiveAt: Date.now() });
    const s = machines.status(row.id);
    if (s === "stopped") {
      await machines.resume(row.id);
      scheduler.schedule(row.id);
    } else if (s === "missing") {
      throw errors.machinesGone();
    }
  }

  /**
   * Runs the solve scripts of every step up to and including `stepId` that has not passed yet.
   * Call inside `scheduler.exclusive`: an evaluation that began before the scripts would store
   * their effect as the learner's own pass.
   */
  async function solveUpTo(row: EnvironmentRow, stepId: string, labId?: string) {
    const order = course.labs.flatMap((l) => l.steps.map((s) => ({ labId: l.id, stepId: s.id })));
    const target = order.findIndex((s) => s.stepId === stepId && (!labId || s.labId === labId));
    if (target < 0) throw errors.unknownStep(stepId);
    await machines.waitReady(row.id);
    const p = paramsOf(row);
    const saved = loadStates(store, row.id);
    for (const s of order.slice(0, target + 1)) {
      const key = stepKey(s.labId, s.stepId);
      if (saved.get(key)?.status === "pass") continue;
      await labs.solveStep(row.id, p, s.labId, s.stepId);
      const now = Date.now();
      store.upsertStepResult({
        environmentId: row.id,
        stepId: key,
        status: "pass",
        checks: "[]",
        sameFailures: 0,
        broken: false,
        firstSeenAt: saved.get(key)?.firstSeenAt ?? now,
        passedAt: now,
        updatedAt: now,
        solvedBy: "solve",
      });
    }
    // Fast-forwarding past a lab's last step moves the learner on to the next lab.
    const targetLab = lab(order[target]!.labId);
    const isLast = targetLab.steps.at(-1)?.id === stepId;
    const nextLab = course.labs[course.labs.indexOf(targetLab) + 1];
    store.updateEnvironment(row.id, { labId: isLast && nextLab ? nextLab.id : targetLab.id });
  }

  async function createEnvironmentFor(learnerId: string, labId: string, classId: string | null) {
    lab(labId);
    const existing = store.liveEnvironmentOfLearner(learnerId);
    if (existing) return existing;
    const { id, params } = await machines.create();
    const now = Date.now();
    store.insertEnvironment({ id, learnerId, classId, labId, params: JSON.stringify(params), createdAt: now, lastActiveAt: now });
    const row = store.getEnvironment(id)!;
    // A lab that builds on others (12.2 on 12.1) starts with those solved, as if the learner had done them.
    const required = lab(labId).requires;
    const lastRequired = required.length ? lab(required.at(-1)!) : undefined;
    if (lastRequired?.steps.length) await scheduler.exclusive(id, () => solveUpTo(row, lastRequired.steps.at(-1)!.id, lastRequired.id));
    store.updateEnvironment(id, { labId });
    // First results a moment later, not during the join: nothing is shown of them before the learner
    // acts (an untried step reads "open" either way), and a class joining at once must not pay for
    // thirty first evaluations while its pages and shells load.
    scheduler.first(id, FIRST_LOOK_DELAY_MS);
    return store.getEnvironment(id)!;
  }

  return {
    lab,
    authorize,
    view,
    createEnvironmentFor,
    ensureRunning,
    publish,

    async open(row: EnvironmentRow) {
      if (!row.destroyedAt) await ensureRunning(row);
    },

    touch(environmentId: string) {
      machines.touch(environmentId);
    },

    async checkNow(row: EnvironmentRow) {
      await ensureRunning(row);
      await scheduler.now(row.id);
    },

    /** A command finished in one of the learner's terminals. */
    onPrompt(environmentId: string) {
      machines.touch(environmentId);
      scheduler.prompt(environmentId);
    },

    /** Enter in a terminal (also inside telnet, where no prompt follows each line). */
    onEnter(environmentId: string) {
      scheduler.enter(environmentId);
    },

    async solve(row: EnvironmentRow, stepId: string) {
      await ensureRunning(row);
      await scheduler.exclusive(row.id, () => solveUpTo(row, stepId));
      publish(row);
      await scheduler.now(row.id);
    },

    /** "Skip to Lab 12.2": solve every step before that lab, then switch to it. */
    async switchLab(row: EnvironmentRow, labId: string) {
      await ensureRunning(row);
      const target = lab(labId);
      const previous = course.labs[course.labs.indexOf(target) - 1];
      await scheduler.exclusive(row.id, async () => {
        if (previous && previous.steps.length > 0) await solveUpTo(row, previous.steps.at(-1)!.id, previous.id);
        store.updateEnvironment(row.id, { labId });
      });
      publish(row);
      await scheduler.now(row.id);
    },

    async reset(row: EnvironmentRow) {
      if (row.destroyedAt) throw classEnded(row) ? errors.classEnded() : errors.noEnvironment();
      scheduler.forget(row.id);
      evaluator.forget(row.id);
      // A run still looking at the old machines must not write into the fresh results.
      const fresh = await scheduler.exclusive(row.id, async () => {
        const fresh = await machines.reset(row.id, paramsOf(row));
        store.clearStepResults(row.id);
        return fresh;
      });
      // The task texts and the checks read the params: keep the addresses the new machines have.
      const params = fresh && JSON.stringify(fresh) !== row.params ? { params: JSON.stringify(fresh) } : {};
      store.updateEnvironment(row.id, { labId: course.labs[0]!.id, lastActiveAt: Date.now(), ...params });
      publish(row);
      scheduler.schedule(row.id);
    },

    /** The reaper removed its machines (idle past MAILLAB_TTL_MINUTES): the row says so, the page hears it. */
    reaped(environmentId: string) {
      const row = store.getEnvironment(environmentId);
      if (!row || row.destroyedAt) return;
      scheduler.forget(row.id);
      evaluator.forget(row.id);
      store.updateEnvironment(row.id, { destroyedAt: Date.now() });
      publish(row);
    },

    async destroy(row: EnvironmentRow) {
      scheduler.forget(row.id);
      evaluator.forget(row.id);
      store.updateEnvironment(row.id, { destroyedAt: Date.now() });
      await machines.destroy(row.id);
      publish(row);
    },
  };
}

export type Lifecycle = ReturnType<typeof createLifecycle>;

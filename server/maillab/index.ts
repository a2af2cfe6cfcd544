import type { Store, EnvironmentRow } from "../db";
import type { EventBus } from "../events";
import type { Principal } from "../auth";
import { randomId } from "../auth";
import { ApiError } from "../http-error";
import { createCheckScheduler } from "./check-scheduler";
import type { Labs, Machines } from "./ports";
import type { EnvironmentParams } from "@/lib/machines";
import type { Lang, StepResultView } from "@/lib/api-schema";
import type { CheckResult } from "@/lib/lab-schema";

export interface MaillabDeps {
  store: Store;
  machines: Machines;
  labs: Labs;
  events: EventBus;
  log?: (line: string) => void;
}

/** Join codes: no 0/O, 1/I/L look-alikes, upper case to read aloud in class. */
const JOIN_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";

export type Maillab = ReturnType<typeof createMaillab>;

export function createMaillab({ store, machines, labs, events, log = console.log }: MaillabDeps) {
  const course = labs.course;
  const scheduler = createCheckScheduler({
    run: (id) => runChecks(id),
    onError: (id, error) => log(`[checks] ${id}: ${error instanceof Error ? error.message : String(error)}`),
  });

  function lab(labId: string) {
    const found = course.labs.find((l) => l.id === labId);
    if (!found) throw new ApiError(400, `unknown lab "${labId}"; known: ${course.labs.map((l) => l.id).join(", ")}`);
    return found;
  }

  function params(row: EnvironmentRow): EnvironmentParams {
    return JSON.parse(row.params) as EnvironmentParams;
  }

  /** The environment, if the principal may use it: its learner, or the instructor. 404 hides others' ids. */
  function authorize(principal: Principal | null, environmentId: string): EnvironmentRow {
    if (!principal) throw new ApiError(401, "sign in or join a class first");
    const row = store.getEnvironment(environmentId);
    if (!row || row.destroyedAt) throw new ApiError(404, "no such environment");
    if (principal.kind === "learner" && row.learnerId !== principal.learnerId) {
      throw new ApiError(403, "this environment belongs to someone else");
    }
    return row;
  }

  function stepViews(row: EnvironmentRow, lang: Lang): StepResultView[] {
    const saved = new Map(store.stepResultsOf(row.id).map((r) => [r.stepId, r]));
    return course.labs.flatMap((l) =>
      l.steps.map((step): StepResultView => {
        const r = saved.get(`${l.id}/${step.id}`);
        const checks = r ? (JSON.parse(r.checks) as StoredCheck[]) : [];
        return {
          id: step.id,
          labId: l.id,
          title: step.title[lang],
          status: r?.status ?? "pending",
          checks: checks.map((c) => ({
            id: c.id,
            ok: c.ok,
            message: c.message[lang],
            hints: c.hints?.[lang] ?? [],
            transcript: c.transcript,
            durationMs: c.durationMs,
          })),
          solved: r?.solvedBy != null,
          passedAt: r?.passedAt ?? null,
          firstSeenAt: r?.firstSeenAt ?? null,
          sameFailures: r?.sameFailures ?? 0,
        };
      }),
    );
  }

  type StoredCheck = CheckResult;

  /**
   * Checks the current lab's steps in order up to and including the first one that fails:
   * later steps build on it, so they stay "pending" instead of burning exec time.
   */
  async function runChecks(environmentId: string) {
    const row = store.getEnvironment(environmentId);
    if (!row || row.destroyedAt) return;
    if (machines.status(environmentId) !== "running") return;
    await machines.waitReady(environmentId);
    const current = lab(row.labId);
    const p = params(row);
    const saved = new Map(store.stepResultsOf(environmentId).map((r) => [r.stepId, r]));
    let changed = false;
    for (const step of current.steps) {
      const key = `${current.id}/${step.id}`;
      const outcome = await labs.runStep(environmentId, p, current.id, step.id);
      const before = saved.get(key);
      const now = Date.now();
      const failureSignature = outcome.checks.filter((c) => !c.ok).map((c) => `${c.id}:${c.message.en}`).join("|");
      const previousSignature = before
        ? (JSON.parse(before.checks) as StoredCheck[]).filter((c) => !c.ok).map((c) => `${c.id}:${c.message.en}`).join("|")
        : "";
      const sameFailures =
        outcome.status === "fail" && before?.status === "fail" && failureSignature === previousSignature
          ? before.sameFailures + 1
          : 0;
      store.upsertStepResult({
        environmentId,
        stepId: key,
        status: outcome.status,
        checks: JSON.stringify(outcome.checks),
        sameFailures,
        firstSeenAt: before?.firstSeenAt ?? now,
        passedAt: outcome.status === "pass" ? (before?.passedAt ?? now) : null,
        updatedAt: now,
        solvedBy: outcome.status === "pass" ? (before?.solvedBy ?? null) : null,
      });
      if (!before || before.status !== outcome.status || JSON.stringify(outcome.checks) !== before.checks) changed = true;
      if (outcome.status === "fail") break;
    }
    if (changed) publish(row);
  }

  function publish(row: EnvironmentRow) {
    events.emit("environment", { environmentId: row.id, classId: row.classId });
  }

  async function createEnvironmentFor(learnerId: string, labId: string, classId: string | null) {
    lab(labId);
    const existing = store.liveEnvironmentOfLearner(learnerId);
    if (existing) return existing;
    const { id, params: p } = await machines.create();
    const now = Date.now();
    store.insertEnvironment({
      id,
      learnerId,
      classId,
      labId,
      params: JSON.stringify(p),
      createdAt: now,
      lastActiveAt: now,
    });
    const row = store.getEnvironment(id)!;
    // A lab that builds on others (12.2 on 12.1) starts with those solved, as if the learner had done them.
    const required = lab(labId).requires ?? [];
    const lastRequired = required.length ? lab(required.at(-1)!) : undefined;
    if (lastRequired?.steps.length) await solveUpTo(row, lastRequired.steps.at(-1)!.id, lastRequired.id);
    store.updateEnvironment(id, { labId });
    // First results so the step list shows real state, not "pending", from the start.
    scheduler.schedule(id);
    return store.getEnvironment(id)!;
  }

  function environmentView(row: EnvironmentRow, lang: Lang) {
    return {
      id: row.id,
      status: machines.status(row.id),
      lab: row.labId,
      classId: row.classId,
      params: params(row),
      steps: stepViews(row, lang),
    };
  }

  async function ensureRunning(row: EnvironmentRow) {
    machines.touch(row.id);
    store.updateEnvironment(row.id, { lastActiveAt: Date.now() });
    const status = machines.status(row.id);
    if (status === "stopped") {
      await machines.resume(row.id);
      scheduler.schedule(row.id);
    } else if (status === "missing") {
      throw new ApiError(410, "the machines of this environment are gone; reset it to get fresh ones");
    }
  }

  /** Runs the solve scripts of every step of the environment's labs up to and including `upTo`. */
  async function solveUpTo(row: EnvironmentRow, stepId: string, labId?: string) {
    const order = course.labs.flatMap((l) => l.steps.map((s) => ({ labId: l.id, stepId: s.id })));
    const target = order.findIndex((s) => s.stepId === stepId && (!labId || s.labId === labId));
    if (target < 0) throw new ApiError(400, `unknown step "${stepId}"`);
    await machines.waitReady(row.id);
    const p = params(row);
    const saved = new Map(store.stepResultsOf(row.id).map((r) => [r.stepId, r]));
    for (const s of order.slice(0, target + 1)) {
      const key = `${s.labId}/${s.stepId}`;
      if (saved.get(key)?.status === "pass") continue;
      await labs.solveStep(row.id, p, s.labId, s.stepId);
      const now = Date.now();
      store.upsertStepResult({
        environmentId: row.id,
        stepId: key,
        status: "pass",
        checks: "[]",
        sameFailures: 0,
        firstSeenAt: saved.get(key)?.firstSeenAt ?? now,
        passedAt: now,
        updatedAt: now,
        solvedBy: "solve",
      });
    }
    const targetLab = order[target]!.labId;
    const targetLabDef = lab(targetLab);
    // Fast-forwarding past a lab's last step moves the learner on to the next lab.
    const isLast = targetLabDef.steps.at(-1)?.id === stepId;
    const nextLab = course.labs[course.labs.findIndex((l) => l.id === targetLab) + 1];
    store.updateEnvironment(row.id, { labId: isLast && nextLab ? nextLab.id : targetLab });
    publish(row);
    await scheduler.now(row.id);
  }

  return {
    course,
    scheduler,
    authorize,
    environmentView,
    params,

    /** A self-paced learner: no account, a cookie and their own machines. */
    async startSelfPaced(learnerId: string | null, name: string | undefined, labId: string) {
      let id = learnerId;
      if (!id || !store.getLearner(id)) {
        id = randomId(12);
        store.insertLearner({ id, name: name || "Self-paced", createdAt: Date.now() });
      }
      const row = await createEnvironmentFor(id, labId, null);
      return { learnerId: id, environment: row };
    },

    async createEnvironment(principal: Principal | null, labId: string) {
      if (!principal) throw new ApiError(401, "sign in or join a class first");
      lab(labId);
      let learnerId: string;
      if (principal.kind === "learner") learnerId = principal.learnerId;
      else {
        // Automation by the instructor: each call gets a fresh anonymous learner.
        learnerId = randomId(12);
        store.insertLearner({ id: learnerId, name: "API", createdAt: Date.now() });
      }
      return createEnvironmentFor(learnerId, labId, null);
    },

    async open(row: EnvironmentRow) {
      await ensureRunning(row);
    },

    touch(environmentId: string) {
      machines.touch(environmentId);
    },

    async checkNow(row: EnvironmentRow) {
      await ensureRunning(row);
      await scheduler.now(row.id);
    },

    onPrompt(environmentId: string) {
      machines.touch(environmentId);
      scheduler.schedule(environmentId);
    },

    async solve(row: EnvironmentRow, stepId: string) {
      await ensureRunning(row);
      await solveUpTo(row, stepId);
    },

    /** "Skip to Lab 12.2": solve every step before that lab, then switch to it. */
    async switchLab(row: EnvironmentRow, labId: string) {
      await ensureRunning(row);
      const index = course.labs.findIndex((l) => l.id === labId);
      if (index < 0) lab(labId);
      const previous = course.labs[index - 1];
      if (previous && previous.steps.length > 0) await solveUpTo(row, previous.steps.at(-1)!.id, previous.id);
      store.updateEnvironment(row.id, { labId });
      publish(row);
      await scheduler.now(row.id);
    },

    async reset(row: EnvironmentRow) {
      scheduler.forget(row.id);
      await machines.reset(row.id, params(row));
      store.clearStepResults(row.id);
      store.updateEnvironment(row.id, { labId: course.labs[0]!.id, lastActiveAt: Date.now() });
      publish(row);
      scheduler.schedule(row.id);
    },

    async destroy(row: EnvironmentRow) {
      scheduler.forget(row.id);
      store.updateEnvironment(row.id, { destroyedAt: Date.now() });
      await machines.destroy(row.id);
      publish(row);
    },

    // ---- classes ---------------------------------------------------------------------------
    createClass(title: string, labIds: string[]) {
      for (const l of labIds) lab(l);
      const id = randomId(10);
      let joinCode = randomId(6, JOIN_ALPHABET);
      while (store.getClassByCode(joinCode)) joinCode = randomId(6, JOIN_ALPHABET);
      store.insertClass({ id, title, labs: JSON.stringify(labIds), joinCode, createdAt: Date.now() });
      return store.getClass(id)!;
    },

    getClass(classId: string) {
      const row = store.getClass(classId);
      if (!row) throw new ApiError(404, "no such class");
      return row;
    },

    async join(code: string, name: string, learnerId: string | null) {
      const cls = store.getClassByCode(code);
      if (!cls) throw new ApiError(404, "unknown join code: check the code your instructor shows");
      if (cls.endedAt) throw new ApiError(410, "this class has ended");
      let id = learnerId;
      const existing = id ? store.getLearner(id) : undefined;
      if (!existing || existing.classId !== cls.id) {
        id = randomId(12);
        store.insertLearner({ id, name, classId: cls.id, createdAt: Date.now() });
      }
      const labIds = JSON.parse(cls.labs) as string[];
      const row = await createEnvironmentFor(id!, labIds[0]!, cls.id);
      events.emit("class", { classId: cls.id });
      return { learnerId: id!, environment: row, class: cls };
    },

    progress(classId: string, lang: Lang) {
      const cls = store.getClass(classId);
      if (!cls) throw new ApiError(404, "no such class");
      const learners = store.listLearnersOfClass(classId);
      const envs = new Map(store.environmentsOfClass(classId).map((e) => [e.learnerId, e]));
      const labIds = JSON.parse(cls.labs) as string[];
      const now = Date.now();
      return {
        id: cls.id,
        title: cls.title,
        joinCode: cls.joinCode,
        endedAt: cls.endedAt,
        labs: labIds,
        steps: course.labs.filter((l) => labIds.includes(l.id)).flatMap((l) => l.steps.map((s) => ({ labId: l.id, id: s.id, title: s.title[lang] }))),
        learners: learners.map((learner) => {
          const env = envs.get(learner.id);
          const steps = env ? stepViews(env, lang).filter((s) => labIds.includes(s.labId)) : [];
          const current = steps.find((s) => s.status !== "pass");
          const sinceMs = current?.firstSeenAt ? now - current.firstSeenAt : 0;
          return {
            id: learner.id,
            name: learner.name,
            environmentId: env && !env.destroyedAt ? env.id : null,
            status: env && !env.destroyedAt ? machines.status(env.id) : "missing",
            lab: env?.labId ?? null,
            currentStep: current ? `${current.labId}/${current.id}` : null,
            timeOnStepMs: sinceMs,
            // Stuck: 10 minutes on one step, or the same check failing the same way 5 runs in a row.
            stuck: Boolean(current && (sinceMs > 10 * 60_000 || (current.sameFailures ?? 0) >= 5)),
            steps: steps.map((s) => ({
              labId: s.labId,
              id: s.id,
              status: s.status,
              solved: s.solved,
              passedAt: s.passedAt,
              sameFailures: s.sameFailures,
              failing: s.checks.filter((c) => !c.ok).map((c) => c.message),
            })),
          };
        }),
      };
    },

    exportCsv(classId: string, lang: Lang) {
      const p = this.progress(classId, lang);
      const quote = (v: string) => (/[",\n;]/.test(v) || /^[=+\-@]/.test(v) ? `"${v.replace(/^([=+\-@])/, "'$1").replace(/"/g, '""')}"` : v);
      const header = ["learner", ...p.steps.map((s) => `${s.labId}/${s.id}`), "passed", "total"];
      const rows = p.learners.map((l) => {
        const byKey = new Map(l.steps.map((s) => [`${s.labId}/${s.id}`, s]));
        const cells = p.steps.map((s) => {
          const r = byKey.get(`${s.labId}/${s.id}`);
          if (!r) return "pending";
          if (r.status === "pass") return r.solved ? "solved" : `pass ${new Date(r.passedAt ?? 0).toISOString()}`;
          return r.status;
        });
        const passed = l.steps.filter((s) => s.status === "pass").length;
        return [l.name, ...cells, String(passed), String(p.steps.length)];
      });
      return [header, ...rows].map((r) => r.map(quote).join(",")).join("\n") + "\n";
    },

    async endClass(classId: string) {
      const cls = store.getClass(classId);
      if (!cls) throw new ApiError(404, "no such class");
      store.updateClass(classId, { endedAt: cls.endedAt ?? Date.now() });
      for (const env of store.environmentsOfClass(classId)) {
        if (env.destroyedAt) continue;
        scheduler.forget(env.id);
        store.updateEnvironment(env.id, { destroyedAt: Date.now() });
        await machines.destroy(env.id).catch((e) => log(`[class ${classId}] destroy ${env.id}: ${String(e)}`));
      }
      events.emit("class", { classId });
    },

    poolStatus() {
      return machines.poolStatus();
    },

    prewarm(count: number) {
      machines.fillPool(count);
      return machines.poolStatus();
    },

    setPresenter(classId: string, change: { slide?: number; follow?: boolean }) {
      this.getClass(classId);
      store.updateClass(classId, {
        ...(change.slide !== undefined ? { presenterSlide: change.slide } : {}),
        ...(change.follow !== undefined ? { followSlides: change.follow } : {}),
      });
      events.emit("class", { classId });
    },

    dispose() {
      scheduler.dispose();
    },
  };
}

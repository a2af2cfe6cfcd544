// Class sessions: create, join by code, the live progress the dashboard shows, presenter mode,
// pre-warming, and ending (the machines go, the results stay).
import type { ClassProgressView, Lang, LearnerProgressView } from "@/lib/api-types";
import type { Course } from "@/lib/lab-schema";
import { randomId } from "../auth";
import type { Store } from "../db";
import type { EventBus } from "../events";
import { errors } from "./errors";
import { loadStates } from "./evaluation";
import type { Lifecycle } from "./lifecycle";
import type { CheckScheduler } from "./check-scheduler";
import { noticeView } from "./notices";
import type { Machines } from "./ports";
import { learnerStepCell, stepViews } from "./views";

/** Join codes: no 0/O, 1/I/L look-alikes, upper case to read aloud in class. */
const JOIN_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";

/** The dashboard's "stuck": this long on one step, or the same failure this often after changes. */
export const STUCK = { onStepMs: 10 * 60_000, sameFailures: 5 } as const;

export interface ClassesDeps {
  course: Course;
  store: Store;
  machines: Machines;
  events: EventBus;
  lifecycle: Lifecycle;
  scheduler: CheckScheduler;
  /** Ready environments kept when no class is expecting learners (MAILLAB_WARM_POOL). */
  basePool?: number;
  log: (line: string) => void;
}

export function createClasses({ course, store, machines, events, lifecycle, scheduler, basePool = 0, log }: ClassesDeps) {
  /**
   * Pre-warming reserves environments for a class's learners still to come: the warm pool keeps
   * `basePool` plus every running class's outstanding reservations. A learner of that class who
   * joins takes one reservation with its environment, so the pool does not build a replacement
   * while the rest of the class is joining (that would compete with them for the CPU and leave
   * a second set of machines behind); ending the class returns its unused ones.
   */
  const reserved = new Map<string, number>();
  function planPool(trim: boolean) {
    let n = basePool;
    for (const count of reserved.values()) n += count;
    machines.fillPool(n, { trim });
  }
  function getClass(classId: string) {
    const row = store.getClass(classId);
    if (!row) throw errors.noClass();
    return row;
  }

  function progress(classId: string, lang: Lang): ClassProgressView {
    const cls = getClass(classId);
    const ended = cls.endedAt !== null;
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
      learners: learners.map((learner): LearnerProgressView => {
        const env = envs.get(learner.id);
        const steps = env ? stepViews(course, env.labId, loadStates(store, env.id), lang).filter((s) => labIds.includes(s.labId)) : [];
        const current = steps.find((s) => s.current);
        const sinceMs = current?.firstSeenAt ? now - current.firstSeenAt : 0;
        const live = env && !env.destroyedAt;
        return {
          id: learner.id,
          name: learner.name,
          environmentId: env?.id ?? null,
          status: ended ? "ended" : live ? machines.status(env.id) : "missing",
          lab: env?.labId ?? null,
          currentStep: current ? `${current.labId}/${current.id}` : null,
          timeOnStepMs: ended ? 0 : sinceMs,
          stuck: !ended && Boolean(current && (sinceMs > STUCK.onStepMs || current.sameFailures >= STUCK.sameFailures)),
          steps: steps.map(learnerStepCell),
          notice: live && !ended ? noticeView(machines.notice(env.id), lang) : null,
        };
      }),
    };
  }

  return {
    getClass,
    progress,

    createClass(title: string, labIds: string[]) {
      for (const l of labIds) lifecycle.lab(l);
      const id = randomId(10);
      let joinCode = randomId(6, JOIN_ALPHABET);
      while (store.getClassByCode(joinCode)) joinCode = randomId(6, JOIN_ALPHABET);
      store.insertClass({ id, title, labs: JSON.stringify(labIds), joinCode, createdAt: Date.now() });
      return store.getClass(id)!;
    },

    async join(code: string, name: string, learnerId: string | null) {
      const cls = store.getClassByCode(code);
      if (!cls) throw errors.unknownJoinCode();
      if (cls.endedAt) throw errors.classEnded();
      let id = learnerId;
      const existing = id ? store.getLearner(id) : undefined;
      if (!existing || existing.classId !== cls.id) {
        id = randomId(12);
        store.insertLearner({ id, name, classId: cls.id, createdAt: Date.now() });
      }
      const labIds = JSON.parse(cls.labs) as string[];
      const fresh = !store.liveEnvironmentOfLearner(id!);
      const reservation = fresh && (reserved.get(cls.id) ?? 0) > 0;
      // Before the claim: the pool must not start a replacement for the member this learner takes.
      if (reservation) {
        reserved.set(cls.id, reserved.get(cls.id)! - 1);
        planPool(false);
      }
      let row;
      try {
        row = await lifecycle.createEnvironmentFor(id!, labIds[0]!, cls.id);
      } catch (error) {
        if (reservation) {
          reserved.set(cls.id, (reserved.get(cls.id) ?? 0) + 1);
          planPool(false);
        }
        throw error;
      }
      events.emit("class", { classId: cls.id });
      return { learnerId: id!, environment: row, class: cls };
    },

    /** Ends the class: its machines are removed, its learners keep their results (status "ended"). */
    async endClass(classId: string) {
      const cls = getClass(classId);
      store.updateClass(classId, { endedAt: cls.endedAt ?? Date.now() });
      if (reserved.delete(classId)) planPool(true);
      for (const env of store.environmentsOfClass(classId)) {
        if (env.destroyedAt) continue;
        scheduler.forget(env.id);
        store.updateEnvironment(env.id, { destroyedAt: Date.now() });
        await machines.destroy(env.id).catch((e) => log(`[class ${classId}] destroy ${env.id}: ${String(e)}`));
        events.emit("environment", { environmentId: env.id, classId });
      }
      events.emit("class", { classId });
    },

    poolStatus: () => machines.poolStatus(),

    /** Reserves `count` ready environments for learners of this class still to join (0 cancels). */
    prewarm(classId: string, count: number) {
      const cls = getClass(classId);
      if (cls.endedAt) throw errors.classEnded();
      if (count > 0) reserved.set(classId, count);
      else reserved.delete(classId);
      planPool(true);
      return { ...machines.poolStatus(), reserved: count };
    },

    /** The pool's progress towards this class's reservation. */
    prewarmStatus(classId: string) {
      getClass(classId);
      return { ...machines.poolStatus(), reserved: reserved.get(classId) ?? 0 };
    },

    setPresenter(classId: string, change: { slide?: number; follow?: boolean }) {
      getClass(classId);
      store.updateClass(classId, {
        ...(change.slide !== undefined ? { presenterSlide: change.slide } : {}),
        ...(change.follow !== undefined ? { followSlides: change.follow } : {}),
      });
      events.emit("class", { classId });
    },
  };
}

export type Classes = ReturnType<typeof createClasses>;

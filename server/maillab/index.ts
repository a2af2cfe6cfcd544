// server/maillab: the product's rules. Composes the modules that each hold one part:
//   lifecycle.ts        an environment from start to end (create, open, solve, switch, reset, destroy)
//   evaluation*.ts      the learning loop: what to check when, lasting progress, moving on
//   check-scheduler.ts  when evaluations run (prompts, Enter, follow-ups, "check now")
//   classes.ts          class sessions, the dashboard's progress, presenter mode, pre-warm, end
//   views.ts, csv.ts    what the API and the export show
// The ports (./ports.ts) are the machines (server/docker) and the labs (server/labs).
import type { EnvironmentView, Lang } from "@/lib/api-types";
import type { Principal } from "../auth";
import { randomId } from "../auth";
import type { EnvironmentRow, Store } from "../db";
import type { EventBus } from "../events";
import { createCheckScheduler } from "./check-scheduler";
import { createClasses } from "./classes";
import { classCsv } from "./csv";
import { errors } from "./errors";
import { createEvaluator } from "./evaluation";
import { createLifecycle } from "./lifecycle";
import type { Labs, Machines } from "./ports";

export interface MaillabDeps {
  store: Store;
  machines: Machines;
  labs: Labs;
  events: EventBus;
  /** Ready environments kept when no class is expecting learners (MAILLAB_WARM_POOL). */
  basePool?: number;
  log?: (line: string) => void;
}

export type Maillab = ReturnType<typeof createMaillab>;

export function createMaillab({ store, machines, labs, events, basePool = 0, log = console.log }: MaillabDeps) {
  const course = labs.course;
  const evaluator = createEvaluator({ course, store, labs, machines, events, ...(process.env.MAILLAB_DEBUG_CHECKS === "1" ? { debug: log } : {}) });
  const scheduler = createCheckScheduler({
    run: (id, { force }) => evaluator.evaluate(id, { force }),
    onError: (id, error) => log(`[checks] ${id}: ${error instanceof Error ? error.message : String(error)}`),
  });
  const lifecycle = createLifecycle({ course, store, machines, labs, events, scheduler, evaluator });
  const classes = createClasses({ course, store, machines, events, lifecycle, scheduler, basePool, log });
  // The machines changed on their own (killed, removed, stopped over the disk limit) or by an operation:
  // the learner's page and the dashboard hear of it through the event streams.
  const offMachines = machines.onChange((id) => {
    const row = store.getEnvironment(id);
    if (row && !row.destroyedAt) lifecycle.publish(row);
  });

  return {
    course,
    scheduler,
    authorize: lifecycle.authorize,
    environmentView: (row: EnvironmentRow, lang: Lang): EnvironmentView => lifecycle.view(row, lang),

    /** A self-paced learner: no account, a cookie and their own machines. */
    async startSelfPaced(learnerId: string | null, name: string | undefined, labId: string) {
      let id = learnerId;
      if (!id || !store.getLearner(id)) {
        id = randomId(12);
        store.insertLearner({ id, name: name || "Self-paced", createdAt: Date.now() });
      }
      const row = await lifecycle.createEnvironmentFor(id, labId, null);
      return { learnerId: id, environment: row };
    },

    async createEnvironment(principal: Principal | null, labId: string) {
      if (!principal) throw errors.signIn();
      lifecycle.lab(labId);
      let learnerId: string;
      if (principal.kind === "learner") learnerId = principal.learnerId;
      else {
        // Automation by the instructor: each call gets a fresh anonymous learner.
        learnerId = randomId(12);
        store.insertLearner({ id: learnerId, name: "API", createdAt: Date.now() });
      }
      return lifecycle.createEnvironmentFor(learnerId, labId, null);
    },

    open: lifecycle.open,
    touch: lifecycle.touch,
    checkNow: lifecycle.checkNow,
    onPrompt: lifecycle.onPrompt,
    onEnter: lifecycle.onEnter,
    solve: lifecycle.solve,
    switchLab: lifecycle.switchLab,
    reset: lifecycle.reset,
    destroy: lifecycle.destroy,
    reaped: lifecycle.reaped,

    createClass: classes.createClass,
    getClass: classes.getClass,
    join: classes.join,
    progress: classes.progress,
    exportCsv: (classId: string, lang: Lang) => classCsv(course, classes.progress(classId, lang), lang),
    endClass: classes.endClass,
    poolStatus: classes.poolStatus,
    prewarm: classes.prewarm,
    prewarmStatus: classes.prewarmStatus,
    setPresenter: classes.setPresenter,

    dispose() {
      offMachines();
      scheduler.dispose();
    },
  };
}

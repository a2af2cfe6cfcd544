import { EventEmitter } from "node:events";
import type { StepView } from "@/lib/api-types";

/** In-process pub/sub between the check scheduler, the API's SSE streams and the dashboard. */
export interface MaillabEvents {
  /** An environment's step results or status changed. */
  environment: { environmentId: string; classId: string | null };
  /** A class changed: learner joined, presenter slide moved, class ended, pre-warm progress. */
  class: { classId: string };
  /** Check results of one environment, pushed to its learner and the class dashboard. */
  results: { environmentId: string; classId: string | null; steps: StepView[] };
}

export function createEventBus() {
  const emitter = new EventEmitter();
  // One SSE stream per open page: many listeners are normal here.
  emitter.setMaxListeners(0);
  return {
    emit<K extends keyof MaillabEvents>(name: K, payload: MaillabEvents[K]) {
      emitter.emit(name, payload);
    },
    /** Returns the function that removes the listener again. */
    on<K extends keyof MaillabEvents>(name: K, listener: (payload: MaillabEvents[K]) => void): () => void {
      emitter.on(name, listener);
      return () => emitter.off(name, listener);
    },
  };
}
export type EventBus = ReturnType<typeof createEventBus>;

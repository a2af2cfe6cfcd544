/**
 * Runs an environment's checks after the learner's commands, debounced, one run per
 * environment at a time, with a global cap so 100 busy environments can't swamp 2 cores.
 */
export interface CheckSchedulerOptions {
  run: (environmentId: string) => Promise<void>;
  /** Wait this long after the last prompt before checking: typing `ls; ls; ls` triggers one run. */
  debounceMs?: number;
  /** Check runs at once across all environments; each run execs a handful of short scripts. */
  maxConcurrent?: number;
  onError?: (environmentId: string, error: unknown) => void;
}

export function createCheckScheduler({ run, debounceMs = 300, maxConcurrent = 6, onError }: CheckSchedulerOptions) {
  const timers = new Map<string, NodeJS.Timeout>();
  const running = new Set<string>();
  /** Asked again while running: run once more afterwards (never more than once queued). */
  const dirty = new Set<string>();
  const waiting: string[] = [];
  const idleWaiters = new Map<string, Array<() => void>>();
  let disposed = false;

  function pump() {
    while (running.size < maxConcurrent && waiting.length > 0) {
      const id = waiting.shift()!;
      running.add(id);
      void run(id)
        .catch((error) => onError?.(id, error))
        .finally(() => {
          running.delete(id);
          if (dirty.delete(id) && !disposed) enqueue(id);
          else for (const resolve of idleWaiters.get(id)?.splice(0) ?? []) resolve();
          pump();
        });
    }
  }

  function enqueue(id: string) {
    if (running.has(id)) {
      dirty.add(id);
      return;
    }
    if (!waiting.includes(id)) waiting.push(id);
    pump();
  }

  return {
    /** A prompt appeared in one of the environment's terminals. */
    schedule(id: string) {
      if (disposed) return;
      clearTimeout(timers.get(id));
      timers.set(
        id,
        setTimeout(() => {
          timers.delete(id);
          enqueue(id);
        }, debounceMs),
      );
    },
    /** Check now (API / button) and resolve when the run that covers this request finished. */
    async now(id: string): Promise<void> {
      clearTimeout(timers.get(id));
      timers.delete(id);
      const done = new Promise<void>((resolve) => {
        const list = idleWaiters.get(id) ?? [];
        list.push(resolve);
        idleWaiters.set(id, list);
      });
      enqueue(id);
      await done;
    },
    forget(id: string) {
      clearTimeout(timers.get(id));
      timers.delete(id);
      dirty.delete(id);
    },
    dispose() {
      disposed = true;
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
    },
  };
}

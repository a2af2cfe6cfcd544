/**
 * When an environment is evaluated: after the learner's commands (a prompt), after Enter inside
 * an interactive program (telnet, imtest), shortly after those again (a mail is delivered a moment
 * after `250 queued`, a reload finishes after the prompt), when a gate asks to be asked again, and
 * on request. One run per environment at a time (a request during a run makes exactly one more
 * run afterwards) and a global cap on runs at once. A run is cheap when nothing changed (one
 * fingerprint script over an open channel), so the follow-ups cost almost nothing.
 */
export interface CheckSchedulerOptions {
  run: (environmentId: string, options: { force: boolean }) => Promise<{ retryAfterMs?: number } | void>;
  /** Runs at once across all environments. Each is a handful of short scripts in the machines. */
  maxConcurrent?: number;
  onError?: (environmentId: string, error: unknown) => void;
}

/**
 * Delays in ms, measured on the 2-core reference machine (docs/performance.md "learning loop"):
 * - prompt: the command is done; a short wait merges `a; b; c` typed on one line (one prompt each
 *   only if the learner types them one by one).
 * - enter: inside telnet each line is one SMTP command; wait for the server's answer.
 * - follow-ups: local delivery lands in mail.log 0.1-0.8 s after "250 queued" (more on a busy
 *   host); `postfix reload` restarts qmgr a moment after the prompt returned. Three late looks
 *   catch both; each costs one fingerprint (~20 ms in the machine) when nothing changed.
 */
export const SCHEDULE = {
  promptMs: 60,
  enterMs: 350,
  followUpsMs: [400, 1000, 2200],
} as const;

export function createCheckScheduler({ run, maxConcurrent = 8, onError }: CheckSchedulerOptions) {
  const timers = new Map<string, Set<NodeJS.Timeout>>();
  const running = new Set<string>();
  /** Asked again while running: run once more afterwards (never more than once queued). */
  const dirty = new Map<string, { force: boolean }>();
  const waiting = new Map<string, { force: boolean }>();
  /** Runs started per environment so far, and who waits for the run numbered `after` or later to end. */
  const startedRuns = new Map<string, number>();
  const runWaiters = new Map<string, Array<{ after: number; resolve: () => void }>>();
  /** A new environment's first look, made unnecessary by any run that comes before it. */
  const firstLooks = new Map<string, NodeJS.Timeout>();
  /** Environments whose step results someone else is writing (solve scripts): no run starts meanwhile. */
  const held = new Map<string, number>();
  let disposed = false;

  function pump() {
    for (const [id, options] of waiting) {
      if (running.size >= maxConcurrent) break;
      if (held.has(id)) continue;
      waiting.delete(id);
      running.add(id);
      const seq = (startedRuns.get(id) ?? 0) + 1;
      startedRuns.set(id, seq);
      clearTimeout(firstLooks.get(id));
      firstLooks.delete(id);
      void run(id, options)
        .then((result) => {
          if (result?.retryAfterMs !== undefined) later(id, result.retryAfterMs);
        })
        .catch((error) => onError?.(id, error))
        .finally(() => {
          running.delete(id);
          settle(id, seq);
          const again = dirty.get(id);
          dirty.delete(id);
          if (again && !disposed) enqueue(id, again.force);
          pump();
        });
    }
  }

  function enqueue(id: string, force: boolean) {
    if (disposed) return;
    const target = running.has(id) ? dirty : waiting;
    target.set(id, { force: force || (target.get(id)?.force ?? false) });
    pump();
  }

  function later(id: string, delayMs: number) {
    if (disposed) return;
    const set = timers.get(id) ?? new Set();
    timers.set(id, set);
    const timer = setTimeout(() => {
      set.delete(timer);
      enqueue(id, false);
    }, delayMs);
    set.add(timer);
  }

  /** Resolves when the environment's run numbered `after` (or a later one) has finished. */
  function afterRun(id: string, after: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const list = runWaiters.get(id) ?? [];
      list.push({ after, resolve });
      runWaiters.set(id, list);
    });
  }

  /** Resolves the waiters whose run has now finished (not a later follow-up: those may keep coming). */
  function settle(id: string, finished: number) {
    const list = runWaiters.get(id);
    if (!list) return;
    const still = list.filter((w) => w.after > finished);
    for (const w of list) if (w.after <= finished) w.resolve();
    if (still.length) runWaiters.set(id, still);
    else runWaiters.delete(id);
  }

  function clearTimers(id: string) {
    for (const t of timers.get(id) ?? []) clearTimeout(t);
    timers.delete(id);
  }

  return {
    /** A prompt appeared in one of the environment's terminals: a command finished. */
    prompt(id: string) {
      later(id, SCHEDULE.promptMs);
      for (const ms of SCHEDULE.followUpsMs) later(id, ms);
    },
    /** Enter inside a terminal (maybe inside telnet, where no prompt marks a finished command). */
    enter(id: string) {
      later(id, SCHEDULE.enterMs);
      for (const ms of SCHEDULE.followUpsMs) later(id, SCHEDULE.enterMs + ms);
    },
    /** Evaluate soon (a new environment, resumed machines, a lab switched). */
    schedule(id: string, delayMs = 0) {
      later(id, delayMs);
    },
    /** A new environment's first results, after `delayMs` unless something else evaluated it first. */
    first(id: string, delayMs: number) {
      if (disposed) return;
      clearTimeout(firstLooks.get(id));
      firstLooks.set(
        id,
        setTimeout(() => {
          firstLooks.delete(id);
          enqueue(id, false);
        }, delayMs),
      );
    },
    /**
     * Check now ("Jetzt prüfen" / API) and resolve when the run that covers this request finished:
     * the next run to start (a run in progress read the machines before the request). Follow-up
     * looks queued behind it are not waited for: right after a command they would add up to 2.2 s.
     */
    async now(id: string): Promise<void> {
      const done = afterRun(id, (startedRuns.get(id) ?? 0) + 1);
      enqueue(id, true);
      await done;
    },
    /**
     * Runs `fn` while no evaluation of `id` runs: waits for the current one to end and holds new
     * ones until `fn` is done. A run that started before the solve scripts and wrote afterwards
     * would otherwise store their effect as the learner's own pass.
     */
    async exclusive<T>(id: string, fn: () => Promise<T>): Promise<T> {
      held.set(id, (held.get(id) ?? 0) + 1);
      try {
        // The run in progress is the last one to start until the hold ends.
        while (running.has(id)) await afterRun(id, startedRuns.get(id)!);
        return await fn();
      } finally {
        const n = held.get(id)! - 1;
        if (n > 0) held.set(id, n);
        else held.delete(id);
        pump();
      }
    },
    forget(id: string) {
      clearTimers(id);
      clearTimeout(firstLooks.get(id));
      firstLooks.delete(id);
      dirty.delete(id);
      waiting.delete(id);
      for (const w of runWaiters.get(id)?.splice(0) ?? []) w.resolve();
      runWaiters.delete(id);
    },
    dispose() {
      disposed = true;
      for (const id of [...timers.keys()]) clearTimers(id);
      for (const timer of firstLooks.values()) clearTimeout(timer);
      firstLooks.clear();
      waiting.clear();
      dirty.clear();
      for (const list of runWaiters.values()) for (const w of list.splice(0)) w.resolve();
    },
  };
}

export type CheckScheduler = ReturnType<typeof createCheckScheduler>;

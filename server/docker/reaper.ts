// Idle stop and TTL (docs/design.md §3 "Lifecycle"): environments nobody used for `idleStopMs` are stopped
// (docker stop keeps their files; resume brings them back) and those unused for `ttlMs` are destroyed.
// Deciding is pure (planReap) so it can be unit tested; the manager carries it out.

export interface ReapCandidate {
  id: string;
  status: "creating" | "running" | "stopped" | "error" | "missing";
  /** Last `touch()` (or create/resume/adoption), ms since the epoch. */
  lastActiveAt: number;
  /** Unclaimed warm-pool members are never reaped: they are meant to wait. */
  pooled: boolean;
  /** An operation (create, resume, reset ...) is running on it. */
  busy: boolean;
}

export interface ReapPolicy {
  /** 0 or Infinity: never stop idle environments. */
  idleStopMs: number;
  /** 0 or Infinity: never destroy. Measured from the last activity, like idleStopMs. */
  ttlMs: number;
}

export interface ReapPlan {
  stop: string[];
  destroy: string[];
}

function enabled(ms: number): boolean {
  return Number.isFinite(ms) && ms > 0;
}

export function planReap(candidates: Iterable<ReapCandidate>, policy: ReapPolicy, now: number): ReapPlan {
  const plan: ReapPlan = { stop: [], destroy: [] };
  for (const env of candidates) {
    if (env.pooled || env.busy) continue;
    const idle = now - env.lastActiveAt;
    if (enabled(policy.ttlMs) && idle >= policy.ttlMs) plan.destroy.push(env.id);
    else if (enabled(policy.idleStopMs) && idle >= policy.idleStopMs && env.status === "running") plan.stop.push(env.id);
  }
  return plan;
}

/**
 * How often the reaper looks: a tenth of the idle time so an environment stops at most ~10% late,
 * but not more often than every 5 s (each tick walks all environments) nor less than every minute.
 */
export function reapIntervalMs(policy: ReapPolicy): number {
  const idle = enabled(policy.idleStopMs) ? policy.idleStopMs : enabled(policy.ttlMs) ? policy.ttlMs : 60_000;
  return Math.min(60_000, Math.max(5_000, Math.round(idle / 10)));
}

/** Calls `tick` every `intervalMs`, never overlapping itself; `stop()` clears the timer. */
export function startReaper(tick: () => Promise<void>, intervalMs: number): { stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      tick().catch(() => undefined).finally(schedule);
    }, intervalMs);
    timer.unref(); // the reaper alone must not keep the process alive
  };
  schedule();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

// Warm pool (docs/design.md §3 and §7: ≤ 0.2 s from the pool): ready environments waiting to be claimed.
// Members are built one at a time in the background — the machine has 2 cores and learners'
// own creates come first — and waiting members are trimmed when the target shrinks.

export interface WarmPoolDeps {
  /** Builds one member and returns its id once it is running. */
  createMember(): Promise<string>;
  destroyMember(id: string): Promise<void>;
  /** Resolves when no learner-facing create is in flight (the pool yields to them). */
  whenQuiet(): Promise<void>;
  log(line: string): void;
}

/** After a failed build (image missing, engine down) wait this long, doubling up to the max, instead of spinning. */
const RETRY_MIN_MS = 2_000;
const RETRY_MAX_MS = 60_000;

export class WarmPool {
  private target = 0;
  private trim = false;
  private readonly ready: string[] = [];
  private running = false;
  private disposed = false;
  private retryMs = RETRY_MIN_MS;
  private retryTimer: NodeJS.Timeout | undefined;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly deps: WarmPoolDeps) {}

  /**
   * Sets how many ready members to keep and builds up to it in the background. Extra members are
   * removed only with `trim` (the default): at start-up, members pre-warmed for a class before a
   * restart are kept and handed out first.
   */
  setTarget(n: number, { trim = true }: { trim?: boolean } = {}): void {
    if (!Number.isInteger(n) || n < 0) throw new Error(`pool size must be a whole number ≥ 0, got ${n}`);
    this.target = n;
    this.trim = trim;
    this.kick();
  }

  status(): { ready: number; target: number; filling: boolean } {
    return { ready: this.ready.length, target: this.target, filling: this.running };
  }

  /** Adds a member found at start-up (adopted) or just built. */
  add(id: string): void {
    if (!this.ready.includes(id)) this.ready.push(id);
    this.kick();
  }

  has(id: string): boolean {
    return this.ready.includes(id);
  }

  /** Forgets a member (it was destroyed or broke). */
  remove(id: string): void {
    const at = this.ready.indexOf(id);
    if (at >= 0) this.ready.splice(at, 1);
    this.kick();
  }

  /**
   * The oldest ready member, removed from the pool, or undefined. Call `refill()` once the member is
   * handed out: building the replacement right away would slow down the claim itself.
   */
  take(): string | undefined {
    return this.ready.shift();
  }

  refill(): void {
    this.kick();
  }

  /** Resolves once the pool has reached its target and stopped working (tests, benchmarks). */
  settled(): Promise<void> {
    if (!this.running && this.ready.length >= this.target) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.retryTimer);
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private kick(): void {
    if (this.running || this.disposed || this.retryTimer) return;
    this.running = true;
    void this.loop().finally(() => {
      this.running = false;
      if (this.disposed || this.retryTimer) return;
      // A take()/setTarget() while the loop was finishing found it still running: look again.
      if (this.needsWork()) return this.kick();
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    });
  }

  private needsWork(): boolean {
    return this.ready.length < this.target || (this.trim && this.ready.length > this.target);
  }

  private async loop(): Promise<void> {
    while (!this.disposed) {
      if (this.ready.length > this.target) {
        if (!this.trim) return;
        const extra = this.ready.pop()!;
        await this.deps.destroyMember(extra).catch((e: unknown) => this.deps.log(`warm pool: removing ${extra} failed: ${String(e)}`));
        continue;
      }
      if (this.ready.length === this.target) {
        this.trim = false; // later extras (adopted) are kept again until the next setTarget
        return;
      }
      await this.deps.whenQuiet();
      if (this.disposed || this.ready.length >= this.target) continue;
      try {
        const id = await this.deps.createMember();
        if (this.disposed) return; // dispose() during a build: the member stays and is adopted at next start
        this.ready.push(id);
        this.retryMs = RETRY_MIN_MS;
      } catch (error) {
        this.deps.log(`warm pool: building a member failed (retry in ${this.retryMs / 1000} s): ${error instanceof Error ? error.message : String(error)}`);
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.kick();
        }, this.retryMs);
        this.retryTimer.unref();
        this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
        return;
      }
    }
  }
}

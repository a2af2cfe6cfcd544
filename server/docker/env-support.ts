// Small pieces the environment runtimes share (./environments.ts, ./swarm-environments.ts): Docker error
// handling, one operation at a time per environment, and the line of learner-facing creates.

export class EnvironmentError extends Error {
  constructor(
    message: string,
    readonly code: "not-found" | "not-running" | "failed",
  ) {
    super(message);
    this.name = "EnvironmentError";
  }
}

export function statusCode(error: unknown): number | undefined {
  return (error as { statusCode?: number })?.statusCode;
}

export function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Ignores "not found" (already gone) and "not modified" (already started/stopped). */
export async function tolerate(promise: Promise<unknown>, codes: number[] = [304, 404]): Promise<void> {
  try {
    await promise;
  } catch (error) {
    if (!codes.includes(statusCode(error) ?? 0)) throw error;
  }
}

/** Like Promise.all, but waits for every promise before rejecting: no create is still in flight when
 * the caller cleans up after a failure (else an object could appear after its removal). */
export async function settleAll<T extends unknown[]>(promises: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as T;
}

/** ms since the epoch with sub-ms resolution (bench timings). */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** An environment's operations run one after another: `lock` is the last one's end, `busy` how many run. */
export interface Lockable {
  lock: Promise<void>;
  busy: number;
}

export async function withLock<T>(record: Lockable, fn: () => Promise<T>): Promise<T> {
  const previous = record.lock;
  let release!: () => void;
  record.lock = new Promise((resolve) => (release = resolve));
  await previous;
  record.busy++;
  try {
    return await fn();
  } finally {
    record.busy--;
    release();
  }
}

/** Learner-facing creates at once; more wait in line (the warm pool waits until none is in flight). */
export class CreateSlots {
  private active = 0;
  private readonly queue: Array<() => void> = [];
  private quietWaiters: Array<() => void> = [];

  constructor(private readonly max: number) {}

  async acquire(): Promise<void> {
    if (this.active < this.max) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.queue.push(resolve)); // the slot is handed over, still counted
  }

  release(): void {
    const next = this.queue.shift();
    if (next) return next();
    this.active--;
    if (this.active === 0) for (const resolve of this.quietWaiters.splice(0)) resolve();
  }

  /** Creates being built now and waiting for a slot (the start and join pages show it). */
  status(): { running: number; waiting: number } {
    return { running: this.active, waiting: this.queue.length };
  }

  whenQuiet(): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => this.quietWaiters.push(resolve));
  }
}

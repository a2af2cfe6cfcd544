/**
 * Counts *failures* (a wrong password, an unknown join code), never successes: people who get it
 * right are never slowed down by how many others got it right before them from the same address.
 * Sliding window of timestamps, so a burst cannot use two windows back to back.
 *
 * A key (an address, a device) that has `perKey` failures within `windowMs` is refused until the
 * oldest of them ages out. Across all keys, once `global` failures happened within the window, a
 * key with even one failure of its own is refused too: an attacker spread over many addresses
 * gets one guess per address and window, while keys without failures (the class, the instructor
 * who typed it right) are not affected. The numbers and why are in server/auth/index.ts and
 * docs/security.md.
 */
export interface FailureLimits {
  perKey: number;
  /** Failures of all keys together before keys with any failure are refused; Infinity = no global rule. */
  global: number;
  windowMs: number;
}

/** Keys kept at most; beyond it the ones without a recent failure are swept (memory stays bounded). */
const MAX_KEYS = 50_000;

export function createFailureLimiter(limits: FailureLimits) {
  const byKey = new Map<string, number[]>();
  // Only the newest `global` timestamps matter for the global rule.
  let all: number[] = [];

  const recent = (times: number[], now: number) => {
    let i = 0;
    while (i < times.length && now - times[i]! >= limits.windowMs) i++;
    return i ? times.slice(i) : times;
  };

  function sweep(now: number) {
    for (const [key, times] of byKey) {
      const kept = recent(times, now);
      if (kept.length) byKey.set(key, kept);
      else byKey.delete(key);
    }
  }

  return {
    /** Seconds `key` must wait before its next attempt counts, or 0 when it may try now. */
    check(key: string, now = Date.now()): number {
      const times = recent(byKey.get(key) ?? [], now);
      if (times.length) byKey.set(key, times);
      else byKey.delete(key);
      const retryIn = (oldest: number) => Math.max(1, Math.ceil((oldest + limits.windowMs - now) / 1000));
      if (times.length >= limits.perKey) return retryIn(times[times.length - limits.perKey]!);
      all = recent(all, now);
      // Allowed again when its own failures have aged out, or the global count has dropped.
      if (times.length > 0 && all.length >= limits.global) return retryIn(Math.min(times[times.length - 1]!, all[all.length - limits.global]!));
      return 0;
    },

    /** Records one failure of `key`; returns its timestamp (for `forgive`). */
    fail(key: string, now = Date.now()): number {
      const times = recent(byKey.get(key) ?? [], now);
      times.push(now);
      // Only the newest perKey timestamps decide anything.
      byKey.set(key, times.length > limits.perKey ? times.slice(-limits.perKey) : times);
      if (Number.isFinite(limits.global)) {
        all = recent(all, now);
        all.push(now);
        if (all.length > limits.global) all = all.slice(-limits.global);
      }
      if (byKey.size > MAX_KEYS) sweep(now);
      return now;
    },

    /**
     * Takes back one failure recorded at `at` (an attempt counted in advance that succeeded):
     * attempts are counted before the slow check runs, so concurrent guesses cannot all slip
     * through while none has failed yet.
     */
    forgive(key: string, at: number): void {
      const drop = (times: number[]) => {
        const i = times.lastIndexOf(at);
        if (i >= 0) times.splice(i, 1);
      };
      const times = byKey.get(key);
      if (times) {
        drop(times);
        if (!times.length) byKey.delete(key);
      }
      drop(all);
    },

    /** Failures of `key` within the window (for tests and diagnostics). */
    failures(key: string, now = Date.now()): number {
      return recent(byKey.get(key) ?? [], now).length;
    },
  };
}

export type FailureLimiter = ReturnType<typeof createFailureLimiter>;

/**
 * Successful actions per key within a window (joins per class code): bounds what one leaked code
 * can create, independent of failures.
 */
export function createCountLimiter({ limit, windowMs }: { limit: number; windowMs: number }) {
  const limiter = createFailureLimiter({ perKey: limit, global: Infinity, windowMs });
  return {
    check: (key: string, now?: number) => limiter.check(key, now),
    count: (key: string, now?: number) => void limiter.fail(key, now),
  };
}

/**
 * The key of a client address for limits: IPv4 as is (an IPv4-mapped IPv6 address as its IPv4),
 * IPv6 by its /64, because one subscriber usually holds a whole /64 and could rotate through it.
 */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(":")) return address || "unknown";
  const [head = "", tail = ""] = address.toLowerCase().split("%")[0]!.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = address.includes("::") ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, "")).join(":")}::/64`;
}

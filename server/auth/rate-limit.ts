/**
 * Fixed-window counter per key (IP address). Join codes are 6 characters from a
 * 27-letter alphabet (~387M codes): 10 attempts a minute per address makes guessing hopeless.
 */
export function createRateLimiter({ limit, windowMs }: { limit: number; windowMs: number }) {
  const windows = new Map<string, { start: number; count: number }>();
  return {
    /** Counts one attempt; returns the seconds to wait when over the limit, else 0. */
    hit(key: string, now = Date.now()): number {
      const w = windows.get(key);
      if (!w || now - w.start >= windowMs) {
        windows.set(key, { start: now, count: 1 });
        if (windows.size > 10_000) {
          for (const [k, v] of windows) if (now - v.start >= windowMs) windows.delete(k);
        }
        return 0;
      }
      w.count += 1;
      return w.count > limit ? Math.ceil((w.start + windowMs - now) / 1000) : 0;
    },
  };
}

import { describe, expect, it } from "vitest";
import { addressKey, createFailureLimiter } from "./rate-limit";

const MIN = 60_000;

describe("failure limiter", () => {
  it("refuses a key after perKey failures until the oldest ages out of the sliding window", () => {
    const l = createFailureLimiter({ perKey: 3, global: Infinity, windowMs: 10 * MIN });
    for (let i = 0; i < 3; i++) {
      expect(l.check("a", i * MIN)).toBe(0);
      l.fail("a", i * MIN);
    }
    // Oldest failure at 0 ages out at 10 min: wait 7 min from minute 3.
    expect(l.check("a", 3 * MIN)).toBe(7 * 60);
    expect(l.check("b", 3 * MIN)).toBe(0);
    expect(l.check("a", 10 * MIN)).toBe(0);
  });

  it("never counts successes: attempts taken back with forgive leave no trace", () => {
    const l = createFailureLimiter({ perKey: 2, global: 5, windowMs: MIN });
    for (let i = 0; i < 100; i++) {
      expect(l.check("class", 1000 + i)).toBe(0);
      l.forgive("class", l.fail("class", 1000 + i));
    }
    expect(l.failures("class", 2000)).toBe(0);
  });

  it("past the global budget, keys with a failure of their own wait; keys without failures do not", () => {
    const l = createFailureLimiter({ perKey: 10, global: 5, windowMs: MIN });
    for (let i = 0; i < 5; i++) l.fail(`bot-${i}`, 1000);
    expect(l.check("bot-0", 2000)).toBeGreaterThan(0);
    expect(l.check("fresh", 2000)).toBe(0);
    l.fail("fresh", 2000);
    expect(l.check("fresh", 2001)).toBeGreaterThan(0);
    // The global failures age out: everyone may try again.
    expect(l.check("bot-0", 1000 + MIN)).toBe(0);
  });

  it("keeps memory bounded: a key holds at most perKey timestamps", () => {
    const l = createFailureLimiter({ perKey: 3, global: Infinity, windowMs: MIN });
    for (let i = 0; i < 1000; i++) l.fail("a", i);
    expect(l.failures("a", 1000)).toBe(3);
  });
});

describe("addressKey", () => {
  it("uses IPv4 as is, unwraps IPv4-mapped IPv6 and groups IPv6 by /64", () => {
    expect(addressKey("192.0.2.7")).toBe("192.0.2.7");
    expect(addressKey("::ffff:192.0.2.7")).toBe("192.0.2.7");
    expect(addressKey("2001:db8:0:1:aaaa::1")).toBe("2001:db8:0:1::/64");
    expect(addressKey("2001:db8:0:1:bbbb:cccc:dddd:eeee")).toBe("2001:db8:0:1::/64");
    expect(addressKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(addressKey("::1")).toBe("0:0:0:0::/64");
    expect(addressKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
  });
});

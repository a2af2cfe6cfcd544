import { describe, expect, it } from "vitest";
import { SubnetPool, hostAddress, parseCidr } from "./subnet-pool";

describe("SubnetPool", () => {
  it("hands out consecutive /28s and the machines' fixed addresses", () => {
    const pool = new SubnetPool("10.213.0.0/16");
    expect(pool.size).toBe(4096);
    expect(pool.allocate()).toBe("10.213.0.0/28");
    expect(pool.allocate()).toBe("10.213.0.16/28");
    expect(hostAddress("10.213.0.16/28", 2)).toBe("10.213.0.18");
    expect(hostAddress("10.213.0.16/28", 3)).toBe("10.213.0.19");
  });

  it("skips subnets Docker already uses, including larger overlapping networks", () => {
    const pool = new SubnetPool("10.213.0.0/24");
    pool.markUsed("10.213.0.0/28");
    pool.markUsed("10.213.0.32/27"); // covers two /28 slots
    pool.markUsed("172.17.0.0/16"); // outside: ignored
    pool.markUsed("fd00::/64"); // IPv6: ignored
    expect(pool.allocate()).toBe("10.213.0.16/28");
    expect(pool.allocate()).toBe("10.213.0.64/28");
  });

  it("marks the whole pool when a bigger network covers it", () => {
    const pool = new SubnetPool("10.213.0.0/26");
    pool.markUsed("10.0.0.0/8");
    expect(() => pool.allocate()).toThrow(/exhausted/);
  });

  it("does not hand out a released subnet again right away, but reuses it when the pool wraps", () => {
    const pool = new SubnetPool("10.213.0.0/26"); // 4 slots
    const first = pool.allocate();
    pool.allocate();
    pool.release(first);
    expect(pool.allocate()).toBe("10.213.0.32/28");
    expect(pool.allocate()).toBe("10.213.0.48/28");
    expect(pool.allocate()).toBe(first);
    expect(() => pool.allocate()).toThrow(/exhausted/);
  });

  it("takes a given subnet back when it is free", () => {
    const pool = new SubnetPool("10.213.0.0/24");
    expect(pool.take("10.213.0.48/28")).toBe(true);
    expect(pool.take("10.213.0.48/28")).toBe(false);
    expect(pool.take("10.99.0.0/28")).toBe(false); // not ours
    expect(pool.take("10.213.0.0/27")).toBe(false); // not a slot
    pool.release("10.213.0.48/28");
    expect(pool.take("10.213.0.48/28")).toBe(true);
  });

  it("rejects bad pools with a message naming the value", () => {
    expect(() => new SubnetPool("10.213.0.0")).toThrow(/10\.213\.0\.0/);
    expect(() => new SubnetPool("10.213.0.1/16")).toThrow(/host bits/);
    expect(() => new SubnetPool("10.213.0.0/29")).toThrow(/smaller/);
    expect(() => parseCidr("300.1.1.0/24")).toThrow();
  });
});

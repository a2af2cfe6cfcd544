import { describe, expect, it } from "vitest";
import { planReap, reapIntervalMs, type ReapCandidate } from "./reaper";

const minute = 60_000;
const env = (id: string, idleMinutes: number, extra: Partial<ReapCandidate> = {}): ReapCandidate => ({
  id,
  status: "running",
  lastActiveAt: 1_000_000_000 - idleMinutes * minute,
  pooled: false,
  busy: false,
  ...extra,
});

describe("planReap", () => {
  const policy = { idleStopMs: 30 * minute, ttlMs: 24 * 60 * minute };
  const now = 1_000_000_000;

  it("stops idle running environments and destroys expired ones", () => {
    const plan = planReap([env("fresh", 5), env("idle", 31), env("old", 25 * 60), env("stoppedidle", 31, { status: "stopped" })], policy, now);
    expect(plan).toEqual({ stop: ["idle"], destroy: ["old"] });
  });

  it("leaves pool members and environments in an operation alone", () => {
    expect(planReap([env("p", 99 * 60, { pooled: true }), env("b", 99 * 60, { busy: true })], policy, now)).toEqual({ stop: [], destroy: [] });
  });

  it("0 disables idle stop and TTL", () => {
    expect(planReap([env("a", 1e6)], { idleStopMs: 0, ttlMs: 0 }, now)).toEqual({ stop: [], destroy: [] });
  });

  it("looks often enough to stop within ~10% of the idle time", () => {
    expect(reapIntervalMs(policy)).toBe(60_000);
    expect(reapIntervalMs({ idleStopMs: 2 * minute, ttlMs: 0 })).toBe(12_000);
    expect(reapIntervalMs({ idleStopMs: 1000, ttlMs: 0 })).toBe(5_000);
  });
});

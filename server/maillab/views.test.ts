import { describe, expect, it } from "vitest";
import { ATTEMPT_GRACE_MS, stepViews } from "./views";
import { fakeCourse } from "./testing";
import type { StepState, StoredCheck } from "./step-state";

const failing = (checkedAt: number): StoredCheck => ({
  id: "listen",
  ok: false,
  message: { de: "lauscht nicht", en: "not listening" },
  hints: { de: ["`inet_interfaces = all`"], en: ["`inet_interfaces = all`"] },
  checkedAt,
});

function state(status: StepState["status"], checks: StoredCheck[], firstSeenAt: number): StepState {
  return { key: "l1/listen", status, checks, passedAt: status === "pass" ? 500 : null, solvedBy: null, broken: false, sameFailures: 0, firstSeenAt, updatedAt: firstSeenAt };
}

describe("step views: not done yet is not failed", () => {
  const course = fakeCourse();
  const listen = (s: StepState) => stepViews(course, "l1", new Map([[s.key, s]]), "de").find((v) => v.id === "listen")!;

  it("a failing step whose checks only ran when it became current is open, not attempted", () => {
    const v = listen(state("fail", [failing(1000)], 1000));
    expect(v).toMatchObject({ status: "fail", attempted: false, current: true });
    expect(listen(state("fail", [failing(900)], 1000)).attempted).toBe(false);
    // The follow-up looks after the command that finished the step before still belong to it.
    expect(listen(state("fail", [failing(1000 + ATTEMPT_GRACE_MS)], 1000)).attempted).toBe(false);
  });

  it("a failing step whose checks looked again later (a change, or 'check now') was attempted", () => {
    expect(listen(state("fail", [failing(1001 + ATTEMPT_GRACE_MS)], 1000))).toMatchObject({ status: "fail", attempted: true });
  });

  it("passed and pending steps are never 'attempted'", () => {
    expect(listen(state("pass", [{ ...failing(60_000), ok: true }], 1000)).attempted).toBe(false);
    const views = stepViews(course, "l1", new Map(), "en");
    expect(views.every((v) => v.status === "pending" && !v.attempted)).toBe(true);
  });
});

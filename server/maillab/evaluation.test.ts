// The learning loop's rules through fake ports (./testing.ts): which checks run when, lasting
// progress and "was done, now broken", moving on to the next lab, gates, and what counts as stuck.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createEvaluator, loadStates } from "./evaluation";
import { fakeCourse, fakeLabs, fakeMachines, PARAMS, tempStore, type World } from "./testing";
import { environmentView } from "./views";

let ctx: ReturnType<typeof setup>;

function setup() {
  const course = fakeCourse();
  const world: World = { inputs: { conf: "c0", svc: "s0", log: "l0" }, ok: {}, gate: { ok: true } };
  const { store, events, dispose } = tempStore();
  const machines = fakeMachines();
  const fake = fakeLabs(course, world);
  const published: string[] = [];
  events.on("environment", (e) => published.push(e.environmentId));
  const evaluator = createEvaluator({ course, store, labs: fake.labs, machines, events });
  const id = "env000000001";
  machines.statuses.set(id, "running");
  store.insertLearner({ id: "learner1", name: "Lena", createdAt: 1 });
  store.insertEnvironment({ id, learnerId: "learner1", classId: null, labId: "l1", params: JSON.stringify(PARAMS), createdAt: 1, lastActiveAt: 1 });
  const steps = () => environmentView(course, store.getEnvironment(id)!, loadStates(store, id), "running", "en").steps;
  const stepOf = (stepId: string) => steps().find((s) => s.id === stepId)!;
  return { course, world, store, events, machines, fake, evaluator, id, published, steps, stepOf, dispose, evaluate: (force = false) => evaluator.evaluate(id, { force }) };
}

beforeEach(() => {
  ctx = setup();
});
afterEach(() => ctx.dispose());

describe("evaluation", () => {
  it("checks the current step, leaves later steps pending, and shows a failure as the current step, not as done", async () => {
    const r = await ctx.evaluate();
    expect(r.ran).toBe(1);
    expect(ctx.fake.runs).toEqual({ listen: 1 });
    expect(ctx.stepOf("listen")).toMatchObject({ status: "fail", current: true, broken: false, passedAt: null });
    expect(ctx.stepOf("act")).toMatchObject({ status: "pending", current: false });
  });

  it("runs nothing when nothing it depends on changed: a command like `postconf` costs one fingerprint", async () => {
    await ctx.evaluate();
    const again = await ctx.evaluate();
    expect(again).toMatchObject({ ran: 0, changed: false });
    ctx.world.inputs!.log = "l1"; // the log grew: `listen` does not depend on it
    expect((await ctx.evaluate()).ran).toBe(0);
    ctx.world.inputs!.conf = "c1";
    expect((await ctx.evaluate()).ran).toBe(1);
    expect(ctx.fake.runs.listen).toBe(2);
  });

  it("without a fingerprint every run checks again; 'check now' forces the current step", async () => {
    await ctx.evaluate();
    expect((await ctx.evaluate(true)).ran).toBe(1);
    ctx.world.inputs = undefined;
    expect((await ctx.evaluate()).ran).toBe(1);
    expect(ctx.fake.runs.listen).toBe(3);
  });

  it("moves on within one evaluation: step after step, then to the next lab, whose checks start at once", async () => {
    ctx.world.ok = { listen: true, did: true };
    const r = await ctx.evaluate();
    expect(r.changed).toBe(true);
    expect(ctx.store.getEnvironment(ctx.id)!.labId).toBe("l2");
    expect(ctx.fake.runs).toEqual({ listen: 1, did: 1, serve: 1 });
    expect(ctx.stepOf("listen")).toMatchObject({ status: "pass", current: false });
    expect(ctx.stepOf("serve")).toMatchObject({ status: "fail", current: true });
    const view = environmentView(ctx.course, ctx.store.getEnvironment(ctx.id)!, loadStates(ctx.store, ctx.id), "running", "en");
    expect(view.labs.map((l) => [l.id, l.status])).toEqual([
      ["l1", "done"],
      ["l2", "current"],
    ]);
    expect(view.labs[0]!.completedAt).toBeGreaterThan(0);
    expect(ctx.published).toContain(ctx.id);
  });

  it("keeps a passed step passed: evidence is never looked for again, a broken state check marks it 'now broken' until fixed", async () => {
    ctx.world.ok = { listen: true, did: true };
    await ctx.evaluate();
    const passedAt = ctx.stepOf("listen").passedAt;
    // The learner reads and deletes the mail: the evidence would not be found any more.
    ctx.world.ok.did = false;
    ctx.world.inputs!.log = "l2";
    await ctx.evaluate();
    expect(ctx.stepOf("act")).toMatchObject({ status: "pass", broken: false });
    expect(ctx.fake.runs.did).toBe(1);
    // The learner edits main.cf again and breaks what step `listen` achieved.
    ctx.world.ok.listen = false;
    ctx.world.inputs!.conf = "c2";
    await ctx.evaluate();
    expect(ctx.stepOf("listen")).toMatchObject({ status: "pass", broken: true, passedAt });
    expect(ctx.stepOf("listen").checks.find((c) => c.id === "listen")).toMatchObject({ ok: false, hints: ["hint listen"] });
    expect(ctx.store.getEnvironment(ctx.id)!.labId).toBe("l2"); // progress is not taken back
    // ... and repairs it.
    ctx.world.ok.listen = true;
    ctx.world.inputs!.conf = "c3";
    await ctx.evaluate();
    expect(ctx.stepOf("listen")).toMatchObject({ status: "pass", broken: false, passedAt });
  });

  it("a failing gate blocks its checks without running them, stands in for them, and asks to be asked again", async () => {
    ctx.world.ok = { listen: true, did: true, serve: true };
    ctx.world.gate = { ok: false, retryAfterS: 42 };
    const r = await ctx.evaluate();
    expect(r.retryAfterMs).toBe(42_000);
    expect(ctx.fake.runs.serve).toBeUndefined();
    expect(ctx.stepOf("serve").checks[0]).toMatchObject({ ok: false, message: "Postfix cannot serve", hints: ["typo"] });
    // Nothing changed, but a blocked result is never reused: the gate is asked again.
    ctx.world.gate = { ok: true };
    await ctx.evaluate();
    expect(ctx.fake.runs.serve).toBe(1);
    expect(ctx.stepOf("serve").status).toBe("pass");
  });

  it("counts the same failure only after relevant changes: exploring never makes a learner 'stuck'", async () => {
    await ctx.evaluate();
    for (let i = 0; i < 6; i++) {
      ctx.world.inputs!.log = `l${i + 10}`; // commands that only grow the log (postconf, cat, ls)
      await ctx.evaluate();
      await ctx.evaluate(true); // and "check now" without a change
    }
    expect(ctx.stepOf("listen").sameFailures).toBe(0);
    for (let i = 0; i < 5; i++) {
      ctx.world.inputs!.conf = `c${i + 10}`; // edits that do not fix it
      await ctx.evaluate();
    }
    expect(ctx.stepOf("listen").sameFailures).toBe(5);
  });

  it("tells the scripts since when to read mail.log: the last look before a change, when the input was still as before", async () => {
    let clock = 1_000_000;
    const evaluator = createEvaluator({ course: ctx.course, store: ctx.store, labs: ctx.fake.labs, machines: ctx.machines, events: ctx.events, now: () => clock });
    const given: Array<Record<string, number>> = [];
    const runChecks = ctx.fake.labs.runChecks;
    ctx.fake.labs.runChecks = (env, params, checks, options) => {
      given.push({ ...options.changedAt });
      return runChecks(env, params, checks, options);
    };
    await evaluator.evaluate(ctx.id); // the first look after an app start: no history
    expect(given.at(-1)).toEqual({ conf: 0, svc: 0, log: 0 });
    clock = 1_005_000;
    await evaluator.evaluate(ctx.id, { force: true }); // nothing changed: a look all the same
    // The learner's command runs (its errors are logged now, at 1_007_000); the app looks afterwards.
    ctx.world.inputs!.conf = "c1";
    clock = 1_009_000;
    await evaluator.evaluate(ctx.id);
    expect(given.at(-1)).toEqual({ conf: 1_005_000, svc: 0, log: 0 });
    // A later change of another input: its own previous look; conf keeps its time.
    ctx.world.inputs!.svc = "s1";
    clock = 1_020_000;
    await evaluator.evaluate(ctx.id, { force: true });
    expect(given.at(-1)).toEqual({ conf: 1_005_000, svc: 1_009_000, log: 0 });
  });

  it("does nothing for stopped or destroyed environments", async () => {
    ctx.machines.statuses.set(ctx.id, "stopped");
    expect((await ctx.evaluate()).ran).toBe(0);
    ctx.machines.statuses.set(ctx.id, "running");
    ctx.store.updateEnvironment(ctx.id, { destroyedAt: Date.now() });
    expect((await ctx.evaluate()).ran).toBe(0);
    expect(ctx.fake.runs).toEqual({});
  });
});

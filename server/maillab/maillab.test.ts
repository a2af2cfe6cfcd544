// The product layer as the API uses it (createMaillab), through fake ports: environments, classes,
// the dashboard's progress, the CSV export, and what learners of an ended class still see.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isApiError } from "../http-error";
import { createMaillab } from "./index";
import { csvCell } from "./csv";
import { fakeCourse, fakeLabs, fakeMachines, tempStore, type World } from "./testing";

let t: ReturnType<typeof setup>;

function setup() {
  const course = fakeCourse();
  const world: World = { inputs: { conf: "c0", svc: "s0", log: "l0" }, ok: {}, gate: { ok: true } };
  const { store, events, dispose } = tempStore();
  const machines = fakeMachines();
  const fake = fakeLabs(course, world);
  const maillab = createMaillab({ store, machines, labs: fake.labs, events, log: () => undefined });
  return {
    world,
    store,
    events,
    machines,
    fake,
    maillab,
    dispose() {
      maillab.dispose();
      dispose();
    },
  };
}

beforeEach(() => {
  t = setup();
});
afterEach(() => t.dispose());

async function errorOf(p: Promise<unknown> | (() => unknown)): Promise<{ status: number; message: string } | undefined> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    if (isApiError(e)) return { status: e.status, message: e.message };
    throw e;
  }
  return undefined;
}

describe("environments", () => {
  it("a lab that builds on another starts with that one solved, as if the learner had done it", async () => {
    const { environment } = await t.maillab.startSelfPaced(null, "Lena", "l2");
    expect(t.fake.solved).toEqual(["l1/listen", "l1/act"]);
    const view = t.maillab.environmentView(t.store.getEnvironment(environment.id)!, "en");
    expect(view.lab).toBe("l2");
    expect(view.steps.filter((s) => s.labId === "l1").map((s) => [s.status, s.solved])).toEqual([
      ["pass", true],
      ["pass", true],
    ]);
  });

  it("learners reach only their own environment; unknown ids are 404", async () => {
    const a = await t.maillab.startSelfPaced(null, "A", "l1");
    const b = await t.maillab.startSelfPaced(null, "B", "l1");
    expect(t.maillab.authorize({ kind: "learner", learnerId: a.learnerId }, a.environment.id).id).toBe(a.environment.id);
    expect(await errorOf(() => t.maillab.authorize({ kind: "learner", learnerId: a.learnerId }, b.environment.id))).toMatchObject({ status: 403 });
    expect(await errorOf(() => t.maillab.authorize({ kind: "learner", learnerId: a.learnerId }, "nosuchenv123"))).toMatchObject({ status: 404 });
    expect(await errorOf(() => t.maillab.authorize(null, a.environment.id))).toMatchObject({ status: 401 });
  });

  it("check now runs the current step at once and answers with its verdict", async () => {
    const { environment } = await t.maillab.startSelfPaced(null, "Lena", "l1");
    t.world.ok.listen = true;
    await t.maillab.checkNow(t.store.getEnvironment(environment.id)!);
    const view = t.maillab.environmentView(t.store.getEnvironment(environment.id)!, "de");
    expect(view.steps[0]).toMatchObject({ id: "listen", status: "pass", title: "Schritt listen" });
    expect(view.steps[1]).toMatchObject({ id: "act", current: true });
  });
});

describe("the reaper", () => {
  it("an environment it removed (idle past its TTL) is gone for its learner too, not 'missing'", async () => {
    const { environment, learnerId } = await t.maillab.startSelfPaced(null, "Lena", "l1");
    const heard: string[] = [];
    const off = t.events.on("environment", (e) => heard.push(e.environmentId));
    t.machines.statuses.delete(environment.id);
    t.maillab.reaped(environment.id);
    off();
    expect(heard).toContain(environment.id);
    expect(t.store.getEnvironment(environment.id)!.destroyedAt).toBeGreaterThan(0);
    expect(await errorOf(() => t.maillab.authorize({ kind: "learner", learnerId }, environment.id))).toMatchObject({ status: 404 });
    // A second report changes nothing.
    const at = t.store.getEnvironment(environment.id)!.destroyedAt;
    t.maillab.reaped(environment.id);
    expect(t.store.getEnvironment(environment.id)!.destroyedAt).toBe(at);
  });
});

describe("what happens to the machines on their own", () => {
  it("reaches the learner's event stream and the dashboard, worded in German (Sie) and English", async () => {
    const cls = t.maillab.createClass("Notices", ["l1"]);
    const { environment } = await t.maillab.join(cls.joinCode, "Ida", null);
    const published: string[] = [];
    const off = t.events.on("environment", (e) => published.push(`${e.environmentId}/${e.classId}`));
    t.machines.happen(environment.id, "stopped", { kind: "machine-exited", at: 1, machine: "mail", exitCode: 137, oom: false });
    expect(published).toEqual([`${environment.id}/${cls.id}`]);
    const row = () => t.store.getEnvironment(environment.id)!;
    const de = t.maillab.environmentView(row(), "de");
    expect(de.status).toBe("stopped");
    expect(de.notice).toMatchObject({ code: "machine-exited", summary: "mail beendet (Exit 137)" });
    expect(de.notice?.message).toMatch(/^Die Maschine „mail“ wurde außerhalb von maillab beendet \(Exit-Code 137 = Signal KILL.*Sie startet wieder, sobald Sie „Neue Shell starten“/);
    expect(t.maillab.environmentView(row(), "en").notice?.message).toMatch(/^The machine “mail” was stopped outside maillab \(exit code 137 = signal KILL/);

    t.machines.happen(environment.id, "stopped", { kind: "disk-limit", at: 2, usedBytes: 1100 * 2 ** 20, limitBytes: 1024 * 2 ** 20 });
    const learner = t.maillab.progress(cls.id, "de").learners[0]!;
    expect(learner.notice).toMatchObject({ code: "disk-limit", summary: "Speicherlimit überschritten (1100 von 1024 MiB): angehalten" });
    expect(learner.notice?.message).toMatch(/^Ihre Maschinen haben zusammen 1100 MiB .* mehr als die erlaubten 1024 MiB/);
    expect(learner.notice?.message.replace(/`[^`]*`/g, "")).not.toMatch(/\b(du|dich|dir|dein|deine)\b/i); // the command `du` aside

    t.machines.happen(environment.id, "running");
    expect(t.maillab.environmentView(row(), "de").notice).toBeNull();
    expect(published).toHaveLength(3);
    off();
  });
});

describe("classes", () => {
  it("the dashboard: progress per learner, broken steps, solved apart; ended classes are 'ended', never stuck", async () => {
    const cls = t.maillab.createClass("Mailserver Teil 2", ["l1", "l2"]);
    const lena = await t.maillab.join(cls.joinCode, "Lena Müller", null);
    const ali = await t.maillab.join(cls.joinCode, "=HYPERLINK(\"x\")\rEvil", null);
    t.world.ok.listen = true;
    await t.maillab.checkNow(lena.environment);
    await t.maillab.solve(t.store.getEnvironment(ali.environment.id)!, "listen");
    // Lena breaks what she did: the dashboard shows it.
    t.world.ok.listen = false;
    t.world.inputs!.conf = "c9";
    await t.maillab.checkNow(lena.environment);

    const p = t.maillab.progress(cls.id, "en");
    const row = (name: string) => p.learners.find((l) => l.name === name)!;
    expect(row("Lena Müller").steps[0]).toMatchObject({ id: "listen", status: "pass", broken: true, solved: false, failing: ["listen broken"] });
    expect(row("Lena Müller").currentStep).toBe("l1/act");
    expect(row("Lena Müller").status).toBe("running");

    const csv = t.maillab.exportCsv(cls.id, "de");
    expect(csv.startsWith("\uFEFF")).toBe(true);
    const lines = csv.slice(1).split("\r\n");
    expect(lines[0]).toBe("Teilnehmer;Lab 1 – Schritt listen;Lab 1 – Schritt act;Lab 2 – Schritt serve;Lab 2 – Schritt read;selbst erledigt;übersprungen;Schritte");
    expect(lines[1]).toMatch(/^Lena Müller;erledigt \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(jetzt kaputt\);offen;nicht begonnen;nicht begonnen;1;0;4$/);
    // A formula and a carriage return in a name stay text in one cell.
    expect(lines[2]).toBe(`"'=HYPERLINK(""x"")\rEvil";übersprungen;offen;nicht begonnen;nicht begonnen;0;1;4`);
    expect(t.maillab.exportCsv(cls.id, "en").slice(1).split("\r\n")[0]).toBe("Learner,Lab 1 – Step listen,Lab 1 – Step act,Lab 2 – Step serve,Lab 2 – Step read,done by learner,skipped,steps");

    await t.maillab.endClass(cls.id);
    const ended = t.maillab.progress(cls.id, "en");
    expect(ended.learners.map((l) => [l.status, l.stuck, l.timeOnStepMs])).toEqual([
      ["ended", false, 0],
      ["ended", false, 0],
    ]);
    // Learners of an ended class still see their results, and cannot act any more.
    const lenaRow = t.maillab.authorize({ kind: "learner", learnerId: lena.learnerId }, lena.environment.id);
    expect(t.maillab.environmentView(lenaRow, "en")).toMatchObject({ status: "ended", steps: expect.arrayContaining([expect.objectContaining({ id: "listen", status: "pass" })]) });
    expect(await errorOf(t.maillab.checkNow(lenaRow))).toMatchObject({ status: 410, message: "this class has ended" });
    expect(await errorOf(t.maillab.join(cls.joinCode, "Late", null))).toMatchObject({ status: 410 });
    expect(t.machines.statuses.size).toBe(0);
  });

  it("pre-warming reserves environments for the learners still to come; joining takes one, ending returns the rest", async () => {
    const a = t.maillab.createClass("A", ["l1"]);
    const b = t.maillab.createClass("B", ["l1"]);
    expect(t.maillab.prewarm(a.id, 3)).toMatchObject({ target: 3, reserved: 3 });
    expect(t.machines.pool).toEqual({ target: 3, trim: true });
    t.maillab.prewarm(b.id, 2);
    expect(t.machines.pool.target).toBe(5);
    // A learner of A takes a reserved environment: the pool shrinks with it, nothing is trimmed or rebuilt.
    const joined = await t.maillab.join(a.joinCode, "Ada", null);
    expect(t.machines.pool).toEqual({ target: 4, trim: false });
    expect(t.maillab.prewarmStatus(a.id)).toMatchObject({ reserved: 2 });
    // Coming back (same learner) takes nothing more.
    await t.maillab.join(a.joinCode, "Ada", joined.learnerId);
    expect(t.machines.pool.target).toBe(4);
    // Ending B gives its reservation back (extra members are removed).
    await t.maillab.endClass(b.id);
    expect(t.machines.pool).toEqual({ target: 2, trim: true });
    expect(await errorOf(() => t.maillab.prewarm(b.id, 1))).toMatchObject({ status: 410 });
    // More learners than reserved: the reservation stops at 0, the pool at the base size.
    for (const name of ["Bo", "Cy", "Di"]) await t.maillab.join(a.joinCode, name, null);
    expect(t.maillab.prewarmStatus(a.id)).toMatchObject({ reserved: 0 });
    expect(t.machines.pool.target).toBe(0);
  });

  it("csv cells: separators, quotes and line breaks are quoted, formulas defused", () => {
    expect(csvCell("a;b", ";")).toBe('"a;b"');
    expect(csvCell("a,b", ";")).toBe("a,b");
    expect(csvCell('say "hi"', ",")).toBe('"say ""hi"""');
    expect(csvCell("line\nbreak", ",")).toBe('"line\nbreak"');
    expect(csvCell("@SUM(A1)", ",")).toBe(`"'@SUM(A1)"`);
    expect(csvCell("-1", ",")).toBe(`"'-1"`);
    expect(csvCell("plain", ",")).toBe("plain");
  });
});

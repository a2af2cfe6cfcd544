import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp, type RunningApp } from "./support/app";

/**
 * Every route of docs/api.md against the app started as the README starts it, with real
 * environments on the real Docker engine.
 */
let app: RunningApp;
const created: string[] = [];

async function call(method: string, path: string, opts: { body?: unknown; cookie?: string; bearer?: string; raw?: string } = {}) {
  const headers: Record<string, string> = {};
  if (opts.body !== undefined || opts.raw !== undefined) headers["content-type"] = "application/json";
  if (opts.cookie) headers.cookie = opts.cookie;
  if (opts.bearer) headers.authorization = `Bearer ${opts.bearer}`;
  const res = await fetch(`${app.url}${path}`, {
    method,
    headers,
    body: opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const cookie = res.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
  return { status: res.status, json: json as Record<string, unknown> & { error?: string }, text, cookie, headers: res.headers };
}

beforeAll(async () => {
  app = await startApp();
}, 900_000);

afterAll(async () => {
  for (const id of created) await call("DELETE", `/api/environments/${id}`, { bearer: app.password }).catch(() => {});
  await app?.dispose();
});

describe("automation API", () => {
  it("GET /api/health reports app, Docker and images", async () => {
    const r = await call("GET", "/api/health");
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ ok: true, docker: { ok: true }, images: { ready: true } });
  });

  it("GET /api/labs lists the course's labs and steps", async () => {
    const r = await call("GET", "/api/labs?lang=en");
    expect(r.status).toBe(200);
    const labs = r.json.labs as Array<{ id: string; steps: Array<{ id: string; title: string }> }>;
    expect(labs.map((l) => l.id)).toEqual(["12-1", "12-2"]);
    expect(labs[0]!.steps.length).toBeGreaterThanOrEqual(4);
  });

  it("refuses unauthenticated and bad requests without changing anything", async () => {
    expect((await call("POST", "/api/environments", { body: { lab: "12-1" } })).status).toBe(401);
    expect((await call("POST", "/api/classes", { body: { title: "x", labs: ["12-1"] } })).status).toBe(401);
    expect((await call("GET", "/api/classes/abcdefghij/progress")).status).toBe(401);
    expect((await call("POST", "/api/environments", { bearer: "wrong-password" , body: { lab: "12-1" } })).status).toBe(401);
    const bad = await call("POST", "/api/environments", { bearer: app.password, body: { lab: "no such lab" } });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/lab/);
    const extra = await call("POST", "/api/environments", { bearer: app.password, body: { lab: "12-1", evil: true } });
    expect(extra.status).toBe(400);
    const notJson = await call("POST", "/api/classes", { bearer: app.password, raw: "{nope" });
    expect(notJson.status).toBe(400);
    expect(notJson.json.error).toMatch(/JSON/);
    const unknownLab = await call("POST", "/api/environments", { bearer: app.password, body: { lab: "99-9" } });
    expect(unknownLab.status).toBe(400);
    // Errors come in the caller's language (German without a preference) with a stable code.
    expect(unknownLab.json).toMatchObject({ code: "unknown-lab", error: expect.stringMatching(/Unbekanntes Lab/) });
    const classes = await call("GET", "/api/classes", { bearer: app.password });
    expect(classes.json.classes).toEqual([]);
  });

  it("self-paced learner: environment, check, solve, reset, isolation from others, delete", async () => {
    const a = await call("POST", "/api/session", { body: {} });
    expect(a.status).toBe(201);
    expect(a.cookie).toMatch(/maillab_learner=/);
    const envA = a.json as { id: string; status: string; params: { domain: string; users: Array<{ name: string }> }; steps: Array<{ id: string; status: string }> };
    created.push(envA.id);
    expect(envA.params.domain).toMatch(/\.example\.test$/);
    expect(envA.params.users.map((u) => u.name)).toEqual(["alice", "bob"]);

    const same = await call("POST", "/api/environments", { cookie: a.cookie, body: { lab: "12-1" } });
    expect(same.status).toBe(201);
    expect(same.json.id).toBe(envA.id);

    const got = await call("GET", `/api/environments/${envA.id}`, { cookie: a.cookie });
    expect(got.status).toBe(200);
    expect(got.json.status).toBe("running");

    const checked = await call("POST", `/api/environments/${envA.id}/check?lang=en`, { cookie: a.cookie });
    expect(checked.status).toBe(200);
    const steps = checked.json.steps as Array<{ id: string; labId: string; status: string; checks: Array<{ ok: boolean; message: string }> }>;
    const first = steps.find((s) => s.labId === "12-1")!;
    expect(first.status).toBe("fail");
    expect(first.checks.some((c) => !c.ok && c.message.length > 0)).toBe(true);

    const badSolve = await call("POST", `/api/environments/${envA.id}/solve`, { cookie: a.cookie, body: { upTo: "no-such-step" } });
    expect(badSolve.status).toBe(400);
    const solved = await call("POST", `/api/environments/${envA.id}/solve`, { cookie: a.cookie, body: { upTo: first.id } });
    expect(solved.status).toBe(200);
    const after = (solved.json.steps as typeof steps).find((s) => s.id === first.id)!;
    expect(after.status).toBe("pass");

    // Another learner can neither see nor touch A's environment.
    const b = await call("POST", "/api/session", { body: { name: "B" } });
    created.push((b.json as { id: string }).id);
    expect(b.json.id).not.toBe(envA.id);
    for (const [method, path] of [
      ["GET", `/api/environments/${envA.id}`],
      ["POST", `/api/environments/${envA.id}/check`],
      ["POST", `/api/environments/${envA.id}/reset`],
      ["DELETE", `/api/environments/${envA.id}`],
    ] as const) {
      const r = await call(method, path, { cookie: b.cookie });
      expect([403, 404]).toContain(r.status);
    }
    // A learner is not an instructor.
    expect((await call("POST", "/api/classes", { cookie: b.cookie, body: { title: "x", labs: ["12-1"] } })).status).toBe(403);
    expect((await call("GET", `/api/environments/${envA.id}/recordings`, { cookie: a.cookie })).status).toBe(403);

    const reset = await call("POST", `/api/environments/${envA.id}/reset`, { cookie: a.cookie });
    expect(reset.status).toBe(200);
    expect((reset.json.params as { domain: string }).domain).toBe(envA.params.domain);
    const afterReset = await call("POST", `/api/environments/${envA.id}/check`, { cookie: a.cookie });
    expect((afterReset.json.steps as typeof steps).find((s) => s.id === first.id)!.status).toBe("fail");

    const del = await call("DELETE", `/api/environments/${envA.id}`, { cookie: a.cookie });
    expect(del.status).toBe(200);
    expect((await call("GET", `/api/environments/${envA.id}`, { cookie: a.cookie })).status).toBe(404);
  });

  it("classes: create, join (bad codes, rate limit), progress, CSV, end", async () => {
    const login = await call("POST", "/api/auth/login", { body: { password: app.password } });
    expect(login.status).toBe(200);
    const instructor = login.cookie;
    expect((await call("POST", "/api/auth/login", { body: { password: "nope" } })).status).toBe(401);

    const badClass = await call("POST", "/api/classes", { cookie: instructor, body: { title: "", labs: [] } });
    expect(badClass.status).toBe(400);
    expect(badClass.json.error).toMatch(/title/);

    const cls = await call("POST", "/api/classes", { cookie: instructor, body: { title: "Mailserver Montag", labs: ["12-1", "12-2"] } });
    expect(cls.status).toBe(201);
    const { id, joinCode, joinUrl } = cls.json as { id: string; joinCode: string; joinUrl: string };
    expect(joinCode).toMatch(/^[A-Z0-9]{6}$/);
    expect(joinUrl).toContain(`/join/${joinCode}`);

    const wrong = await call("POST", "/api/classes/join", { body: { code: "ZZZZZZ", name: "Eve" } });
    expect(wrong.status).toBe(404);
    expect(wrong.json.error).toMatch(/code/);
    const malformed = await call("POST", "/api/classes/join", { body: { code: "!", name: "Eve" } });
    expect(malformed.status).toBe(400);

    const joined = await call("POST", "/api/classes/join", { body: { code: joinCode.toLowerCase(), name: "Ada" } });
    expect(joined.status).toBe(201);
    created.push((joined.json as { id: string }).id);

    const progress = await call("GET", `/api/classes/${id}/progress`, { cookie: instructor });
    expect(progress.status).toBe(200);
    const learners = progress.json.learners as Array<{ name: string; environmentId: string }>;
    expect(learners.map((l) => l.name)).toEqual(["Ada"]);
    expect(learners[0]!.environmentId).toBe(joined.json.id);

    // English spreadsheets split on ",", German ones on ";" (server/maillab/csv.ts).
    const csv = await call("GET", `/api/classes/${id}/export.csv?lang=en`, { cookie: instructor });
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-type")).toMatch(/text\/csv/);
    expect(csv.text.split("\r\n")[0]).toMatch(/^\uFEFF?Learner,Lab 12\.1 – /);
    expect(csv.text).toMatch(/\r\nAda,(not started|open),/);
    const csvDe = await call("GET", `/api/classes/${id}/export.csv?lang=de`, { cookie: instructor });
    expect(csvDe.text.split("\r\n")[0]).toMatch(/^\uFEFF?Teilnehmer;Lab 12\.1 – /);
    expect(csvDe.text).toMatch(/\r\nAda;/);

    const warm = await call("POST", `/api/classes/${id}/prewarm`, { cookie: instructor, body: { count: 1 } });
    expect(warm.status).toBe(200);
    // Reserved for this class on top of the app's own warm pool (MAILLAB_WARM_POOL, 1 by default).
    expect(warm.json).toMatchObject({ target: 2, reserved: 1 });
    expect((await call("POST", `/api/classes/${id}/prewarm`, { cookie: instructor, body: { count: -1 } })).status).toBe(400);
    expect((await call("GET", `/api/classes/${id}/prewarm`, { cookie: instructor })).json).toMatchObject({ target: 2, reserved: 1 });
    expect((await call("POST", `/api/classes/${id}/presenter`, { cookie: instructor, body: { slide: 3, follow: true } })).status).toBe(200);
    expect((await call("POST", `/api/classes/${id}/presenter`, { cookie: instructor, body: { slide: "x" } })).status).toBe(400);

    // A learner of the class may not read its progress.
    expect((await call("GET", `/api/classes/${id}/progress`, { cookie: joined.cookie })).status).toBe(403);

    const ended = await call("DELETE", `/api/classes/${id}`, { cookie: instructor });
    expect(ended.status).toBe(200);
    expect((await call("POST", "/api/classes/join", { body: { code: joinCode, name: "Late" } })).status).toBe(410);
    // The learner still reads their final results (status "ended"); the machines are gone.
    const after = await call("GET", `/api/environments/${joined.json.id}`, { cookie: joined.cookie });
    expect(after.status).toBe(200);
    expect(after.json).toMatchObject({ status: "ended" });
    expect((await call("POST", `/api/environments/${joined.json.id}/check`, { cookie: joined.cookie })).status).toBe(410);
    const kept = await call("GET", `/api/classes/${id}/progress`, { cookie: instructor });
    expect((kept.json.learners as unknown[]).length).toBe(1);

    // Guessing codes gets rate limited: 60 unknown codes per address in 10 minutes (server/auth/index.ts).
    let limited = false;
    for (let i = 0; i < 70 && !limited; i++) {
      limited = (await call("POST", "/api/classes/join", { body: { code: "QQQQQQ", name: "Bot" } })).status === 429;
    }
    expect(limited).toBe(true);
  });
});

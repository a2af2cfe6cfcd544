import { existsSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { startApp, type RunningApp } from "./support/app";
import { launchBrowser } from "./support/browser";
import {
  autoSubmitForm,
  diskUsedBytes,
  dockerCli,
  listenerPid,
  openEventStream,
  openLabTerminal,
  percentile,
  send,
  sendHugeBody,
  startHostileSite,
  watchRss,
  withHealthLatency,
  type SendOptions,
} from "./support/probe";

/**
 * The security probe's findings (docs/security.md, "Tests that reproduce each attack"), each
 * replayed against the app started as the README starts it. Clients pick their loopback source
 * address: 127.0.0.2 is the operator's automation, other 127.0.0.x stand for other networks.
 */
const MiB = 1024 * 1024;
const ADMIN = "127.0.0.2";
/** The apps' disk limit per environment here: the least allowed, so `dd` past it is quick. mail's share: 10/16. */
const DISK_LIMIT_MB = 256;
const MAIL_SHARE = (DISK_LIMIT_MB * MiB * 10) / 16;
let app: RunningApp;
let pid: number;
let browser: Browser;
const contexts: BrowserContext[] = [];
const classes: string[] = [];

const call = (method: string, path: string, opts: SendOptions = {}) => send(app.url, method, path, opts);
const admin = (method: string, path: string, opts: SendOptions = {}) => call(method, path, { from: ADMIN, bearer: app.password, ...opts });

async function newClass(title: string): Promise<{ id: string; joinCode: string }> {
  const r = await admin("POST", "/api/classes", { json: { title, labs: ["12-1"] } });
  expect(r.status, r.text).toBe(201);
  classes.push(r.json.id as string);
  return r.json as { id: string; joinCode: string };
}

async function classTitles(): Promise<string[]> {
  const r = await admin("GET", "/api/classes");
  return (r.json.classes as Array<{ title: string }>).map((c) => c.title);
}

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ locale: "de-DE" });
  contexts.push(context);
  return context.newPage();
}

/** A self-paced learner on app `a`: their cookie and environment. */
async function newLearner(a: RunningApp = app): Promise<{ cookie: string; envId: string }> {
  const r = await send(a.url, "POST", "/api/session", { json: { name: "Probe" } });
  expect(r.status, r.text).toBe(201);
  return { cookie: r.cookie, envId: r.json.id as string };
}

/** A learner of a new class on app `a` (so the dashboard sees them). */
async function newClassLearner(a: RunningApp, name: string): Promise<{ cookie: string; envId: string; classId: string }> {
  const cls = await send(a.url, "POST", "/api/classes", { from: ADMIN, bearer: a.password, json: { title: `Class of ${name}`, labs: ["12-1"] } });
  expect(cls.status, cls.text).toBe(201);
  const joined = await send(a.url, "POST", "/api/classes/join", { json: { code: cls.json.joinCode, name } });
  expect(joined.status, joined.text).toBe(201);
  return { cookie: joined.cookie, envId: joined.json.id as string, classId: cls.json.id as string };
}

/** A browser page of app `a` carrying `cookie` (e.g. a learner's). */
async function pageWithCookie(a: RunningApp, cookie: string): Promise<Page> {
  const page = await newPage();
  await page.context().addCookies(cookie.split("; ").map((pair) => ({ name: pair.split("=")[0]!, value: pair.slice(pair.indexOf("=") + 1), url: a.url })));
  return page;
}

async function signInThroughPage(page: Page, a: RunningApp = app) {
  await page.goto(`${a.url}/instructor`);
  await page.getByTestId("instructor-password").fill(a.password);
  await page.getByTestId("instructor-login").click();
}

/** Runs `fn` over `items`, `concurrency` at a time, keeping the order of results. */
async function pool<T, R>(items: T[], concurrency: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]!, i);
      }
    }),
  );
  return results;
}

beforeAll(async () => {
  // No warm pool: its background container starts would blur the memory and latency figures.
  app = await startApp({ MAILLAB_WARM_POOL: "0", MAILLAB_DISK_LIMIT_MB: String(DISK_LIMIT_MB) });
  pid = listenerPid(app.port);
  browser = await launchBrowser();
}, 900_000);

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => {});
  await browser?.close();
  for (const id of classes) await admin("DELETE", `/api/classes/${id}`).catch(() => {});
  await app?.dispose();
}, 300_000);

describe("finding 1: request bodies cannot exhaust memory", () => {
  for (const declareLength of [true, false]) {
    const how = declareLength ? "declared by Content-Length" : "sent chunked, without Content-Length";
    it(`a 400 MB body ${how} gets 413 within a fraction of a second, is not read to the end, memory stays flat`, async () => {
      const rss = watchRss(pid);
      // The client ignores the answer and goes on sending, as an attacker would.
      const r = await sendHugeBody(app.url, "/api/session", 400 * MiB, { declareLength });
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const mem = rss.stop();
      const health = await call("GET", "/api/health");
      console.log(
        `[security] 400 MB body ${how}: ${r.status} after ${r.ms.toFixed(0)} ms (${(r.sentBytes / MiB).toFixed(0)} MiB sent), ` +
          `hung up ${r.closedAfterMs.toFixed(0)} ms later (${(r.sentAfterAnswer / MiB).toFixed(1)} MiB more), ` +
          `RSS ${(mem.before / MiB).toFixed(0)} → peak ${(mem.max / MiB).toFixed(0)} MiB (+${((mem.max - mem.before) / MiB).toFixed(1)}), health ${health.ms.toFixed(0)} ms`,
      );
      expect(r.status).toBe(413);
      expect(r.ms).toBeLessThan(500);
      expect(mem.max - mem.before).toBeLessThan(20 * MiB);
      // The rest is never read: the server hangs up (what was sent after is socket buffers).
      expect(r.closedAfterMs).toBeLessThan(2000);
      expect(r.sentAfterAnswer).toBeLessThan(64 * MiB);
      expect(health.status).toBe(200);
      expect(health.ms).toBeLessThan(1000);
    });
  }

  it("counts bytes, not characters: 10 000 × '€' (30 000 bytes) is over the 16 KiB limit", async () => {
    const body = JSON.stringify({ name: "€".repeat(10_000) });
    expect(body.length).toBeLessThan(16 * 1024);
    const declared = await call("POST", "/api/session", { body, headers: { "content-type": "application/json" } });
    expect(declared.status).toBe(413);
    // Chunked: the route layer counts the streamed bytes itself.
    const chunked = await call("POST", "/api/session", { body, chunked: true, headers: { "content-type": "application/json" } });
    expect(chunked.status).toBe(413);
    expect(chunked.json.code).toBe("body-too-large");
    expect(chunked.setCookies).toEqual([]);
  });
});

describe("finding 2: a learner cannot fill the host's disk", () => {
  it("hard limit (what this engine has): dd in the learner's mail terminal stops at mail's share with 'Disk quota exceeded'; the host's disk stays bounded", async () => {
    const learner = await newLearner();
    const health = await call("GET", "/api/health");
    // MAILLAB_DISK_LIMIT_MODE=auto found the engine's hard limit (btrfs quotas, scripts/ensure-docker.sh).
    expect(health.json.docker).toMatchObject({ disk: { kind: "hard", limitBytes: DISK_LIMIT_MB * MiB } });
    const root = dockerCli("info", "-f", "{{.DockerRootDir}}");
    const mail = await openLabTerminal(app.url, learner.envId, "mail", { cookie: learner.cookie });
    const before = diskUsedBytes(root);
    // 1 GiB asked for; the probe wrote 3 GiB in 3.5 s before.
    const dd = await mail.run("dd if=/dev/zero of=/root/fill bs=1M count=1024 2>&1; sync; stat -c %s /root/fill");
    const grown = diskUsedBytes(root) - before;
    console.log(`[security] dd 1 GiB in mail: ${dd.output.replace(/\r?\n/g, " | ")}; Docker's data root +${(grown / MiB).toFixed(0)} MiB`);
    expect(dd.output).toMatch(/Disk quota exceeded|No space left on device/);
    const written = Number(dd.output.trim().split(/\r?\n/).at(-1));
    expect(written).toBeLessThanOrEqual(MAIL_SHARE);
    expect(written).toBeGreaterThan(MAIL_SHARE / 2);
    expect(grown).toBeLessThan(512 * MiB); // other work on this engine may write meanwhile
    // The machine keeps running: the learner deletes the file and goes on.
    expect((await mail.run("rm /root/fill && echo freed")).output).toContain("freed");
    expect((await call("GET", `/api/environments/${learner.envId}`, { cookie: learner.cookie })).json.status).toBe("running");
    mail.close();
    await admin("DELETE", `/api/environments/${learner.envId}`);
  }, 180_000);

  it("filling Docker's /etc/hosts (outside every quota) stops the machines within seconds; learner and instructor are told; 'check now' brings them back", async () => {
    const learner = await newClassLearner(app, "Hosts filler");
    const stream = openEventStream(app.url, `/api/environments/${learner.envId}/events`, { cookie: learner.cookie });
    await stream.next((e) => e.event === "environment");
    const partner = await openLabTerminal(app.url, learner.envId, "partner", { cookie: learner.cookie });
    const dd = await partner.run("dd if=/dev/zero of=/etc/hosts bs=1M count=64 2>&1 | tail -1");
    expect(dd.status).toBe(0); // nothing in the machine stops it
    const stopped = await stream.next((e) => e.data.status === "stopped", { timeoutMs: 20_000 });
    expect(stopped.data.notice).toMatchObject({ code: "disk-limit" });
    expect(String((stopped.data.notice as { message: string }).message)).toMatch(/^Ihre Maschinen haben zusammen \d+ MiB auf die Festplatte geschrieben, mehr als die erlaubten 256 MiB, und wurden deshalb angehalten/);
    const progress = await admin("GET", `/api/classes/${learner.classId}/progress?lang=en`);
    const row = (progress.json.learners as Array<{ name: string; status: string; notice: { summary: string } | null }>)[0]!;
    expect(row).toMatchObject({ name: "Hosts filler", status: "stopped" });
    expect(row.notice?.summary).toMatch(/^over the disk limit \(\d+ of 256 MiB\): stopped$/);
    // "Jetzt prüfen" starts the machines again; Docker writes its files anew at every start.
    const from = stream.events.length;
    expect((await call("POST", `/api/environments/${learner.envId}/check`, { cookie: learner.cookie })).status).toBe(200);
    await stream.next((e) => e.data.status === "running" && e.data.notice === null, { from, timeoutMs: 30_000 });
    stream.close();
    partner.close();
    await admin("DELETE", `/api/classes/${learner.classId}`);
  }, 180_000);
});

describe("finding 3: other origins cannot act with a user's cookies", () => {
  let hostile: Awaited<ReturnType<typeof startHostileSite>>;
  beforeAll(async () => {
    hostile = await startHostileSite();
  });
  afterAll(async () => {
    await hostile?.close();
  });

  it("a page on another origin of the same site cannot create a class as the signed-in instructor; the app's own form can", async () => {
    const page = await newPage();
    await signInThroughPage(page);
    // The app's own page: a same-origin fetch with JSON (components/api-client.ts).
    await page.getByTestId("class-title").fill("Created by the app's own form");
    await page.getByTestId("class-create").click();
    await page.waitForURL(/\/instructor\/classes\/[a-z0-9]{10}$/);
    classes.push(page.url().split("/").at(-1)!);

    // 127.0.0.1:<other port> is another origin but the same site: SameSite=Lax cookies go along.
    hostile.setPage(autoSubmitForm(`${app.url}/api/classes`, '{"title":"csrf","labs":["12-1"],"title":"', '"}'));
    const answer = page.waitForResponse((r) => r.url() === `${app.url}/api/classes` && r.request().method() === "POST");
    await page.goto(hostile.url);
    const res = await answer;
    expect(res.status()).toBe(403);
    expect(await res.json()).toMatchObject({ code: "cross-origin" });
    const titles = await classTitles();
    expect(titles).toContain("Created by the app's own form");
    expect(titles).not.toContain("=");
  });

  it("a page on another origin cannot fast-forward a learner's lab; the learner's own buttons still work", async () => {
    const page = await newPage();
    await page.goto(app.url);
    await page.getByTestId("start-self-paced").click();
    await page.waitForURL(/\/lab\/[a-z0-9]{12}$/, { timeout: 120_000 });
    const envId = page.url().split("/").at(-1)!;
    const labs = await call("GET", "/api/labs?lang=en");
    const firstStep = (labs.json.labs as Array<{ steps: Array<{ id: string }> }>)[0]!.steps[0]!.id;

    // The learner's own "check now": a same-origin POST without a body.
    const own = page.waitForResponse((r) => new URL(r.url()).pathname === `/api/environments/${envId}/check`);
    await page.getByTestId("check-now").click();
    expect((await own).status()).toBe(200);

    // Body: {"upTo":"=","upTo":"<first step>"} — JSON.parse keeps the last key.
    hostile.setPage(autoSubmitForm(`${app.url}/api/environments/${envId}/solve`, '{"upTo":"', `","upTo":"${firstStep}"}`));
    const answer = page.waitForResponse((r) => new URL(r.url()).pathname === `/api/environments/${envId}/solve`);
    await page.goto(hostile.url);
    expect((await answer).status()).toBe(403);
    const env = await admin("GET", `/api/environments/${envId}`);
    const step = (env.json.steps as Array<{ id: string; solved?: boolean }>).find((s) => s.id === firstStep);
    expect(step?.solved).toBeFalsy();
    await admin("DELETE", `/api/environments/${envId}`);
  }, 240_000);

  it("refuses bodies that are not JSON (415) and foreign Origin or Sec-Fetch-Site (403); scripts with a Bearer keep working", async () => {
    const before = (await classTitles()).length;
    const json = JSON.stringify({ title: "refused", labs: ["12-1"] });
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
      const r = await admin("POST", "/api/classes", { body: json, headers: { "content-type": type } });
      expect(r.status, type).toBe(415);
      expect(r.json.code).toBe("unsupported-media-type");
    }
    expect((await admin("POST", "/api/classes", { body: json })).status).toBe(415); // a body without a type
    const foreign: Array<Record<string, string>> = [
      { origin: "http://127.0.0.1:1" },
      { origin: "null" },
      { origin: "http://evil.example" },
      { "sec-fetch-site": "same-site" },
      { "sec-fetch-site": "cross-site" },
    ];
    for (const headers of foreign) {
      const r = await admin("POST", "/api/classes", { json: { title: "refused", labs: ["12-1"] }, headers });
      expect(r.status, JSON.stringify(headers)).toBe(403);
      expect(r.json.code).toBe("cross-origin");
    }
    expect((await classTitles()).length).toBe(before);

    // curl: no Origin, no Sec-Fetch-*; and a browser on the app's own origin.
    const curl = await admin("POST", "/api/classes", { json: { title: "by curl", labs: ["12-1"] } });
    expect(curl.status).toBe(201);
    classes.push(curl.json.id as string);
    const sameOrigin = await admin("POST", "/api/classes", {
      json: { title: "same origin", labs: ["12-1"] },
      headers: { origin: app.url, "sec-fetch-site": "same-origin", "content-type": "application/json; charset=utf-8" },
    });
    expect(sameOrigin.status).toBe(201);
    classes.push(sameOrigin.json.id as string);
  });
});

describe("finding 4: guessing the instructor password through Authorization: Bearer", () => {
  it("500 wrong Bearer passwords: 429 after 10, health stays fast, a script's verified password keeps working", async () => {
    const from = "127.0.0.44";
    expect((await call("GET", "/api/classes", { from, bearer: app.password })).status).toBe(200);
    const { result: statuses, latenciesMs } = await withHealthLatency(app.url, () =>
      pool(Array.from({ length: 500 }, (_, i) => i), 10, async (i) => (await call("GET", "/api/classes", { from, bearer: `guess-${i}` })).status),
    );
    const count = (s: number) => statuses.filter((x) => x === s).length;
    console.log(
      `[security] 500 Bearer guesses: ${count(401)}×401, ${count(429)}×429; health p50 ${percentile(latenciesMs, 50).toFixed(0)} / ` +
        `p95 ${percentile(latenciesMs, 95).toFixed(0)} / max ${Math.max(...latenciesMs).toFixed(0)} ms over ${latenciesMs.length} polls`,
    );
    expect(count(401)).toBeLessThanOrEqual(10);
    expect(count(429)).toBeGreaterThanOrEqual(490);
    expect(percentile(latenciesMs, 95)).toBeLessThan(250);
    // The script that verified its password before is not slowed down or locked out...
    const cached = await call("GET", "/api/classes", { from, bearer: app.password });
    expect(cached.status).toBe(200);
    expect(cached.ms).toBeLessThan(100);
    // ...and a client elsewhere is not affected by this address's failures.
    expect((await call("GET", "/api/classes", { from: "127.0.0.45", bearer: app.password })).status).toBe(200);
    const refused = await call("GET", "/api/classes", { from, bearer: "one-more-guess" });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers["retry-after"])).toBeGreaterThan(0);
    expect(refused.json).toMatchObject({ code: "too-many-sign-ins" });
  }, 300_000);
});

describe("finding 5: rate limits do not lock out a classroom", () => {
  it("60 learners behind one address join within a minute (typos included); a guesser elsewhere is cut off, even for the right code", async () => {
    const cls = await newClass("Behind one NAT");
    const classroom = "127.0.0.60";
    const started = Date.now();
    // Every sixth learner mistypes the code first.
    const attempts = Array.from({ length: 60 }, (_, i) => i).flatMap((i) =>
      i % 6 === 0 ? [{ code: "ZZZZZ" + (i % 10), name: `Learner ${i}` }, { code: cls.joinCode, name: `Learner ${i}` }] : [{ code: cls.joinCode, name: `Learner ${i}` }],
    );
    const statuses = await pool(attempts, 10, async (a) => (await call("POST", "/api/classes/join", { from: classroom, json: a })).status);
    const elapsedS = (Date.now() - started) / 1000;
    const counts = statuses.reduce<Record<number, number>>((acc, s) => ({ ...acc, [s]: (acc[s] ?? 0) + 1 }), {});
    console.log(`[security] 60 joins + 10 typos from one address: ${elapsedS.toFixed(1)} s, statuses ${JSON.stringify(counts)}`);
    expect(statuses.filter((s) => s === 429)).toEqual([]);
    expect(statuses.filter((s) => s === 201)).toHaveLength(60);
    expect(statuses.filter((s) => s === 404)).toHaveLength(10);
    const progress = await admin("GET", `/api/classes/${cls.id}/progress`);
    expect((progress.json.learners as unknown[]).length).toBe(60);

    // A guesser at another address: 60 unknown codes in the window, then nothing more, not even the right code.
    const guesser = "127.0.0.61";
    const guesses = await pool(Array.from({ length: 60 }, (_, i) => `Q${String(i).padStart(5, "2")}`.slice(0, 6)), 5, async (code) =>
      (await call("POST", "/api/classes/join", { from: guesser, json: { code, name: "guesser" } })).status,
    );
    expect(guesses.every((s) => s === 404)).toBe(true);
    const cutOff = await call("POST", "/api/classes/join", { from: guesser, json: { code: cls.joinCode, name: "guesser" } });
    expect(cutOff.status).toBe(429);
    expect(cutOff.json.code).toBe("too-many-joins");
    // The classroom itself was never touched by the guesser's failures.
    const late = await call("POST", "/api/classes/join", { from: classroom, json: { code: cls.joinCode, name: "Late learner" } });
    expect(late.status).toBe(201);
    await admin("DELETE", `/api/classes/${cls.id}`);
  }, 900_000);
});

describe("finding 4/5: a guesser behind the instructor's address", () => {
  it("cannot lock out the browser the instructor signed in with before", async () => {
    const page = await newPage();
    await signInThroughPage(page);
    await page.getByTestId("class-title").waitFor();
    // Sign out (the app's own same-origin POST without a body).
    const out = await page.evaluate(async () => (await fetch("/api/auth/logout", { method: "POST" })).status);
    expect(out).toBe(200);

    // Chromium connects from 127.0.0.1; so does the guesser.
    const guesses: number[] = [];
    for (let i = 0; i < 20; i++) guesses.push((await call("POST", "/api/auth/login", { json: { password: `guess-${i}` } })).status);
    expect(guesses.slice(0, 10).every((s) => s === 401)).toBe(true);
    expect(guesses.slice(10).every((s) => s === 429)).toBe(true);

    // The instructor's browser (device cookie from its earlier sign-in) still gets in.
    await signInThroughPage(page);
    await page.getByTestId("class-title").waitFor({ timeout: 15_000 });

    // A browser that never signed in here waits like the guesser, and is told so in its language.
    const fresh = await newPage();
    await signInThroughPage(fresh);
    // (form [role=alert]: Next's route announcer is an alert too)
    await expect.poll(() => fresh.locator("form [role=alert]").innerText().catch(() => "")).toMatch(/Zu viele falsche Passwörter.*erneut/);
  }, 180_000);
});

describe("finding 6: sessions", () => {
  it("signing out revokes the instructor cookie on the server, not only in the browser", async () => {
    const login = await call("POST", "/api/auth/login", { from: ADMIN, json: { password: app.password } });
    expect(login.status).toBe(200);
    const session = login.setCookies.find((c) => c.startsWith("maillab_instructor="))!.split(";")[0]!;
    expect((await call("GET", "/api/classes", { from: ADMIN, cookie: session })).status).toBe(200);
    const logout = await call("POST", "/api/auth/logout", { from: ADMIN, cookie: session });
    expect(logout.status).toBe(200);
    const replay = await call("GET", "/api/classes", { from: ADMIN, cookie: session });
    expect(replay.status).toBe(401);
    // Revocations survive a restart (settings table).
    await app.restart();
    pid = listenerPid(app.port);
    expect((await call("GET", "/api/classes", { from: ADMIN, cookie: session })).status).toBe(401);
  }, 300_000);

  it("without a trusted proxy, X-Forwarded-Proto and X-Forwarded-For are ignored", async () => {
    const r = await call("POST", "/api/session", { json: {}, headers: { "x-forwarded-proto": "https", "x-forwarded-for": "203.0.113.1" } });
    expect(r.status).toBe(201);
    expect(r.setCookies.join("\n")).not.toMatch(/Secure/i);
    await admin("DELETE", `/api/environments/${r.json.id as string}`);
  }, 120_000);
});

describe("finding 6: cookies behind https", () => {
  let proxied: RunningApp;
  let https: RunningApp;
  beforeAll(async () => {
    proxied = await startApp({ MAILLAB_WARM_POOL: "0", MAILLAB_TRUST_PROXY: "1" });
    https = await startApp({ MAILLAB_WARM_POOL: "0", MAILLAB_PUBLIC_URL: "https://maillab.example.org" });
  }, 900_000);
  afterAll(async () => {
    await proxied?.dispose();
    await https?.dispose();
  }, 120_000);

  it("MAILLAB_TRUST_PROXY=1: Secure when the proxy says https, limits per forwarded client", async () => {
    const viaHttps = await send(proxied.url, "POST", "/api/auth/login", { json: { password: proxied.password }, headers: { "x-forwarded-proto": "https" } });
    expect(viaHttps.status).toBe(200);
    expect(viaHttps.setCookies.length).toBeGreaterThanOrEqual(2);
    for (const c of viaHttps.setCookies) expect(c).toMatch(/; Secure$/);
    const viaHttp = await send(proxied.url, "POST", "/api/auth/login", { json: { password: proxied.password }, headers: { "x-forwarded-proto": "http" } });
    for (const c of viaHttp.setCookies) expect(c).not.toMatch(/Secure/);
    // One proxy, many clients: each forwarded address has its own counter.
    const guess = (xff: string) => send(proxied.url, "POST", "/api/auth/login", { json: { password: "wrong-guess" }, headers: { "x-forwarded-for": xff } });
    for (let i = 0; i < 10; i++) expect((await guess("198.51.100.1, 203.0.113.7")).status).toBe(401);
    expect((await guess("203.0.113.7")).status).toBe(429);
    expect((await guess("203.0.113.8")).status).toBe(401);
  });

  it("MAILLAB_PUBLIC_URL=https://…: every cookie is Secure; its origin counts as the app's own", async () => {
    const login = await send(https.url, "POST", "/api/auth/login", { json: { password: https.password }, headers: { origin: "https://maillab.example.org" } });
    expect(login.status).toBe(200);
    for (const c of login.setCookies) expect(c).toMatch(/; Secure$/);
    const foreign = await send(https.url, "POST", "/api/auth/login", { json: { password: https.password }, headers: { origin: "https://other.example.org" } });
    expect(foreign.status).toBe(403);
  });
});

describe("finding 7: display names", () => {
  const bad = { bidi: "Mallory\u202Etxt.exe", escape: "\u001b[2J\u001b[31mred", cr: "Eve\r\nInjected,row", nul: "a\u0000b", zeroWidth: "ad\u200Bmin" };

  it("join and self-paced start refuse control, escape, bidi and zero-width characters, in German and English; nothing is stored", async () => {
    const cls = await newClass("Names");
    for (const [kind, name] of Object.entries(bad)) {
      const de = await call("POST", "/api/session", { json: { name } });
      expect(de.status, kind).toBe(400);
      expect(de.json.code).toBe("invalid-input");
      expect(de.json.error).toMatch(/^name: Steuerzeichen, Zeilenumbrüche/);
      expect(de.setCookies).toEqual([]);
      const en = await call("POST", "/api/classes/join", { json: { code: cls.joinCode, name }, headers: { "accept-language": "en-GB,en;q=0.9" } });
      expect(en.status, kind).toBe(400);
      expect(en.json.error).toMatch(/^name: control characters, line breaks/);
    }
    expect((await admin("GET", `/api/classes/${cls.id}/progress`)).json.learners).toEqual([]);
    // Umlauts, emoji sequences (ZWJ) and combining marks are names like any other (stored NFC).
    const ok = await call("POST", "/api/classes/join", { json: { code: cls.joinCode, name: "  Jo\u0308rg 👩‍💻 " } });
    expect(ok.status).toBe(201);
    const learners = (await admin("GET", `/api/classes/${cls.id}/progress`)).json.learners as Array<{ name: string }>;
    expect(learners.map((l) => l.name)).toEqual(["Jörg 👩‍💻"]);
    await admin("DELETE", `/api/classes/${cls.id}`);
  }, 180_000);
});

describe("walkthrough: API errors in the caller's language", () => {
  it("every error has a stable code and a message in the request's language (?lang, cookie, Accept-Language, else German)", async () => {
    const cases: Array<{ opts: SendOptions; path?: string; lang: "de" | "en" }> = [
      { opts: {}, lang: "de" },
      { opts: { headers: { "accept-language": "en-US,en;q=0.9" } }, lang: "en" },
      { opts: { headers: { cookie: "maillab_lang=en" } }, lang: "en" },
      { opts: { headers: { cookie: "maillab_lang=en" } }, path: "?lang=de", lang: "de" },
    ];
    for (const c of cases) {
      const noEnv = await call("GET", `/api/environments/not-an-id${c.path ?? ""}`, c.opts);
      expect(noEnv.status).toBe(404);
      expect(noEnv.json).toEqual({ code: "no-environment", error: c.lang === "de" ? "Diese Lab-Umgebung gibt es nicht (mehr)." : "no such environment" });
      const unknownCode = await call("POST", `/api/classes/join${c.path ?? ""}`, { ...c.opts, from: "127.0.0.77", json: { code: "ZZZZZZ", name: "x" } });
      expect(unknownCode.status).toBe(404);
      expect(unknownCode.json.code).toBe("unknown-join-code");
      expect(unknownCode.json.error).toMatch(c.lang === "de" ? /^Unbekannter Kurscode/ : /^unknown join code/);
      const signIn = await call("GET", `/api/classes${c.path ?? ""}`, c.opts);
      expect(signIn.status).toBe(401);
      expect(signIn.json.code).toBe("instructor-sign-in");
      expect(signIn.json.error).toMatch(c.lang === "de" ? /^Bitte melden Sie sich/ : /^instructor sign-in required/);
      const invalid = await call("POST", `/api/classes/join${c.path ?? ""}`, { ...c.opts, from: "127.0.0.77", json: { code: 5 } });
      expect(invalid.status).toBe(400);
      expect(invalid.json.code).toBe("invalid-input");
      expect(invalid.json.error).toMatch(c.lang === "de" ? /code: Ungültige Eingabe/ : /code: Invalid input/);
    }
  });
});

describe("an app on an engine without hard disk limits (watchdog forced), with a small recording cap", () => {
  let small: RunningApp;
  const RECORDING_CAP = 256 * 1024;
  beforeAll(async () => {
    small = await startApp({
      MAILLAB_WARM_POOL: "0",
      MAILLAB_DISK_LIMIT_MB: String(DISK_LIMIT_MB),
      MAILLAB_DISK_LIMIT_MODE: "watchdog",
      MAILLAB_RECORDING_MAX_MB: String(RECORDING_CAP / MiB),
    });
  }, 900_000);
  afterAll(async () => {
    await small?.dispose();
  }, 120_000);

  it("finding 2: writing past the limit stops the machines; the learner's page and the instructor's dashboard say why, in German", async () => {
    const learner = await newClassLearner(small, "Disk filler");
    expect((await send(small.url, "GET", "/api/health")).json.docker).toMatchObject({ disk: { kind: "watchdog", limitBytes: DISK_LIMIT_MB * MiB } });
    const lab = await pageWithCookie(small, learner.cookie);
    await lab.goto(`${small.url}/lab/${learner.envId}`);
    await lab.getByTestId("check-now").waitFor();
    const mail = await openLabTerminal(small.url, learner.envId, "mail", { cookie: learner.cookie });
    // Two files of 150 MiB: each under the largest file allowed (the limit), together over the limit.
    const dd = await mail.run("for f in a b; do dd if=/dev/zero of=/root/$f bs=1M count=150 2>/dev/null; done; du -sm /root", 120_000);
    expect(dd.output).toMatch(/^30\d\s+\/root/m); // nothing in the machine stopped the writes

    const notice = lab.getByTestId("machine-notice");
    await notice.waitFor({ timeout: 90_000 });
    expect(await notice.getAttribute("data-notice")).toBe("disk-limit");
    expect(await notice.innerText()).toMatch(/^Ihre Maschinen haben zusammen \d+ MiB auf die Festplatte geschrieben, mehr als die erlaubten 256 MiB, und wurden deshalb angehalten\./);
    expect(dockerCli("inspect", "-f", "{{.State.Running}}", `maillab-${learner.envId}-mail`)).toBe("false");

    const dashboard = await newPage();
    await signInThroughPage(dashboard, small);
    await dashboard.getByTestId("class-title").waitFor();
    await dashboard.goto(`${small.url}/instructor/classes/${learner.classId}`);
    await expect.poll(() => dashboard.getByTestId("notice-Disk filler").innerText().catch(() => ""), { timeout: 15_000 }).toMatch(/^Speicherlimit überschritten \(\d+ von 256 MiB\): angehalten$/);
    mail.close();
    await send(small.url, "DELETE", `/api/classes/${learner.classId}`, { from: ADMIN, bearer: small.password });
  }, 300_000);

  it("finding 8: recordings stop at the environment's cap, keep what was typed, are for the instructor only, and go with the environment", async () => {
    const learner = await newLearner(small);
    const mail = await openLabTerminal(small.url, learner.envId, "mail", { cookie: learner.cookie });
    for (let i = 0; i < 3; i++) await mail.run("seq 1 30000"); // ~170 KiB of output each
    mail.close();
    await mail.closed;
    const list = async () => send(small.url, "GET", `/api/environments/${learner.envId}/recordings`, { from: ADMIN, bearer: small.password });
    const recordings = (await list()).json.recordings as Array<{ name: string; bytes: number }>;
    expect(recordings.length).toBeGreaterThanOrEqual(1);
    const total = recordings.reduce((n, r) => n + r.bytes, 0);
    expect(total).toBeLessThanOrEqual(RECORDING_CAP + 256); // ~510 KiB of output
    const casts = await Promise.all(recordings.map(async (r) => (await send(small.url, "GET", `/api/environments/${learner.envId}/recordings/${r.name}`, { from: ADMIN, bearer: small.password })).text));
    expect(casts.join("")).toContain('"i","seq 1 30000'); // typed input is recorded (passwords typed in a shell too)
    expect(casts.join("")).toContain("recording truncated");
    // The learner cannot read their own recordings (nor anyone else's).
    expect((await send(small.url, "GET", `/api/environments/${learner.envId}/recordings`, { cookie: learner.cookie })).status).toBe(403);

    expect((await send(small.url, "DELETE", `/api/environments/${learner.envId}`, { from: ADMIN, bearer: small.password })).status).toBe(200);
    expect(existsSync(path.join(small.dataDir, "recordings", learner.envId))).toBe(false);
    expect((await list()).status).toBe(404);
  }, 180_000);
});

describe("finding 8: a client that acks output it never reads", () => {
  it("cannot make the server queue output for it: the app's memory stays flat while `yes` runs", async () => {
    const learner = await newLearner();
    const mail = await openLabTerminal(app.url, learner.envId, "mail", { cookie: learner.cookie, ack: false });
    await mail.ready;
    mail.pauseReading();
    mail.type("yes 0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\r");
    const liar = setInterval(() => mail.ws.send(JSON.stringify({ type: "ack", seq: Number.MAX_SAFE_INTEGER })), 5);
    const rss = watchRss(pid);
    await new Promise((resolve) => setTimeout(resolve, 8000));
    clearInterval(liar);
    const mem = rss.stop();
    const health = await call("GET", "/api/health");
    console.log(`[security] false acks for 8 s: RSS ${(mem.before / MiB).toFixed(0)} → peak ${(mem.max / MiB).toFixed(0)} MiB, health ${health.ms.toFixed(0)} ms`);
    expect(mem.max - mem.before).toBeLessThan(64 * MiB);
    expect(health.status).toBe(200);
    mail.ws.terminate();
    await admin("DELETE", `/api/environments/${learner.envId}`);
  }, 120_000);
});

describe("finding 9: two apps on one engine", () => {
  let other: RunningApp;
  beforeAll(async () => {
    other = await startApp({ MAILLAB_WARM_POOL: "0", MAILLAB_DISK_LIMIT_MB: String(DISK_LIMIT_MB) });
  }, 900_000);
  afterAll(async () => {
    await other?.dispose();
  }, 120_000);

  it("an app starting beside another adopts its own environments and removes none of the other's", async () => {
    const mine = await newLearner(app);
    const theirs = await newLearner(other);
    const containers = () => dockerCli("ps", "-a", "--filter", "label=maillab.environment", "--format", "{{.Names}}").split("\n");
    expect(containers()).toEqual(expect.arrayContaining([`maillab-${mine.envId}-mail`, `maillab-${theirs.envId}-mail`]));
    // The other app restarts: its start-up adopts and cleans up, but only objects with its instance id.
    await other.restart();
    expect(other.output()).toMatch(/adopted 1, removed 0 orphan/);
    expect(containers()).toEqual(expect.arrayContaining([`maillab-${mine.envId}-mail`, `maillab-${mine.envId}-partner`, `maillab-${mine.envId}-probe`]));
    expect((await call("GET", `/api/environments/${mine.envId}`, { cookie: mine.cookie })).json).toMatchObject({ status: "running", notice: null });
    expect((await send(other.url, "GET", `/api/environments/${theirs.envId}`, { cookie: theirs.cookie })).json).toMatchObject({ status: "running" });
    await admin("DELETE", `/api/environments/${mine.envId}`);
    await send(other.url, "DELETE", `/api/environments/${theirs.envId}`, { from: ADMIN, bearer: other.password });
  }, 300_000);

  it("machines that vanish behind the app's back: the event stream says so at once, with what to do; a reset brings new ones", async () => {
    const learner = await newLearner();
    const stream = openEventStream(app.url, `/api/environments/${learner.envId}/events?lang=en`, { cookie: learner.cookie });
    await stream.next((e) => e.event === "environment");
    dockerCli("rm", "-f", `maillab-${learner.envId}-partner`);
    const gone = await stream.next((e) => e.data.status === "error", { timeoutMs: 10_000 });
    expect(gone.data.notice).toMatchObject({ code: "machine-removed", summary: "partner removed: reset" });
    expect(String((gone.data.notice as { message: string }).message)).toMatch(/^The machine “partner” was removed outside maillab .* Click “Reset machines” to get fresh ones\.$/);
    expect((await call("GET", `/api/environments/${learner.envId}`, { cookie: learner.cookie })).json.status).toBe("error");
    const from = stream.events.length;
    expect((await call("POST", `/api/environments/${learner.envId}/reset`, { cookie: learner.cookie })).status).toBe(200);
    await stream.next((e) => e.data.status === "running" && e.data.notice === null, { from, timeoutMs: 60_000 });
    stream.close();
    await admin("DELETE", `/api/environments/${learner.envId}`);
  }, 180_000);
});

describe("finding 10: keystrokes sent right after hello", () => {
  it("reach the shell once it is attached; a flood before ready is refused visibly (1008)", async () => {
    const learner = await newLearner();
    // A fresh environment's shells are started before anyone connects, so `ready` follows `hello` at
    // once. Keys sent before it matter on a reconnect to sleeping machines (idle stop): the shell
    // starts only after they are woken (1–3 s). Here they are stopped behind the app's back.
    const sleepMachines = async () => {
      dockerCli("stop", "-t", "1", ...(["mail", "partner", "probe"] as const).map((m) => `maillab-${learner.envId}-${m}`));
      await expect.poll(async () => (await call("GET", `/api/environments/${learner.envId}`, { cookie: learner.cookie })).json.status, { timeout: 20_000 }).toBe("stopped");
    };
    await sleepMachines();
    const early = await openLabTerminal(app.url, learner.envId, "partner", { cookie: learner.cookie, early: "echo early-$((6*7))\r" });
    await expect.poll(() => early.text(), { timeout: 60_000 }).toContain("early-42");
    expect(early.messages[0]).toMatchObject({ type: "ready" });
    early.close();
    // More than the server keeps before ready (64 KiB), in two frames under the frame limit.
    await sleepMachines();
    const flood = await openLabTerminal(app.url, learner.envId, "mail", { cookie: learner.cookie, early: [Buffer.alloc(32 * 1024 + 1, 0x61), Buffer.alloc(32 * 1024, 0x61)] });
    const closed = await flood.closed;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toMatch(/input before ready/);
    await admin("DELETE", `/api/environments/${learner.envId}`);
  }, 120_000);
});

describe("finding 11: a killed machine", () => {
  it("the event stream sends 'stopped' at once and the lab page says what happened; 'check now' brings it back", async () => {
    const learner = await newLearner();
    const lab = await pageWithCookie(app, learner.cookie);
    await lab.goto(`${app.url}/lab/${learner.envId}`);
    await lab.getByTestId("check-now").waitFor();
    const stream = openEventStream(app.url, `/api/environments/${learner.envId}/events`, { cookie: learner.cookie });
    await stream.next((e) => e.event === "environment");
    const mail = await openLabTerminal(app.url, learner.envId, "mail", { cookie: learner.cookie });
    await mail.ready;
    dockerCli("kill", `maillab-${learner.envId}-mail`);
    const stopped = await stream.next((e) => e.data.status === "stopped", { timeoutMs: 10_000 });
    expect(stopped.data.notice).toMatchObject({ code: "machine-exited", summary: "mail beendet (Exit 137)" });
    // The terminal saw its shell end (137), and the page says why.
    expect(await mail.closed).toMatchObject({ code: 1000 });
    expect(mail.messages).toContainEqual(expect.objectContaining({ type: "exit", code: 137 }));
    const notice = lab.getByTestId("machine-notice");
    await notice.waitFor({ timeout: 10_000 });
    expect(await notice.innerText()).toMatch(/^Die Maschine „mail“ wurde außerhalb von maillab beendet \(Exit-Code 137 = Signal KILL, z\. B\. durch docker kill\)\. Sie startet wieder, sobald Sie „Neue Shell starten“ oder „Jetzt prüfen“ klicken\.$/);
    expect(await notice.locator("code").innerText()).toBe("docker kill");

    await lab.getByTestId("check-now").click();
    await notice.waitFor({ state: "detached", timeout: 30_000 });
    expect((await call("GET", `/api/environments/${learner.envId}`, { cookie: learner.cookie })).json).toMatchObject({ status: "running", notice: null });
    stream.close();
    await admin("DELETE", `/api/environments/${learner.envId}`);
  }, 180_000);
});

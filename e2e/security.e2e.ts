import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { startApp, type RunningApp } from "./support/app";
import { launchBrowser } from "./support/browser";
import {
  autoSubmitForm,
  listenerPid,
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

async function signInThroughPage(page: Page) {
  await page.goto(`${app.url}/instructor`);
  await page.getByTestId("instructor-password").fill(app.password);
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
  app = await startApp({ MAILLAB_WARM_POOL: "0" });
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

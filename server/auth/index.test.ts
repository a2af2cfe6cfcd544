import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { openStore, type Store } from "../db";
import { createAuth, DEVICE_COOKIE, INSTRUCTOR_COOKIE } from "./index";

const PASSWORD = "correct horse battery";
let dir: string;
let store: Store;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "maillab-auth-"));
  store = openStore(dir);
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const auth = () => createAuth(store, { instructorPassword: PASSWORD, log: () => {} });
const cookieHeader = (cookies: Array<{ name: string; value: string }>) => cookies.map((c) => `${c.name}=${encodeURIComponent(c.value)}`).join("; ");

/** The longest gap between 5 ms timer ticks while `work` runs: how long the event loop was blocked. */
async function eventLoopStall<T>(work: () => Promise<T>): Promise<number> {
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
  }, 5);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return worst;
}

describe("instructor sessions", () => {
  it("sign-out revokes the session for good, also for a new process on the same data", async () => {
    const a = auth();
    const signedIn = await a.signIn(PASSWORD, { address: "192.0.2.1" });
    expect(signedIn.ok).toBe(true);
    const cookie = cookieHeader(signedIn.ok ? signedIn.cookies : []);
    expect(a.authenticate({ cookie })).toEqual({ kind: "instructor" });
    const cleared = a.signOut(cookie);
    expect(cleared).toMatchObject({ name: INSTRUCTOR_COOKIE, maxAge: 0 });
    expect(a.authenticate({ cookie })).toBeNull();
    expect(auth().authenticate({ cookie })).toBeNull();
  });

  it("expired revocations are dropped from the settings table", async () => {
    const a = auth();
    const old = a.instructorCookie(Date.now() - 13 * 60 * 60_000);
    a.signOut(cookieHeader([old]), Date.now() - 13 * 60 * 60_000 + 1);
    const fresh = a.instructorCookie();
    a.signOut(cookieHeader([fresh]));
    expect(Object.keys(JSON.parse(store.getSetting("instructor_sessions_revoked")!))).toHaveLength(1);
  });
});

describe("password attempts", () => {
  it("verifies off the event loop: a wrong password never stalls other requests for a whole scrypt", async () => {
    const a = auth();
    const stall = await eventLoopStall(() => Promise.all([1, 2, 3, 4].map((i) => a.signIn(`wrong-${i}`, { address: "192.0.2.9" }))));
    // A synchronous scrypt blocks ~40-100 ms per call on this machine; four in a row far more.
    expect(stall).toBeLessThan(30);
  });

  it("counts concurrent guesses before they are checked: 50 at once get at most 10 checks", async () => {
    const a = auth();
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => a.signIn(`guess-${i}`, { address: "198.51.100.1" })));
    expect(results.filter((r) => !r.ok && r.retryAfterS === 0)).toHaveLength(10);
    expect(results.filter((r) => !r.ok && r.retryAfterS > 0)).toHaveLength(40);
  });

  it("right passwords never count; a browser with a device cookie has its own counter", async () => {
    const a = auth();
    for (let i = 0; i < 20; i++) expect((await a.signIn(PASSWORD, { address: "203.0.113.5" })).ok).toBe(true);
    const first = await a.signIn(PASSWORD, { address: "203.0.113.5" });
    const device = first.ok ? first.cookies.find((c) => c.name === DEVICE_COOKIE) : undefined;
    expect(device).toMatchObject({ path: "/api/auth" });
    for (let i = 0; i < 10; i++) await a.signIn(`guess-${i}`, { address: "203.0.113.5" });
    expect(await a.signIn(PASSWORD, { address: "203.0.113.5" })).toMatchObject({ ok: false });
    expect((await a.signIn(PASSWORD, { address: "203.0.113.5", cookie: cookieHeader([device!]) })).ok).toBe(true);
    // A forged device cookie is just no device cookie.
    expect(await a.signIn(PASSWORD, { address: "203.0.113.5", cookie: `${DEVICE_COOKIE}=d:forged.sig` })).toMatchObject({ ok: false });
  });

  it("remembers a verified Bearer per address only, so a cache hit never helps a guesser elsewhere", async () => {
    const a = auth();
    const authorization = `Bearer ${PASSWORD}`;
    expect(a.authenticate({ authorization, address: "192.0.2.1" })).toBeNull();
    expect(await a.authenticateRequest({ authorization, address: "192.0.2.1" })).toEqual({ principal: { kind: "instructor" }, retryAfterS: 0 });
    expect(a.authenticate({ authorization, address: "192.0.2.1" })).toEqual({ kind: "instructor" });
    expect(a.authenticate({ authorization, address: "192.0.2.2" })).toBeNull();
    expect(a.authenticate({ authorization })).toBeNull();
    for (let i = 0; i < 10; i++) await a.authenticateRequest({ authorization: `Bearer wrong-${i}`, address: "192.0.2.2" });
    expect((await a.authenticateRequest({ authorization, address: "192.0.2.2" })).retryAfterS).toBeGreaterThan(0);
    expect((await a.authenticateRequest({ authorization, address: "192.0.2.1" })).principal).toEqual({ kind: "instructor" });
  });
});

describe("join attempts", () => {
  it("60 right codes and 59 typos from one address pass; the 61st unknown code waits, and so does the right one", () => {
    const a = auth();
    for (let i = 0; i < 60; i++) {
      const attempt = a.beginJoin("192.0.2.50", "ABCDEF");
      expect(attempt.retryAfterS).toBe(0);
      attempt.settle({ codeKnown: true, newLearner: true });
    }
    for (let i = 0; i < 60; i++) {
      const attempt = a.beginJoin("192.0.2.50", "ZZZZZZ");
      expect(attempt.retryAfterS, `typo ${i}`).toBe(0);
      attempt.settle({ codeKnown: false, newLearner: false });
    }
    expect(a.beginJoin("192.0.2.50", "ZZZZZZ").retryAfterS).toBeGreaterThan(0);
    expect(a.beginJoin("192.0.2.50", "ABCDEF").retryAfterS).toBeGreaterThan(0);
    expect(a.beginJoin("192.0.2.51", "ABCDEF").retryAfterS).toBe(0);
  });

  it("a code admits 200 new learners per 10 minutes; returning learners do not count", () => {
    const a = auth();
    for (let i = 0; i < 200; i++) a.beginJoin(`10.0.${i}.1`, "ABCDEF").settle({ codeKnown: true, newLearner: true });
    a.beginJoin("10.1.0.1", "ABCDEF").settle({ codeKnown: true, newLearner: false });
    expect(a.beginJoin("10.1.0.2", "ABCDEF").retryAfterS).toBeGreaterThan(0);
    expect(a.beginJoin("10.1.0.2", "GHJKMN").retryAfterS).toBe(0);
  });
});

import { createHmac, randomBytes } from "node:crypto";
import type { Store } from "../db";
import { hashPassword, randomId, sign, unsign, verifyPassword, verifyPasswordSync } from "./crypto";
import { addressKey, createCountLimiter, createFailureLimiter } from "./rate-limit";

export { randomId } from "./crypto";
export { addressKey } from "./rate-limit";

/** Cookie names, set httpOnly + SameSite=Lax (+ Secure when served over https). */
export const LEARNER_COOKIE = "maillab_learner";
export const INSTRUCTOR_COOKIE = "maillab_instructor";
/** Marks a browser the instructor signed in with before (see PASSWORD_LIMITS). */
export const DEVICE_COOKIE = "maillab_device";
/** Instructor sign-ins last a teaching day. */
const INSTRUCTOR_SESSION_MS = 12 * 60 * 60_000;
/** Learners come back days later to the same machines. */
const LEARNER_COOKIE_MAX_AGE_S = 60 * 24 * 60 * 60;
/** 400 days: the longest lifetime browsers keep (Chrome caps Max-Age there). */
const DEVICE_COOKIE_MAX_AGE_S = 400 * 24 * 60 * 60;
/** The device cookie only travels with sign-ins. */
const DEVICE_COOKIE_PATH = "/api/auth";
/** Settings key of the signed-out instructor sessions (id → expiry); expired ones are dropped. */
const REVOKED_KEY = "instructor_sessions_revoked";

/**
 * Wrong instructor passwords (sign-in form and `Authorization: Bearer` alike), per client and
 * window. A client is a device cookie when the browser has one, else the address.
 * - 10 per client in 15 min: the instructor mistyping never gets near it; a guesser gets
 *   960 a day per address.
 * - 100 for all clients without a device cookie together in 15 min; past that, every client with
 *   a failure of its own waits: a guesser spread over many addresses gets one guess per address
 *   per 15 min. Clients that typed it right are not affected.
 * - Browsers that signed in before send the device cookie: their own counter, outside the global
 *   rule, so a guesser behind the same NAT or proxy cannot lock the instructor out.
 * A generated password (16 of 31 characters, ~79 bits) is out of reach; a chosen one of ≥ 8
 * characters is only as good as it is unguessable (docs/security.md).
 */
const PASSWORD_LIMITS = { perKey: 10, global: 100, windowMs: 15 * 60_000 };
/**
 * Unknown join codes per address and window (successful joins never count). Codes are 6 of 31
 * characters: 31^6 ≈ 887 million.
 * - 60 per address in 10 min: a class of 60 behind one NAT may each mistype once; one address
 *   then finds one of 20 running classes with probability 60·20/887M ≈ 1.4e-6 per 10 min
 *   (≈ 1 in 5000 per day).
 * - 600 for all addresses together in 10 min; past that, addresses with a failure of their own
 *   wait (one guess per address per 10 min), addresses that only joined keep joining.
 */
const JOIN_LIMITS = { perKey: 60, global: 600, windowMs: 10 * 60_000 };
/**
 * New learners per class code in 10 min: a lecture hall of 200 joins at once; a code posted
 * publicly cannot create environments (two containers each) without bound.
 */
const JOINS_PER_CODE = { limit: 200, windowMs: 10 * 60_000 };
/** How long a verified Bearer password is remembered per client: one scrypt per 5 min for scripts. */
const BEARER_CACHE_MS = 5 * 60_000;
const BEARER_CACHE_MAX = 1000;

export type Principal = { kind: "learner"; learnerId: string } | { kind: "instructor" };

export interface RequestCredentials {
  cookie?: string | null;
  authorization?: string | null;
  /** The caller's address; Bearer passwords are only remembered per address. */
  address?: string;
}

export interface CookieSpec {
  name: string;
  value: string;
  maxAge: number;
  path?: string;
}

/** A wrong password or code, or refused before checking: retryAfterS > 0 means "too many". */
export type AttemptResult = { ok: true } | { ok: false; retryAfterS: number };

export function parseCookies(header: string | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    try {
      out[key] = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      // A malformed cookie is ignored like a missing one.
    }
  }
  return out;
}

function bearerOf(authorization: string | null | undefined): string | undefined {
  return authorization?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim() || undefined;
}

export function createAuth(store: Store, opts: { instructorPassword?: string; log?: (line: string) => void }) {
  const log = opts.log ?? ((line: string) => console.log(line));
  let secret = store.getSetting("cookie_secret");
  if (!secret) {
    secret = randomBytes(32).toString("base64url");
    store.setSetting("cookie_secret", secret);
  }
  const cookieSecret = secret;

  // The instructor password: from the environment (re-hashed when it changes), or generated once.
  let passwordHash = store.getSetting("instructor_password_hash");
  if (opts.instructorPassword) {
    if (!passwordHash || !verifyPasswordSync(opts.instructorPassword, passwordHash)) {
      passwordHash = hashPassword(opts.instructorPassword);
      store.setSetting("instructor_password_hash", passwordHash);
    }
  } else if (!passwordHash) {
    const generated = randomId(16);
    passwordHash = hashPassword(generated);
    store.setSetting("instructor_password_hash", passwordHash);
    log(`\n  Instructor password (shown once, stored hashed): ${generated}\n  Set MAILLAB_INSTRUCTOR_PASSWORD to choose your own.\n`);
  }
  const instructorHash = passwordHash;

  const passwordFailures = createFailureLimiter(PASSWORD_LIMITS);
  const deviceFailures = createFailureLimiter({ ...PASSWORD_LIMITS, global: Infinity });
  const joinFailures = createFailureLimiter(JOIN_LIMITS);
  const joinsPerCode = createCountLimiter(JOINS_PER_CODE);

  // Verified Bearer passwords, keyed by an HMAC of address + password (no password kept in memory);
  // per address, so a cache hit can never tell a guesser elsewhere that a guess is right.
  const verifiedBearers = new Map<string, number>();
  const bearerKey = (address: string, password: string) =>
    createHmac("sha256", cookieSecret).update(`${addressKey(address)}\0${password}`).digest("base64url");
  const bearerCached = (address: string | undefined, password: string, now: number) => {
    if (address === undefined) return false;
    const key = bearerKey(address, password);
    const expires = verifiedBearers.get(key);
    if (expires !== undefined && expires > now) return true;
    if (expires !== undefined) verifiedBearers.delete(key);
    return false;
  };
  const rememberBearer = (address: string, password: string, now: number) => {
    if (verifiedBearers.size >= BEARER_CACHE_MAX) verifiedBearers.delete(verifiedBearers.keys().next().value!);
    verifiedBearers.set(bearerKey(address, password), now + BEARER_CACHE_MS);
  };

  // Signed-out instructor sessions: their cookies stay signed, so the server has to remember them.
  const revoked = new Map<string, number>(Object.entries(parseJson(store.getSetting(REVOKED_KEY))));

  function instructorSession(cookies: Record<string, string>, now: number): { sid: string; expires: number } | undefined {
    const value = cookies[INSTRUCTOR_COOKIE] && unsign(cookieSecret, cookies[INSTRUCTOR_COOKIE]);
    const [kind, expiresText, sid] = value ? value.split(":") : [];
    const expires = Number(expiresText);
    if (kind !== "i" || !sid || !(expires > now) || revoked.has(sid)) return undefined;
    return { sid, expires };
  }

  function learnerOfCookies(cookies: Record<string, string>): string | null {
    const learner = cookies[LEARNER_COOKIE] && unsign(cookieSecret, cookies[LEARNER_COOKIE]);
    return learner?.startsWith("l:") && store.getLearner(learner.slice(2)) ? learner.slice(2) : null;
  }

  function deviceOf(cookieHeader: string | null | undefined): string | undefined {
    const value = parseCookies(cookieHeader)[DEVICE_COOKIE];
    const device = value && unsign(cookieSecret, value);
    return device?.startsWith("d:") ? device.slice(2) : undefined;
  }

  /**
   * Checks the instructor password for `client`, counting the attempt before the slow scrypt
   * runs (so a burst of concurrent guesses is limited too) and taking it back when it was right.
   */
  async function attemptPassword(password: string, client: { address: string; device?: string }, now = Date.now()): Promise<AttemptResult> {
    const limiter = client.device ? deviceFailures : passwordFailures;
    const key = client.device ? `device:${client.device}` : addressKey(client.address);
    const wait = limiter.check(key, now);
    if (wait > 0) return { ok: false, retryAfterS: wait };
    const at = limiter.fail(key, now);
    const ok = await verifyPassword(password, instructorHash);
    if (!ok) return { ok: false, retryAfterS: 0 };
    limiter.forgive(key, at);
    return { ok: true };
  }

  function authenticateCookies(cookie: string | null | undefined, now: number): Principal | null {
    const cookies = parseCookies(cookie);
    if (instructorSession(cookies, now)) return { kind: "instructor" };
    const learnerId = learnerOfCookies(cookies);
    return learnerId ? { kind: "learner", learnerId } : null;
  }

  return {
    learnerCookie(learnerId: string): CookieSpec {
      return { name: LEARNER_COOKIE, value: sign(cookieSecret, `l:${learnerId}`), maxAge: LEARNER_COOKIE_MAX_AGE_S };
    },
    instructorCookie(now = Date.now()): CookieSpec {
      return {
        name: INSTRUCTOR_COOKIE,
        value: sign(cookieSecret, `i:${now + INSTRUCTOR_SESSION_MS}:${randomId(12)}`),
        maxAge: INSTRUCTOR_SESSION_MS / 1000,
      };
    },

    /**
     * Instructor sign-in. Returns the cookies to set: the session and, for a browser without
     * one, the device cookie that gives it its own failure counter next time.
     */
    async signIn(password: string, client: { address: string; cookie?: string | null }, now = Date.now()): Promise<{ ok: true; cookies: CookieSpec[] } | { ok: false; retryAfterS: number }> {
      const device = deviceOf(client.cookie);
      const result = await attemptPassword(password, { address: client.address, device }, now);
      if (!result.ok) return result;
      const cookies = [this.instructorCookie(now)];
      if (!device) cookies.push({ name: DEVICE_COOKIE, value: sign(cookieSecret, `d:${randomId(16)}`), maxAge: DEVICE_COOKIE_MAX_AGE_S, path: DEVICE_COOKIE_PATH });
      return { ok: true, cookies };
    },

    /** Signs the instructor session of this cookie header out for good (its cookie stops working). */
    signOut(cookie: string | null | undefined, now = Date.now()): CookieSpec {
      const session = instructorSession(parseCookies(cookie), now);
      if (session) {
        revoked.set(session.sid, session.expires);
        for (const [sid, expires] of revoked) if (expires <= now) revoked.delete(sid);
        store.setSetting(REVOKED_KEY, JSON.stringify(Object.fromEntries(revoked)));
      }
      return { name: INSTRUCTOR_COOKIE, value: "", maxAge: 0 };
    },

    /**
     * Who is asking, without waiting: the cookies, or a Bearer password this address verified
     * within the last minutes. An unverified Bearer yields null here; route handlers use
     * authenticateRequest, which verifies it (rate limited, off the event loop).
     */
    authenticate(creds: RequestCredentials, now = Date.now()): Principal | null {
      const bearer = bearerOf(creds.authorization);
      if (bearer) return bearerCached(creds.address, bearer, now) ? { kind: "instructor" } : null;
      return authenticateCookies(creds.cookie, now);
    },

    /**
     * Who is asking, verifying a Bearer password when needed. `retryAfterS` > 0: too many wrong
     * passwords from this address; the Bearer was not checked.
     */
    async authenticateRequest(creds: RequestCredentials & { address: string }, now = Date.now()): Promise<{ principal: Principal | null; retryAfterS: number }> {
      const bearer = bearerOf(creds.authorization);
      if (!bearer) return { principal: authenticateCookies(creds.cookie, now), retryAfterS: 0 };
      if (bearerCached(creds.address, bearer, now)) return { principal: { kind: "instructor" }, retryAfterS: 0 };
      const result = await attemptPassword(bearer, { address: creds.address }, now);
      if (!result.ok) return { principal: null, retryAfterS: result.retryAfterS };
      rememberBearer(creds.address, bearer, now);
      return { principal: { kind: "instructor" }, retryAfterS: 0 };
    },

    /** Both roles at once (an instructor testing as a learner in the same browser). */
    learnerOf(creds: RequestCredentials): string | null {
      return learnerOfCookies(parseCookies(creds.cookie));
    },

    /**
     * Join codes (see JOIN_LIMITS): an attempt counts as a failure from the start, so concurrent
     * guesses cannot all pass before one has failed; `settle` takes it back when the code existed.
     */
    beginJoin(address: string, code: string, now = Date.now()): { retryAfterS: number; settle: (outcome: { codeKnown: boolean; newLearner: boolean }) => void } {
      const key = addressKey(address);
      const wait = Math.max(joinFailures.check(key, now), joinsPerCode.check(code, now));
      if (wait > 0) return { retryAfterS: wait, settle: () => {} };
      const at = joinFailures.fail(key, now);
      return {
        retryAfterS: 0,
        settle({ codeKnown, newLearner }) {
          if (codeKnown) joinFailures.forgive(key, at);
          if (newLearner) joinsPerCode.count(code, now);
        },
      };
    },
  };
}

function parseJson(text: string | undefined): Record<string, number> {
  try {
    const value: unknown = JSON.parse(text ?? "{}");
    return typeof value === "object" && value !== null ? (value as Record<string, number>) : {};
  } catch {
    return {};
  }
}

export type Auth = ReturnType<typeof createAuth>;

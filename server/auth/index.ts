import { createHash, randomBytes } from "node:crypto";
import type { Store } from "../db";
import { hashPassword, randomId, sign, unsign, verifyPassword } from "./crypto";
import { createRateLimiter } from "./rate-limit";

export { randomId } from "./crypto";

/** Cookie names, set httpOnly + SameSite=Lax. */
export const LEARNER_COOKIE = "maillab_learner";
export const INSTRUCTOR_COOKIE = "maillab_instructor";
/** Instructor sign-ins last a teaching day. */
const INSTRUCTOR_SESSION_MS = 12 * 60 * 60_000;
/** Learners come back days later to the same machines. */
const LEARNER_COOKIE_MAX_AGE_S = 60 * 24 * 60 * 60;

export type Principal = { kind: "learner"; learnerId: string } | { kind: "instructor" };

export interface RequestCredentials {
  cookie?: string | null;
  authorization?: string | null;
}

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
    if (!passwordHash || !verifyPassword(opts.instructorPassword, passwordHash)) {
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
  // Bearer tokens are checked on every API call: remember the digests that verified (scrypt is slow on purpose).
  const verifiedBearers = new Set<string>();
  const loginLimiter = createRateLimiter({ limit: 10, windowMs: 60_000 });
  const joinLimiter = createRateLimiter({ limit: 10, windowMs: 60_000 });

  function checkPassword(password: string): boolean {
    const digest = createHash("sha256").update(password).digest("hex");
    if (verifiedBearers.has(digest)) return true;
    const ok = verifyPassword(password, instructorHash);
    if (ok) verifiedBearers.add(digest);
    return ok;
  }

  return {
    loginLimiter,
    joinLimiter,
    checkPassword,

    learnerCookie(learnerId: string) {
      return { name: LEARNER_COOKIE, value: sign(cookieSecret, `l:${learnerId}`), maxAge: LEARNER_COOKIE_MAX_AGE_S };
    },
    instructorCookie(now = Date.now()) {
      return {
        name: INSTRUCTOR_COOKIE,
        value: sign(cookieSecret, `i:${now + INSTRUCTOR_SESSION_MS}:${randomId(8)}`),
        maxAge: INSTRUCTOR_SESSION_MS / 1000,
      };
    },

    /** Who is asking: the Bearer password wins, then the instructor cookie, then the learner cookie. */
    authenticate(creds: RequestCredentials, now = Date.now()): Principal | null {
      const bearer = creds.authorization?.match(/^Bearer\s+(.+)$/i)?.[1];
      if (bearer) return checkPassword(bearer.trim()) ? { kind: "instructor" } : null;
      const cookies = parseCookies(creds.cookie);
      const instructor = cookies[INSTRUCTOR_COOKIE] && unsign(cookieSecret, cookies[INSTRUCTOR_COOKIE]);
      if (instructor) {
        const expires = Number(instructor.split(":")[1]);
        if (expires > now) return { kind: "instructor" };
      }
      const learner = cookies[LEARNER_COOKIE] && unsign(cookieSecret, cookies[LEARNER_COOKIE]);
      if (learner?.startsWith("l:")) {
        const learnerId = learner.slice(2);
        if (store.getLearner(learnerId)) return { kind: "learner", learnerId };
      }
      return null;
    },

    /** Both roles at once (an instructor testing as a learner in the same browser). */
    learnerOf(creds: RequestCredentials): string | null {
      const cookies = parseCookies(creds.cookie);
      const learner = cookies[LEARNER_COOKIE] && unsign(cookieSecret, cookies[LEARNER_COOKIE]);
      return learner?.startsWith("l:") && store.getLearner(learner.slice(2)) ? learner.slice(2) : null;
    },
  };
}

export type Auth = ReturnType<typeof createAuth>;

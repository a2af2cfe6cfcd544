import { parseOr400 } from "../http-error";
import { loginBody } from "@/lib/api-schema";
import type { RequestScope } from "./route";
import { apiErrors } from "./errors";

/** GET /api/health — open to all: operators and load balancers poll it. */
export async function health(s: RequestScope) {
  const report = await s.ctx.health();
  return Response.json(report, { status: report.ok ? 200 : 503 });
}

/** GET /api/labs — the course: labs and their steps (ids, titles). */
export function labs(s: RequestScope) {
  const { course } = s.ctx.maillab;
  return {
    id: course.id,
    title: course.title[s.lang],
    labs: course.labs.map((l) => ({
      id: l.id,
      title: l.title[s.lang],
      steps: l.steps.map((st) => ({ id: st.id, title: st.title[s.lang], kind: st.kind })),
    })),
  };
}

/**
 * POST /api/auth/login { password } — instructor sign-in. Wrong passwords are limited per client
 * (server/auth/index.ts PASSWORD_LIMITS); a browser that signed in before has its own counter.
 */
export async function login(s: RequestScope) {
  const body = parseOr400(loginBody, await s.json());
  const result = await s.ctx.auth.signIn(body.password, { address: s.ip, cookie: s.req.headers.get("cookie") });
  if (!result.ok) throw result.retryAfterS > 0 ? apiErrors.tooManySignIns(result.retryAfterS) : apiErrors.wrongPassword();
  return s.setCookies(Response.json({ ok: true }), ...result.cookies);
}

/** POST /api/auth/logout — the session's cookie stops working here too, not only in this browser. */
export function logout(s: RequestScope) {
  return s.setCookies(Response.json({ ok: true }), s.ctx.auth.signOut(s.req.headers.get("cookie")));
}

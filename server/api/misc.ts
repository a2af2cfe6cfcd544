import { ApiError, parseOr400 } from "../http-error";
import { loginBody } from "@/lib/api-schema";
import { setCookie, type RequestScope } from "./route";
import { INSTRUCTOR_COOKIE } from "../auth";

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

/** POST /api/auth/login { password } — instructor sign-in, rate limited. */
export async function login(s: RequestScope) {
  const wait = s.ctx.auth.loginLimiter.hit(s.ip);
  if (wait > 0) throw new ApiError(429, `too many attempts; try again in ${wait} s`, { retryAfterS: wait });
  const body = parseOr400(loginBody, await s.json());
  if (!s.ctx.auth.checkPassword(body.password)) throw new ApiError(401, "wrong password");
  return setCookie(Response.json({ ok: true }), s.ctx.auth.instructorCookie());
}

/** POST /api/auth/logout */
export function logout() {
  return setCookie(Response.json({ ok: true }), { name: INSTRUCTOR_COOKIE, value: "", maxAge: 0 });
}

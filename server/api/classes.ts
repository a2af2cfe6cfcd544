import { isApiError, parseOr400 } from "../http-error";
import { classIdParam, createClassBody, joinBody, presenterBody, prewarmBody } from "@/lib/api-schema";
import type { ClassCreated, ClassEvents, ClassList, JoinResult, OkResult, PoolStatus } from "@/lib/api-types";
import type { RequestScope } from "./route";
import { apiErrors } from "./errors";
import { sseResponse } from "./sse";

function classId(id: string | undefined) {
  const parsed = classIdParam.safeParse(id);
  if (!parsed.success) throw apiErrors.noClass();
  return parsed.data;
}

function joinUrl(s: RequestScope, code: string) {
  const base = s.ctx.config.publicUrl ?? `${new URL(s.req.url).protocol}//${s.req.headers.get("host") ?? "localhost"}`;
  return `${base.replace(/\/$/, "")}/join/${code}`;
}

/** POST /api/classes { title, labs } */
export async function create(s: RequestScope) {
  s.requireInstructor();
  const body = parseOr400(createClassBody, await s.json());
  const cls = s.ctx.maillab.createClass(body.title, body.labs);
  return Response.json({ id: cls.id, joinCode: cls.joinCode, joinUrl: joinUrl(s, cls.joinCode) } satisfies ClassCreated, { status: 201 });
}

/** GET /api/classes */
export function list(s: RequestScope): ClassList {
  s.requireInstructor();
  return {
    classes: s.ctx.store.listClasses().map((c) => ({
      id: c.id, title: c.title, joinCode: c.joinCode, joinUrl: joinUrl(s, c.joinCode),
      labs: JSON.parse(c.labs) as string[], createdAt: c.createdAt, endedAt: c.endedAt,
    })),
  };
}

/**
 * POST /api/classes/join { code, name } — unknown codes are limited per address; right codes
 * never count (a class behind one NAT joins at once; server/auth/index.ts JOIN_LIMITS).
 */
export async function join(s: RequestScope) {
  const body = parseOr400(joinBody, await s.json());
  const attempt = s.ctx.auth.beginJoin(s.ip, body.code);
  if (attempt.retryAfterS > 0) throw apiErrors.tooManyJoins(attempt.retryAfterS);
  let result: Awaited<ReturnType<typeof s.ctx.maillab.join>>;
  try {
    result = await s.ctx.maillab.join(body.code, body.name, s.learnerId);
  } catch (error) {
    // 404 = no class has this code: the one outcome a guesser produces. Anything else found it.
    attempt.settle({ codeKnown: !(isApiError(error) && error.status === 404), newLearner: false });
    throw error;
  }
  attempt.settle({ codeKnown: true, newLearner: result.learnerId !== s.learnerId });
  const res = Response.json(
    { ...s.ctx.maillab.environmentView(result.environment, s.lang), class: { id: result.class.id, title: result.class.title } } satisfies JoinResult,
    { status: 201 },
  );
  return s.setCookies(res, s.ctx.auth.learnerCookie(result.learnerId));
}

/** GET /api/classes/:id/progress */
export function progress(s: RequestScope, p: Record<string, string>) {
  s.requireInstructor();
  return s.ctx.maillab.progress(classId(p.id), s.lang);
}

/** GET /api/classes/:id/export.csv */
export function exportCsv(s: RequestScope, p: Record<string, string>) {
  s.requireInstructor();
  const id = classId(p.id);
  const csv = s.ctx.maillab.exportCsv(id, s.lang);
  return new Response(csv, {
    headers: { "content-type": "text/csv; charset=utf-8", "content-disposition": `attachment; filename="maillab-${id}.csv"` },
  });
}

/** DELETE /api/classes/:id — ends the class, removes its environments, keeps results. */
export async function end(s: RequestScope, p: Record<string, string>): Promise<OkResult> {
  s.requireInstructor();
  await s.ctx.maillab.endClass(classId(p.id));
  return { ok: true };
}

/** POST /api/classes/:id/prewarm { count } */
export async function prewarm(s: RequestScope, p: Record<string, string>): Promise<PoolStatus> {
  s.requireInstructor();
  const id = classId(p.id);
  const body = parseOr400(prewarmBody, await s.json());
  return s.ctx.maillab.prewarm(id, body.count);
}

/** GET /api/classes/:id/prewarm — the warm pool's progress, for the pre-warm progress bar. */
export function prewarmStatus(s: RequestScope, p: Record<string, string>): PoolStatus {
  s.requireInstructor();
  return s.ctx.maillab.prewarmStatus(classId(p.id));
}

/** POST /api/classes/:id/presenter { slide?, follow? } */
export async function presenter(s: RequestScope, p: Record<string, string>): Promise<OkResult> {
  s.requireInstructor();
  const body = parseOr400(presenterBody, await s.json());
  s.ctx.maillab.setPresenter(classId(p.id), body);
  return { ok: true };
}

/**
 * GET /api/classes/:id/events — for the instructor: the progress grid on every change;
 * for a learner of the class: the presenter slide (follow mode) only.
 */
export function events(s: RequestScope, p: Record<string, string>) {
  const id = classId(p.id);
  const { maillab, events: bus, store } = s.ctx;
  const cls = maillab.getClass(id);
  const isInstructor = s.principal?.kind === "instructor";
  if (!isInstructor) {
    const learner = s.learnerId ? store.getLearner(s.learnerId) : undefined;
    if (!learner) throw apiErrors.joinFirst();
    if (learner.classId !== cls.id) throw apiErrors.notYourClass();
  }
  return sseResponse<ClassEvents>(s.req, (send) => {
    let timer: NodeJS.Timeout | undefined;
    const push = () => {
      // Coalesce bursts (30 learners typing) into at most ~4 grid updates a second.
      if (timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        const c = store.getClass(id);
        if (!c) return;
        send("presenter", { slide: c.presenterSlide, follow: c.followSlides, endedAt: c.endedAt });
        if (isInstructor) send("progress", maillab.progress(id, s.lang));
      }, 250);
    };
    push();
    const offClass = bus.on("class", (e) => e.classId === id && push());
    const offEnv = bus.on("environment", (e) => e.classId === id && isInstructor && push());
    return () => {
      clearTimeout(timer);
      offClass();
      offEnv();
    };
  });
}

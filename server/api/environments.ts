import { parseOr400 } from "../http-error";
import { createEnvironmentBody, environmentIdParam, solveBody, startSelfPacedBody, switchLabBody } from "@/lib/api-schema";
import type { EnvironmentEvents, RecordingList } from "@/lib/api-types";
import type { RequestScope } from "./route";
import { apiErrors } from "./errors";
import { sseResponse } from "./sse";

function envRow(s: RequestScope, id: string | undefined) {
  const parsed = environmentIdParam.safeParse(id);
  if (!parsed.success) throw apiErrors.noEnvironment();
  return s.ctx.maillab.authorize(s.principal, parsed.data);
}

/** POST /api/session — start self-paced: a learner cookie and an environment, no account. */
export async function startSelfPaced(s: RequestScope) {
  const body = parseOr400(startSelfPacedBody, await s.json());
  const { maillab, auth } = s.ctx;
  const lab = body.lab ?? maillab.course.labs[0]!.id;
  const learnerId = s.principal?.kind === "learner" ? s.principal.learnerId : s.learnerId;
  const result = await maillab.startSelfPaced(learnerId, body.name, lab);
  const res = Response.json(maillab.environmentView(result.environment, s.lang), { status: 201 });
  return s.setCookies(res, auth.learnerCookie(result.learnerId));
}

/** POST /api/environments */
export async function create(s: RequestScope) {
  const body = parseOr400(createEnvironmentBody, await s.json());
  const row = await s.ctx.maillab.createEnvironment(s.principal, body.lab);
  return Response.json(s.ctx.maillab.environmentView(row, s.lang), { status: 201 });
}

/** GET /api/environments/:id */
export function get(s: RequestScope, p: Record<string, string>) {
  return s.ctx.maillab.environmentView(envRow(s, p.id), s.lang);
}

/** POST /api/environments/:id/check */
export async function check(s: RequestScope, p: Record<string, string>) {
  const row = envRow(s, p.id);
  await s.ctx.maillab.checkNow(row);
  return s.ctx.maillab.environmentView(row, s.lang);
}

/** POST /api/environments/:id/solve { upTo } */
export async function solve(s: RequestScope, p: Record<string, string>) {
  const row = envRow(s, p.id);
  const body = parseOr400(solveBody, await s.json());
  await s.ctx.maillab.solve(row, body.upTo);
  return s.ctx.maillab.environmentView(s.ctx.store.getEnvironment(row.id)!, s.lang);
}

/** POST /api/environments/:id/lab { lab } — "skip to Lab 12.2". */
export async function switchLab(s: RequestScope, p: Record<string, string>) {
  const row = envRow(s, p.id);
  const body = parseOr400(switchLabBody, await s.json());
  await s.ctx.maillab.switchLab(row, body.lab);
  return s.ctx.maillab.environmentView(s.ctx.store.getEnvironment(row.id)!, s.lang);
}

/** POST /api/environments/:id/reset */
export async function reset(s: RequestScope, p: Record<string, string>) {
  const row = envRow(s, p.id);
  await s.ctx.maillab.reset(row);
  return s.ctx.maillab.environmentView(s.ctx.store.getEnvironment(row.id)!, s.lang);
}

/** DELETE /api/environments/:id */
export async function destroy(s: RequestScope, p: Record<string, string>) {
  const row = envRow(s, p.id);
  await s.ctx.maillab.destroy(row);
  return { ok: true, id: row.id };
}

/** GET /api/environments/:id/events — server-sent events: the step list whenever it changes. */
export async function events(s: RequestScope, p: Record<string, string>) {
  const row = envRow(s, p.id);
  const { maillab, events: bus, store } = s.ctx;
  await maillab.open(row);
  return sseResponse<EnvironmentEvents>(s.req, (send) => {
    const push = () => {
      const current = store.getEnvironment(row.id);
      if (current) send("environment", maillab.environmentView(current, s.lang));
    };
    push();
    // An open page counts as activity: the reaper must not stop machines someone is looking at.
    const keepAlive = setInterval(() => maillab.touch(row.id), 60_000);
    const off = bus.on("environment", (e) => e.environmentId === row.id && push());
    return () => {
      clearInterval(keepAlive);
      off();
    };
  });
}

/** GET /api/environments/:id/recordings (instructor) */
export async function recordings(s: RequestScope, p: Record<string, string>): Promise<RecordingList> {
  s.requireInstructor();
  const row = envRow(s, p.id);
  return { recordings: await s.ctx.recordings.list(row.id) };
}

/** GET /api/environments/:id/recordings/:name (instructor) — the asciicast v2 file. */
export async function recording(s: RequestScope, p: Record<string, string>) {
  s.requireInstructor();
  const row = envRow(s, p.id);
  if (!/^[a-z]+-\d+\.cast$/.test(p.name ?? "")) throw apiErrors.noRecording();
  const text = await s.ctx.recordings.read(row.id, p.name!);
  if (text === null) throw apiErrors.noRecording();
  return new Response(text, { headers: { "content-type": "application/x-asciicast; charset=utf-8" } });
}

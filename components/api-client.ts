/**
 * Browser-side calls to our own API (docs/api.md), typed by the contract in lib/api-types.ts:
 * one function per route, request bodies typed by the zod schemas that parse them on the server.
 * Every call names the page's language, so errors come back in it.
 */
import type { z } from "zod";
import type {
  ApiErrorBody,
  ClassCreated,
  ClassEvents,
  EnvironmentEvents,
  EnvironmentView,
  EnvironmentsHealth,
  JoinResult,
  Lang,
  OkResult,
  PoolStatus,
  RecordingList,
} from "@/lib/api-types";
import type { createClassBody, joinBody, presenterBody, startSelfPacedBody } from "@/lib/api-schema";

/** An error answer: its status, its stable `code` (branch on this) and the message for people. */
export class ApiCallError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function withLang(path: string, lang: Lang): string {
  return `${path}${path.includes("?") ? "&" : "?"}lang=${lang}`;
}

async function call<T>(lang: Lang, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(withLang(path, lang), {
    method,
    headers: body === undefined ? undefined : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  const text = await res.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  if (!res.ok) {
    const err = (data ?? {}) as Partial<ApiErrorBody>;
    throw new ApiCallError(res.status, err.code ?? `http-${res.status}`, err.error ?? `${res.status} ${res.statusText}`);
  }
  return data as T;
}

const env = (id: string) => `/api/environments/${encodeURIComponent(id)}`;
const cls = (id: string) => `/api/classes/${encodeURIComponent(id)}`;

export function apiClient(lang: Lang) {
  return {
    startSelfPaced: (body: z.input<typeof startSelfPacedBody>) => call<EnvironmentView>(lang, "POST", "/api/session", body),
    join: (body: z.input<typeof joinBody>) => call<JoinResult>(lang, "POST", "/api/classes/join", body),
    checkNow: (id: string) => call<EnvironmentView>(lang, "POST", `${env(id)}/check`),
    skipToLab: (id: string, lab: string) => call<EnvironmentView>(lang, "POST", `${env(id)}/lab`, { lab }),
    solveUpTo: (id: string, upTo: string) => call<EnvironmentView>(lang, "POST", `${env(id)}/solve`, { upTo }),
    reset: (id: string) => call<EnvironmentView>(lang, "POST", `${env(id)}/reset`),
    recordings: (id: string) => call<RecordingList>(lang, "GET", `${env(id)}/recordings`),
    login: (password: string) => call<OkResult>(lang, "POST", "/api/auth/login", { password }),
    logout: () => call<OkResult>(lang, "POST", "/api/auth/logout"),
    createClass: (body: z.input<typeof createClassBody>) => call<ClassCreated>(lang, "POST", "/api/classes", body),
    endClass: (id: string) => call<OkResult>(lang, "DELETE", cls(id)),
    prewarm: (id: string, count: number) => call<PoolStatus>(lang, "POST", `${cls(id)}/prewarm`, { count }),
    poolStatus: (id: string) => call<PoolStatus>(lang, "GET", `${cls(id)}/prewarm`),
    presenter: (id: string, change: z.input<typeof presenterBody>) => call<OkResult>(lang, "POST", `${cls(id)}/presenter`, change),
    /** The environments part of `GET /api/health` (public): what a learner waiting for machines waits for. */
    environmentsHealth: async () => (await call<{ environments: EnvironmentsHealth }>(lang, "GET", "/api/health")).environments,
  };
}
export type ApiClient = ReturnType<typeof apiClient>;

/** A server-sent event stream and the events it sends (the phantom field carries their types). */
export interface EventStream<Events> {
  url: string;
  readonly events?: Events;
}

export const eventStreams = {
  environment: (id: string, lang: Lang): EventStream<EnvironmentEvents> => ({ url: withLang(`${env(id)}/events`, lang) }),
  class: (id: string, lang: Lang): EventStream<ClassEvents> => ({ url: withLang(`${cls(id)}/events`, lang) }),
};

/** The CSV export's address (a download link, not a fetch). */
export const exportCsvUrl = (id: string, lang: Lang) => withLang(`${cls(id)}/export.csv`, lang);

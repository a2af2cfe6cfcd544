import { errorBody, isApiError, type ApiError } from "../http-error";
import { getContext, type AppContext } from "../context";
import type { CookieSpec, Principal } from "../auth";
import type { Lang } from "@/lib/api-types";
import { apiErrors } from "./errors";
import { CLIENT_HEADERS } from "./client";
import { langOf } from "./lang";
import { checkStateChangingRequest, readJson } from "./request-guards";

export { langOf } from "./lang";

/** Everything a thin route handler needs from its request, parsed once. */
export interface RequestScope {
  req: Request;
  ctx: AppContext;
  principal: Principal | null;
  /** The learner cookie's learner, even when an instructor cookie is present too. */
  learnerId: string | null;
  lang: Lang;
  /** The caller's address as server/main.ts saw it (or a trusted proxy reported it). */
  ip: string;
  /** Served over https (MAILLAB_PUBLIC_URL, or a trusted proxy's X-Forwarded-Proto): cookies get Secure. */
  secure: boolean;
  /** The JSON body: streamed, at most MAX_BODY_BYTES (server/api/request-guards.ts). */
  json: () => Promise<unknown>;
  requireInstructor: () => void;
  /** Adds Set-Cookie headers with the attributes of docs/security.md. */
  setCookies: (res: Response, ...cookies: CookieSpec[]) => Response;
}

export function serializeCookie(cookie: CookieSpec, secure: boolean): string {
  return `${cookie.name}=${encodeURIComponent(cookie.value)}; Path=${cookie.path ?? "/"}; HttpOnly; SameSite=Lax; Max-Age=${cookie.maxAge}${secure ? "; Secure" : ""}`;
}

function isSecure(req: Request, ctx: AppContext): boolean {
  if (ctx.config.publicUrl) return new URL(ctx.config.publicUrl).protocol === "https:";
  return req.headers.get(CLIENT_HEADERS.proto) === "https";
}

async function scope(req: Request, ctx: AppContext, lang: Lang): Promise<RequestScope> {
  const ip = req.headers.get(CLIENT_HEADERS.address) ?? "unknown";
  const creds = { cookie: req.headers.get("cookie"), authorization: req.headers.get("authorization"), address: ip };
  const { principal, retryAfterS } = await ctx.auth.authenticateRequest(creds);
  if (retryAfterS > 0) throw apiErrors.tooManySignIns(retryAfterS);
  const bearerRejected = !principal && /^Bearer\s/i.test(creds.authorization ?? "");
  const secure = isSecure(req, ctx);
  return {
    req,
    ctx,
    principal,
    learnerId: ctx.auth.learnerOf(creds),
    lang,
    ip,
    secure,
    json: () => readJson(req),
    requireInstructor() {
      if (!principal) throw bearerRejected ? apiErrors.badBearer() : apiErrors.instructorRequired();
      if (principal.kind !== "instructor") throw apiErrors.instructorOnly();
    },
    setCookies(res, ...cookies) {
      for (const cookie of cookies) res.headers.append("set-cookie", serializeCookie(cookie, secure));
      return res;
    },
  };
}

/** An error as the caller sees it: `{ error, code, ...details }` in their language (docs/api.md). */
export function errorResponse(error: ApiError, lang: Lang): Response {
  const headers = new Headers();
  const retryAfter = error.extra?.retryAfterS;
  if (typeof retryAfter === "number") headers.set("retry-after", String(retryAfter));
  return Response.json(errorBody(error, lang), { status: error.status, headers });
}

type Params = Record<string, string>;
type Handler = (s: RequestScope, params: Params) => Promise<Response | unknown> | Response | unknown;

/**
 * Wraps a handler: refuses cross-origin and non-JSON state changes, authenticates, then JSON out;
 * ApiError → its status in the caller's language, anything else → 500 without internals.
 */
export function route(handler: Handler) {
  return async (req: Request, context: { params: Promise<Params> }): Promise<Response> => {
    const lang = langOf(req);
    try {
      const ctx = getContext();
      const forwardedHost = req.headers.get(CLIENT_HEADERS.forwardedHost);
      const hosts = [req.headers.get("host"), forwardedHost].filter((h): h is string => Boolean(h));
      checkStateChangingRequest(req, { publicUrl: ctx.config.publicUrl, hosts });
      const result = await handler(await scope(req, ctx, lang), await context.params);
      if (result instanceof Response) return result;
      return Response.json(result ?? { ok: true });
    } catch (error) {
      if (isApiError(error)) return errorResponse(error, lang);
      console.error("[api]", req.method, new URL(req.url).pathname, error);
      return errorResponse(apiErrors.internal(), lang);
    }
  };
}

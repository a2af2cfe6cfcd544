import { ApiError, isApiError } from "../http-error";
import { getContext, type AppContext } from "../context";
import type { Principal } from "../auth";
import { langSchema, type Lang } from "@/lib/api-schema";

/** Everything a thin route handler needs from its request, parsed once. */
export interface RequestScope {
  req: Request;
  ctx: AppContext;
  principal: Principal | null;
  /** The learner cookie's learner, even when an instructor cookie is present too. */
  learnerId: string | null;
  lang: Lang;
  ip: string;
  json: () => Promise<unknown>;
  requireInstructor: () => void;
}

export function langOf(req: Request): Lang {
  const q = new URL(req.url).searchParams.get("lang");
  const parsed = langSchema.safeParse(q);
  if (parsed.success) return parsed.data;
  const cookie = req.headers.get("cookie")?.match(/(?:^|;\s*)maillab_lang=(de|en)/)?.[1];
  if (cookie === "de" || cookie === "en") return cookie;
  return /^en/i.test(req.headers.get("accept-language") ?? "") ? "en" : "de";
}

/** Max JSON body: API bodies are tiny; anything bigger is a mistake or an attack. */
const MAX_BODY_BYTES = 16 * 1024;

export function scope(req: Request): RequestScope {
  const ctx = getContext();
  const creds = { cookie: req.headers.get("cookie"), authorization: req.headers.get("authorization") };
  const principal = ctx.auth.authenticate(creds);
  return {
    req,
    ctx,
    principal,
    learnerId: ctx.auth.learnerOf(creds),
    lang: langOf(req),
    ip: req.headers.get("x-maillab-remote") ?? "unknown",
    async json() {
      const text = await req.text();
      if (text.length > MAX_BODY_BYTES) throw new ApiError(413, `body too large (max ${MAX_BODY_BYTES} bytes)`);
      if (!text.trim()) return {};
      try {
        return JSON.parse(text);
      } catch {
        throw new ApiError(400, "body is not valid JSON");
      }
    },
    requireInstructor() {
      if (!principal) throw new ApiError(401, "instructor sign-in required (cookie or Authorization: Bearer)");
      if (principal.kind !== "instructor") throw new ApiError(403, "only the instructor may do this");
    },
  };
}

type Params = Record<string, string>;
type Handler = (s: RequestScope, params: Params) => Promise<Response | unknown> | Response | unknown;

/** Wraps a handler: JSON out, ApiError → its status, anything else → 500 without internals. */
export function route(handler: Handler) {
  return async (req: Request, context: { params: Promise<Params> }): Promise<Response> => {
    try {
      const result = await handler(scope(req), await context.params);
      if (result instanceof Response) return result;
      return Response.json(result ?? { ok: true });
    } catch (error) {
      if (isApiError(error)) {
        return Response.json({ error: error.message, ...error.extra }, { status: error.status });
      }
      console.error("[api]", req.method, new URL(req.url).pathname, error);
      return Response.json({ error: "internal error" }, { status: 500 });
    }
  };
}

export function setCookie(res: Response, cookie: { name: string; value: string; maxAge: number }, secure = false) {
  res.headers.append(
    "set-cookie",
    `${cookie.name}=${encodeURIComponent(cookie.value)}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${cookie.maxAge}${secure ? "; Secure" : ""}`,
  );
  return res;
}

// What every API request passes before a handler sees it: the body's size and type, and for
// state-changing methods, that a browser sent it from the app's own pages (docs/security.md).
import { apiErrors } from "./errors";

/** Max JSON body in bytes: API bodies are tiny (the largest, a class, is < 1 KiB). */
export const MAX_BODY_BYTES = 16 * 1024;

const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export function isStateChanging(method: string): boolean {
  return STATE_CHANGING.has(method.toUpperCase());
}

/** Declared body length, NaN when absent or malformed. */
export function declaredLength(headers: Headers): number {
  const value = headers.get("content-length");
  return value !== null && /^\d+$/.test(value.trim()) ? Number(value) : NaN;
}

/** The request carries a body (or says it does): a Content-Length above 0 or a transfer coding. */
export function hasBody(headers: Headers): boolean {
  const length = declaredLength(headers);
  return (Number.isFinite(length) && length > 0) || headers.has("transfer-encoding");
}

/** The app's own origin: MAILLAB_PUBLIC_URL, or the host the request was sent to. */
export interface OwnOrigin {
  publicUrl?: string;
  /** The Host header, and X-Forwarded-Host when a trusted proxy sent one. */
  hosts: string[];
}

/**
 * A browser on another origin can send cookies with a request (SameSite=Lax lets same-site
 * origins — another port or subdomain — do so even for POST), but it cannot hide where the
 * request comes from: browsers send `Origin` with every cross-origin POST/PUT/PATCH/DELETE and
 * `Sec-Fetch-Site` with every request. Our own pages are same-origin. Clients that send neither
 * (curl, scripts with a Bearer password) are not browsers and cannot carry a victim's cookies.
 */
export function isSameOrigin(headers: Headers, own: OwnOrigin): boolean {
  const origin = headers.get("origin");
  if (origin !== null) {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false; // "null" (sandboxed frames, data: URLs) and garbage
    }
    if (own.publicUrl && new URL(own.publicUrl).origin === url.origin) return true;
    return own.hosts.some((host) => {
      try {
        // Normalise the Host header like the Origin (default ports, case).
        return new URL(`${url.protocol}//${host}`).host === url.host;
      } catch {
        return false;
      }
    });
  }
  const site = headers.get("sec-fetch-site");
  // "none": typed by the user (address bar, bookmark); never a third party's doing.
  return site === null || site === "same-origin" || site === "none";
}

/**
 * Refuses what an HTML form can send: a state-changing request's body must be JSON (forms can
 * only send urlencoded, multipart or text/plain, and fetch from another origin cannot send
 * application/json without a CORS preflight, which we never grant). Bodyless requests (the app's
 * own "check now", "reset", "sign out") need no type.
 */
export function checkStateChangingRequest(req: Request, own: OwnOrigin): void {
  if (!isStateChanging(req.method)) return;
  if (!isSameOrigin(req.headers, own)) throw apiErrors.crossOrigin();
  const type = req.headers.get("content-type");
  if (type !== null) {
    if (!/^application\/json\s*(;|$)/i.test(type.trim())) throw apiErrors.unsupportedMediaType();
  } else if (hasBody(req.headers)) {
    throw apiErrors.unsupportedMediaType();
  }
}

/**
 * Reads at most `maxBytes` of the body, streamed: refused by Content-Length before reading, and
 * while reading as soon as the count passes the limit (chunked bodies say nothing in advance).
 * The rest is never read here; the connection is closed after the answer (server/main.ts).
 */
export async function readBody(req: Request, maxBytes = MAX_BODY_BYTES): Promise<Uint8Array> {
  if (declaredLength(req.headers) > maxBytes) throw apiErrors.bodyTooLarge(maxBytes);
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) throw apiErrors.bodyTooLarge(maxBytes);
      chunks.push(value);
    }
  } finally {
    // Not cancel(): that destroys the socket before the 413 can be sent.
    reader.releaseLock();
  }
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

/** The body as JSON ({} when empty): 413 past the limit, 400 when not UTF-8 or not JSON. */
export async function readJson(req: Request, maxBytes = MAX_BODY_BYTES): Promise<unknown> {
  const bytes = await readBody(req, maxBytes);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw apiErrors.notUtf8();
  }
  if (!text.trim()) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw apiErrors.notJson();
  }
}

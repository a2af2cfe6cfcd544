// Limits server/main.ts applies to API requests before Next.js sees them (Next would start
// streaming the body into the route handler). Node's http types only: no Next import here.
import type { IncomingMessage, ServerResponse } from "node:http";
import { errorBody } from "../http-error";
import { apiErrors } from "./errors";
import { langFrom } from "./lang";
import { MAX_BODY_BYTES } from "./request-guards";

const API_PREFIX = "/api/";

/**
 * Answers 413 and closes the connection when an API request declares a body larger than
 * MAX_BODY_BYTES: nothing of it is read. Chunked bodies (no Content-Length) are counted while
 * streamed by the route layer (server/api/request-guards.ts readBody). Returns whether it answered.
 */
export function refuseOversizedApiBody(req: IncomingMessage, res: ServerResponse): boolean {
  if (!req.url?.startsWith(API_PREFIX)) return false;
  const declared = req.headers["content-length"];
  if (declared === undefined || !/^\d+$/.test(declared.trim()) || Number(declared) <= MAX_BODY_BYTES) {
    closeWhenAnsweredEarly(req, res);
    return false;
  }
  const lang = langFrom({
    query: new URL(req.url, "http://x").searchParams.get("lang"),
    cookie: req.headers.cookie,
    acceptLanguage: req.headers["accept-language"],
  });
  const body = JSON.stringify(errorBody(apiErrors.bodyTooLarge(MAX_BODY_BYTES), lang));
  // Connection: close — Node would otherwise read (and discard) the whole body to keep the
  // connection alive for the next request.
  res.writeHead(413, { "content-type": "application/json", "content-length": Buffer.byteLength(body), connection: "close" });
  res.end(body);
  return true;
}

/**
 * A route that answers before reading the whole body (413 while streaming, 415, 403) would
 * otherwise leave Node draining the rest to keep the connection alive: close it instead.
 */
function closeWhenAnsweredEarly(req: IncomingMessage, res: ServerResponse): void {
  if (req.method === "GET" || req.method === "HEAD") return;
  const onHeaders = () => {
    if (!req.complete) res.setHeader("connection", "close");
  };
  // writeHead is where headers are final; Next always calls it (directly or through write/end).
  const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
  res.writeHead = ((...args: unknown[]) => {
    onHeaders();
    return writeHead(...args);
  }) as typeof res.writeHead;
}

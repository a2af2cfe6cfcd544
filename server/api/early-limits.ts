// Limits server/main.ts applies to API requests before Next.js sees them (Next would start
// streaming the body into the route handler). Node's http types only: no Next import here.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { errorBody } from "../http-error";
import { apiErrors } from "./errors";
import { langFrom } from "./lang";
import { MAX_BODY_BYTES } from "./request-guards";

const API_PREFIX = "/api/";

/**
 * How long a connection answered before its body was read stays half-open before the server hangs
 * up. One second lets a client that is still writing read the answer (loopback or a slow link
 * alike); nothing is read meanwhile, so it costs no memory.
 */
const LINGER_MS = 1000;
const lingering = new WeakSet<Socket>();

/**
 * Lingering close (as Apache and nginx do it) for API requests with a body. A request answered
 * before its body was read (413 here, or 413/415/403 from a route) makes Node close the
 * connection; closing at once with unread bytes in the receive buffer makes the kernel send RST,
 * and a client still writing its body then often loses the answer it had not read yet (seen: EPIPE
 * instead of 413 in 2 of 10 tries on loopback). So: send the answer, then FIN, read nothing more
 * (the client's writes stop at the TCP window), and hang up after LINGER_MS.
 */
export function lingerOnEarlyClose(req: IncomingMessage): void {
  if (!req.url?.startsWith(API_PREFIX) || req.method === "GET" || req.method === "HEAD") return;
  const socket = req.socket;
  if (lingering.has(socket)) return;
  lingering.add(socket);
  // Node's http server calls destroySoon() when it will not keep the connection alive.
  socket.destroySoon = () => {
    if (socket.destroyed) return;
    socket.pause();
    socket.end();
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once("close", () => clearTimeout(timer));
  };
}

/**
 * Answers 413 when an API request declares a body larger than MAX_BODY_BYTES: nothing of it is
 * read. Chunked bodies (no Content-Length) are counted while streamed by the route layer
 * (server/api/request-guards.ts readBody). Either way Node's http server, seeing a response
 * finished before the request body was read, answers with `Connection: close` and closes the
 * connection instead of reading the rest (seen on Node 20: the client gets the 413, then the close).
 * Returns whether it answered.
 */
export function refuseOversizedApiBody(req: IncomingMessage, res: ServerResponse): boolean {
  if (!req.url?.startsWith(API_PREFIX)) return false;
  const declared = req.headers["content-length"];
  if (declared === undefined || !/^\d+$/.test(declared.trim()) || Number(declared) <= MAX_BODY_BYTES) return false;
  const lang = langFrom({
    query: new URL(req.url, "http://x").searchParams.get("lang"),
    cookie: req.headers.cookie,
    acceptLanguage: req.headers["accept-language"],
  });
  const body = JSON.stringify(errorBody(apiErrors.bodyTooLarge(MAX_BODY_BYTES), lang));
  res.writeHead(413, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
  return true;
}

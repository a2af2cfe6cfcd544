// Tools of the security tests (e2e/security.e2e.ts): raw HTTP from chosen loopback addresses
// (the whole 127/8 reaches the app, so one test can be "a classroom behind one NAT" and another
// "a guesser elsewhere"), the server's memory, and a hostile page on another origin.
import http from "node:http";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: Record<string, unknown>;
  /** `name=value` of every Set-Cookie, joined for a Cookie header. */
  cookie: string;
  setCookies: string[];
  ms: number;
}

export interface SendOptions {
  headers?: Record<string, string>;
  /** JSON-encoded, with content-type application/json. */
  json?: unknown;
  body?: string | Buffer;
  cookie?: string;
  bearer?: string;
  /** Source address, e.g. 127.0.0.5. */
  from?: string;
  /** Send the body chunked, without Content-Length. */
  chunked?: boolean;
}

export function send(baseUrl: string, method: string, path: string, opts: SendOptions = {}): Promise<Answer> {
  const url = new URL(path, baseUrl);
  const headers: Record<string, string> = { ...opts.headers };
  let body = opts.body;
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    headers["content-type"] ??= "application/json";
  }
  if (opts.chunked) headers["transfer-encoding"] = "chunked";
  else if (body !== undefined) headers["content-length"] ??= String(Buffer.byteLength(body));
  if (opts.cookie) headers.cookie = opts.cookie;
  if (opts.bearer) headers.authorization = `Bearer ${opts.bearer}`;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method, headers, localAddress: opts.from, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: Record<string, unknown> = {};
          try {
            json = JSON.parse(text) as Record<string, unknown>;
          } catch {
            // not JSON (CSV, HTML): text has it
          }
          const setCookies = ([] as string[]).concat(res.headers["set-cookie"] ?? []);
          const cookie = setCookies.map((c) => c.split(";")[0]).join("; ");
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json, cookie, setCookies, ms: performance.now() - started });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

export interface HugeBodyResult {
  status: number;
  /** From the first byte sent to the answer's headers. */
  ms: number;
  /** Bytes written when the answer came. */
  sentBytes: number;
  /** Bytes written after the answer, until the server hung up. */
  sentAfterAnswer: number;
  /** From the answer to the server hanging up. */
  closedAfterMs: number;
}

/**
 * Streams `totalBytes` of body (1 MiB writes, honouring backpressure) and, like a client that
 * ignores the answer, goes on writing after it until the server closes the connection.
 */
export function sendHugeBody(baseUrl: string, path: string, totalBytes: number, opts: { declareLength: boolean }): Promise<HugeBodyResult> {
  const url = new URL(path, baseUrl);
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (opts.declareLength) headers["content-length"] = String(totalBytes);
  const chunk = Buffer.alloc(1024 * 1024, "a");
  chunk[0] = '"'.charCodeAt(0);
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answer: { status: number; at: number; sentBytes: number } | undefined;
    const started = performance.now();
    const finish = () => {
      if (!answer) return;
      req.destroy();
      resolve({
        status: answer.status,
        ms: answer.at - started,
        sentBytes: answer.sentBytes,
        sentAfterAnswer: sent - answer.sentBytes,
        closedAfterMs: performance.now() - answer.at,
      });
    };
    const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: "POST", headers, agent: false }, (res) => {
      answer = { status: res.statusCode ?? 0, at: performance.now(), sentBytes: sent };
      res.resume();
    });
    // EPIPE / ECONNRESET after the answer: the server hung up, as it should.
    req.on("error", (error) => (answer ? finish() : reject(error)));
    req.on("close", finish);
    const pump = () => {
      while (sent < totalBytes && !req.destroyed) {
        const part = Math.min(chunk.length, totalBytes - sent);
        sent += part;
        if (!req.write(part === chunk.length ? chunk : chunk.subarray(0, part))) {
          req.once("drain", pump);
          return;
        }
      }
      if (sent >= totalBytes) req.end();
    };
    pump();
  });
}

/** PID of the process listening on `port` (the app's node, not the npm/bash wrappers). */
export function listenerPid(port: number): number {
  const out = execFileSync("ss", ["-ltnpH", `sport = :${port}`], { encoding: "utf8" });
  const pid = /pid=(\d+)/.exec(out)?.[1];
  if (!pid) throw new Error(`nobody listens on ${port}: ${out}`);
  return Number(pid);
}

export function rssBytes(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return Number(kb) * 1024;
}

/** Samples a process's RSS every 20 ms until stopped; `max` is the peak seen. */
export function watchRss(pid: number) {
  const before = rssBytes(pid);
  let max = before;
  const timer = setInterval(() => {
    try {
      max = Math.max(max, rssBytes(pid));
    } catch {
      // process gone: the test fails elsewhere
    }
  }, 20);
  return {
    before,
    stop() {
      clearInterval(timer);
      const now = rssBytes(pid);
      return { before, max: Math.max(max, now), after: now };
    },
  };
}

/** Runs `fn` while polling GET /api/health every 100 ms; returns fn's result and the latencies. */
export async function withHealthLatency<T>(baseUrl: string, fn: () => Promise<T>): Promise<{ result: T; latenciesMs: number[] }> {
  const latenciesMs: number[] = [];
  let running = true;
  const poller = (async () => {
    while (running) {
      const r = await send(baseUrl, "GET", "/api/health");
      latenciesMs.push(r.ms);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  try {
    const result = await fn();
    return { result, latenciesMs };
  } finally {
    running = false;
    await poller;
  }
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** A "hostile" site: serves whatever page the test sets, on its own port (another origin, same site). */
export async function startHostileSite() {
  let page = "<!doctype html><title>nothing</title>";
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(page);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    setPage(html: string) {
      page = html;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * An auto-submitting text/plain form whose single field makes the body valid JSON:
 * `<name>=<value>` with name `{"a":"` … and value `"}` — the classic JSON CSRF.
 */
export function autoSubmitForm(action: string, fieldName: string, fieldValue: string): string {
  const attr = (s: string) => s.replace(/&/g, "&amp;").replace(/'/g, "&#39;");
  return `<!doctype html><form id="f" method="POST" action='${attr(action)}' enctype="text/plain">
<input type="hidden" name='${attr(fieldName)}' value='${attr(fieldValue)}'></form>
<script>document.getElementById("f").submit()</script>`;
}

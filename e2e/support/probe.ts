// Tools of the security tests (e2e/security.e2e.ts): raw HTTP from chosen loopback addresses
// (the whole 127/8 reaches the app, so one test can be "a classroom behind one NAT" and another
// "a guesser elsewhere"), the server's memory, a hostile page on another origin, event streams, and
// terminals spoken by hand (a learner typing, or a client that misbehaves).
import http from "node:http";
import { execFileSync } from "node:child_process";
import { readFileSync, statfsSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { WebSocket } from "ws";
import { encodeMessage, terminalPath } from "@/lib/terminal-wire";

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

/** One server-sent event. */
export interface StreamEvent {
  event: string;
  data: Record<string, unknown>;
}

/** Reads an event stream (GET /api/…/events) as a browser would, with the given cookie. */
export function openEventStream(baseUrl: string, path: string, opts: { cookie?: string; bearer?: string } = {}) {
  const events: StreamEvent[] = [];
  const waiters = new Set<() => void>();
  const url = new URL(path, baseUrl);
  const headers: Record<string, string> = { accept: "text/event-stream", ...(opts.cookie ? { cookie: opts.cookie } : {}) };
  if (opts.bearer) headers.authorization = `Bearer ${opts.bearer}`;
  const req = http.get({ host: url.hostname, port: url.port, path: url.pathname + url.search, headers, agent: false }, (res) => {
    let buffered = "";
    res.setEncoding("utf8");
    res.on("data", (chunk: string) => {
      buffered += chunk;
      let end: number;
      while ((end = buffered.indexOf("\n\n")) >= 0) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data && event !== "ping") events.push({ event, data: JSON.parse(data) as Record<string, unknown> });
      }
      for (const wake of waiters) wake();
    });
  });
  req.on("error", () => undefined); // closed by the test
  return {
    events,
    /** The first event from index `from` on that `match` accepts. */
    next(match: (e: StreamEvent) => boolean, { from = 0, timeoutMs = 30_000 }: { from?: number; timeoutMs?: number } = {}): Promise<StreamEvent> {
      return new Promise((resolve, reject) => {
        const look = () => {
          const found = events.slice(from).find(match);
          if (!found) return false;
          waiters.delete(look);
          clearTimeout(timer);
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(look);
          reject(new Error(`no matching event on ${path} within ${timeoutMs} ms; got ${events.map((e) => `${e.event}:${String(e.data.status ?? "")}`).join(", ")}`));
        }, timeoutMs);
        if (!look()) waiters.add(look);
      });
    },
    close: () => req.destroy(),
  };
}

export interface LabTerminal {
  ws: WebSocket;
  /** Control messages from the server, in order (ready, exit, …). */
  messages: Array<Record<string, unknown>>;
  /** Everything the shell printed so far. */
  text(): string;
  /** Resolves with the close code and reason. */
  closed: Promise<{ code: number; reason: string }>;
  /** Resolves once the server said `ready` (the shell is attached). */
  ready: Promise<void>;
  type(keys: string): void;
  /** Runs a command in the shell and waits for it: its output (after the typed line) and exit status. */
  run(command: string, timeoutMs?: number): Promise<{ output: string; status: number }>;
  /** Stops reading the socket (the kernel's buffers fill) while `acks` may go on claiming to have read. */
  pauseReading(): void;
  close(): void;
}

let commandCounter = 0;

/**
 * A learner's (or instructor's) terminal on the real app: the browser client's protocol (hello,
 * binary input, acks), spoken by hand so a test can also misbehave (type before `ready`, ack what
 * it never read). `early` is sent in the same tick as `hello`, before the server could answer.
 */
export async function openLabTerminal(
  baseUrl: string,
  envId: string,
  machine: "mail" | "partner",
  opts: { cookie?: string; early?: string | Buffer[]; ack?: boolean } = {},
): Promise<LabTerminal> {
  const url = baseUrl.replace(/^http/, "ws") + terminalPath(envId, machine);
  const ws = new WebSocket(url, { headers: { origin: baseUrl, ...(opts.cookie ? { cookie: opts.cookie } : {}) } });
  const messages: Array<Record<string, unknown>> = [];
  const decoder = new TextDecoder();
  let text = "";
  let seq = 0;
  let acked = 0;
  const waiters = new Set<() => void>();
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.on("message", (data: Buffer, isBinary: boolean) => {
    if (isBinary) {
      text += decoder.decode(data, { stream: true });
      seq += data.length;
      // The browser acks every 32 KiB it has written into the terminal (lib/terminal-wire.ts TERMINAL_FLOW).
      if (opts.ack !== false && seq - acked >= 32 * 1024) {
        acked = seq;
        ws.send(encodeMessage({ type: "ack", seq }));
      }
    } else {
      const message = JSON.parse(data.toString()) as Record<string, unknown>;
      messages.push(message);
      if (message.type === "ready") {
        seq = acked = Number(message.seq);
        markReady();
      }
    }
    for (const wake of waiters) wake();
  });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
    ws.once("unexpected-response", (_req, res) => reject(new Error(`terminal upgrade refused: HTTP ${res.statusCode}`)));
  });
  ws.send(encodeMessage({ type: "hello", lastSeq: 0, cols: 120, rows: 40 }));
  for (const chunk of typeof opts.early === "string" ? [Buffer.from(opts.early)] : (opts.early ?? [])) ws.send(chunk);

  const waitFor = <T>(find: () => T | undefined, what: string, timeoutMs: number) =>
    new Promise<T>((resolve, reject) => {
      const look = () => {
        const found = find();
        if (found === undefined) return;
        waiters.delete(look);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        waiters.delete(look);
        reject(new Error(`terminal: no ${what} within ${timeoutMs} ms; last output: ${JSON.stringify(text.slice(-600))}`));
      }, timeoutMs);
      waiters.add(look);
      look();
    });

  return {
    ws,
    messages,
    text: () => text,
    closed,
    ready,
    type: (keys) => ws.send(Buffer.from(keys)),
    async run(command, timeoutMs = 60_000) {
      await ready;
      const n = ++commandCounter;
      const from = text.length;
      // The typed line shows `__DO''NE_…$?`; only the shell's output reads `__DONE_<n>_<status>`.
      ws.send(Buffer.from(`${command}; echo __DO''NE_${n}_$?\r`));
      const pattern = new RegExp(`__DONE_${n}_(\\d+)`);
      return waitFor(
        () => {
          const after = text.slice(from);
          const m = pattern.exec(after);
          if (!m) return undefined;
          const output = after.slice(after.indexOf("\n") + 1, m.index);
          return { output, status: Number(m[1]) };
        },
        `end of \`${command}\``,
        timeoutMs,
      );
    },
    pauseReading: () => (ws as unknown as { _socket: { pause(): void } })._socket.pause(),
    close: () => ws.close(),
  };
}

/** Bytes in use on the filesystem that holds `path` (e.g. Docker's data root on this host). */
export function diskUsedBytes(path: string): number {
  const s = statfsSync(path);
  return (s.blocks - s.bfree) * s.bsize;
}

/** The docker CLI, for what an operator (or another program on the host) does behind the app's back. */
export function dockerCli(...args: string[]): string {
  return execFileSync("docker", args, { encoding: "utf8" }).trim();
}

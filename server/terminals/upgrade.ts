/**
 * The terminal WebSocket endpoint: `createTerminalUpgradeHandler(...)` returns
 * the function the app's HTTP server calls for `upgrade` requests under
 * `/ws/terminal/`. Authorization happens before the upgrade (plain HTTP
 * 400/401/403/404 on the raw socket); then the socket's `hello` attaches it to
 * the (environment, machine) session, started on first use.
 */
import type { IncomingMessage } from "node:http";
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import type { MachineName } from "@/lib/machines";
import {
  encodeMessage,
  parseClientMessage,
  parseTerminalPath,
  TERMINAL_FLOW,
  TERMINAL_LIMITS,
  TERMINAL_PATH_PREFIX,
  TerminalCloseCode,
  type HelloMessage,
  type TerminalRole,
} from "@/lib/terminal-protocol";
import { listRecordings, type RecordingInfo } from "./recorder";
import { TerminalSession, type Attachment, type SessionSettings, type SessionStats, type SpawnSpec } from "./session";

export type TerminalAuthResult =
  | { ok: true; role: "learner" | "instructor"; name: string }
  | { ok: false; status: 401 | 403 | 404 };

export interface TerminalServerOptions {
  /** Who may open this terminal: the environment's learner, or the class's instructor. */
  authorize: (req: IncomingMessage, envId: string, machine: MachineName) => TerminalAuthResult | Promise<TerminalAuthResult>;
  /** The command of a new session (production: `docker exec -it -e TERM=xterm-256color -w /root <container> bash -l`). */
  spawnSpec: (envId: string, machine: MachineName) => SpawnSpec | Promise<SpawnSpec>;
  /** The shell printed a prompt (OSC 7717): a command finished with `exitStatus` (-1: unknown). Not debounced. */
  onPrompt?: (envId: string, machine: MachineName, exitStatus: number) => void;
  /** Someone attached or typed (at most every `activityThrottleMs` per session): keep the environment awake. */
  onActivity?: (envId: string, machine: MachineName) => void;
  /** The learner pressed Enter in a terminal (also inside interactive programs). Not debounced. */
  onEnter?: (envId: string, machine: MachineName) => void;
  /** Where recordings go (`<dir>/<envId>/<machine>-<startMs>.cast`); `null`/absent: no recording. */
  recordingsDir?: string | null;
  /** A recording stops taking output past this size. Default 64 MiB. */
  maxRecordingBytes?: number;
  /** A session nobody is attached to is ended after this long. Default 10 min. */
  idleGraceMs?: number;
  /** Default {@link TERMINAL_FLOW}. */
  highWater?: number;
  lowWater?: number;
  replayBytes?: number;
  /** Output coalescing delay. Default 5 ms. */
  coalesceMs?: number;
  /** After input, output is sent without coalescing for this long. Default 30 ms. */
  eagerMs?: number;
  /** Max frame a client may send. Default {@link TERMINAL_LIMITS.maxPayload}. */
  maxPayload?: number;
  /** A socket must say hello within this time, or it is closed (1008). Default 10 s. */
  helloTimeoutMs?: number;
  /** Ping interval; a socket that missed a whole interval's pong is dropped. Default 30 s; 0 disables. */
  pingIntervalMs?: number;
  /** Default 10 s. */
  activityThrottleMs?: number;
  /**
   * Cross-site WebSocket hijacking guard: may a request with this `Origin` header
   * connect? Default: no Origin (non-browser clients), or an Origin whose host
   * equals the request's Host header.
   */
  checkOrigin?: (origin: string | undefined, req: IncomingMessage) => boolean;
  log?: (message: string, err?: unknown) => void;
}

export interface TerminalUpgradeHandler {
  (req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Ends the sessions of an environment (stop, reset, destroy). Clients reconnect after 1012, never after 44xx. */
  closeEnvironment(envId: string, code?: number, reason?: string): Promise<void>;
  /** Live sessions, for dashboards and tests. */
  sessions(): TerminalSessionInfo[];
  /** The live session of one terminal, if any (tests and diagnostics). */
  session(envId: string, machine: MachineName): TerminalSession | undefined;
  /** Recordings of an environment (see also the standalone `listRecordings`). */
  listRecordings(envId: string): Promise<RecordingInfo[]>;
  /** Closes every socket (1001) and session; resolves when recordings are closed. */
  shutdown(): Promise<void>;
}

export interface TerminalSessionInfo {
  envId: string;
  machine: MachineName;
  session: string;
  startedAt: number;
  participants: { name: string; role: TerminalRole }[];
  stats: SessionStats;
}

function defaultCheckOrigin(origin: string | undefined, req: IncomingMessage): boolean {
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

/** Writes a plain HTTP error on the raw socket (before any upgrade) and closes it. */
function rejectUpgrade(socket: Duplex, status: number, message?: string): void {
  if (socket.destroyed) return;
  const body = `${message ?? STATUS_CODES[status] ?? "Error"}\n`;
  socket.once("finish", () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}\r\n` +
      "Connection: close\r\n" +
      "Content-Type: text/plain; charset=utf-8\r\n" +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      "\r\n" +
      body,
  );
}

export function createTerminalUpgradeHandler(options: TerminalServerOptions): TerminalUpgradeHandler {
  const log = options.log ?? ((m: string, err?: unknown) => console.error(`[terminals] ${m}`, err ?? ""));
  const settings: SessionSettings = {
    highWater: options.highWater ?? TERMINAL_FLOW.highWater,
    lowWater: options.lowWater ?? TERMINAL_FLOW.lowWater,
    replayBytes: options.replayBytes ?? TERMINAL_FLOW.replayBytes,
    coalesceMs: options.coalesceMs ?? 5,
    eagerMs: options.eagerMs ?? 30,
    idleGraceMs: options.idleGraceMs ?? 10 * 60_000,
    recordingsDir: options.recordingsDir ?? null,
    maxRecordingBytes: options.maxRecordingBytes,
    onPrompt: options.onPrompt,
    onActivity: options.onActivity,
    onEnter: options.onEnter,
    activityThrottleMs: options.activityThrottleMs ?? 10_000,
    log,
  };
  if (!(settings.lowWater < settings.highWater && settings.highWater + 128 * 1024 <= settings.replayBytes)) {
    throw new Error("terminal flow control needs lowWater < highWater and highWater + 128 KiB ≤ replayBytes");
  }
  const checkOrigin = options.checkOrigin ?? defaultCheckOrigin;
  const helloTimeoutMs = options.helloTimeoutMs ?? 10_000;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxPayload ?? TERMINAL_LIMITS.maxPayload,
    perMessageDeflate: false,
    clientTracking: true,
  });

  const live = new Map<string, TerminalSession>();
  const starting = new Map<string, Promise<TerminalSession>>();
  let shuttingDown = false;
  const key = (envId: string, machine: string) => `${envId}/${machine}`;

  async function getSession(envId: string, machine: MachineName, hello: HelloMessage): Promise<TerminalSession> {
    const k = key(envId, machine);
    const existing = live.get(k);
    if (existing && !existing.isEnded) return existing;
    let pending = starting.get(k);
    if (!pending) {
      pending = (async () => {
        const spec = await options.spawnSpec(envId, machine);
        if (shuttingDown) throw new Error("shutting down");
        const s = new TerminalSession(envId, machine, spec, { cols: hello.cols, rows: hello.rows }, settings, (gone) => {
          if (live.get(k) === gone) live.delete(k);
        });
        live.set(k, s);
        return s;
      })().finally(() => starting.delete(k));
      starting.set(k, pending);
    }
    return pending;
  }

  // Dead-peer detection: a socket that did not answer the previous ping is dropped.
  const alive = new WeakMap<WebSocket, boolean>();
  const pingMs = options.pingIntervalMs ?? 30_000;
  const pinger =
    pingMs > 0
      ? setInterval(() => {
          for (const ws of wss.clients) {
            if (alive.get(ws) === false) {
              ws.terminate();
              continue;
            }
            alive.set(ws, false);
            ws.ping();
          }
        }, pingMs)
      : null;
  pinger?.unref();

  function onConnection(ws: WebSocket, envId: string, machine: MachineName, role: TerminalRole, name: string): void {
    alive.set(ws, true);
    ws.on("pong", () => alive.set(ws, true));
    let session: TerminalSession | null = null;
    let att: Attachment | null = null;
    let greeted = false;
    const helloTimer = setTimeout(() => ws.close(TerminalCloseCode.POLICY, "no hello"), helloTimeoutMs);

    const invalid = (why: string) => {
      ws.close(TerminalCloseCode.INVALID_FRAME, why.slice(0, 120));
    };

    ws.on("message", (data: RawData, isBinary: boolean) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      if (isBinary) {
        if (!greeted) return invalid("hello first");
        if (session && att) session.input(att, buf);
        return; // input before the session is ready is dropped (the client only types after ready)
      }
      const msg = parseClientMessage(buf.toString("utf8"));
      if (!msg) return invalid("invalid control message");
      if (msg.type === "hello") {
        if (greeted) return invalid("duplicate hello");
        greeted = true;
        clearTimeout(helloTimer);
        getSession(envId, machine, msg).then(
          (s) => {
            if (ws.readyState !== ws.OPEN) return;
            session = s;
            att = s.attach(ws, name, role, msg);
          },
          (err: unknown) => {
            log(`cannot start terminal ${envId}/${machine}`, err);
            if (ws.readyState === ws.OPEN) {
              ws.send(encodeMessage({ type: "error", message: "The terminal could not be started." }));
              ws.close(TerminalCloseCode.SERVER_ERROR, "cannot start terminal");
            }
          },
        );
        return;
      }
      if (!greeted) return invalid("hello first");
      if (session && att) session.handleMessage(att, msg);
    });

    ws.on("close", () => {
      clearTimeout(helloTimer);
      if (session && att) session.detach(att);
    });
    ws.on("error", (err) => log(`socket error on ${envId}/${machine}`, err));
  }

  async function handle(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on("error", () => socket.destroy());
    const url = req.url ?? "";
    if (!url.startsWith(TERMINAL_PATH_PREFIX)) return rejectUpgrade(socket, 404);
    const target = parseTerminalPath(url);
    if (!target) return rejectUpgrade(socket, 400, "Expected /ws/terminal/<environment>/<mail|partner>");
    if ((req.headers.upgrade ?? "").toLowerCase() !== "websocket") return rejectUpgrade(socket, 400);
    if (shuttingDown) return rejectUpgrade(socket, 503);
    if (!checkOrigin(req.headers.origin, req)) return rejectUpgrade(socket, 403, "Cross-origin terminal connections are not allowed");
    let auth: TerminalAuthResult;
    try {
      auth = await options.authorize(req, target.envId, target.machine);
    } catch (err) {
      log("authorize failed", err);
      return rejectUpgrade(socket, 500);
    }
    if (!auth.ok) return rejectUpgrade(socket, auth.status);
    if (socket.destroyed) return;
    const role: TerminalRole = auth.role === "learner" ? "learner" : "viewer";
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, target.envId, target.machine, role, auth.name));
  }

  const handler = ((req: IncomingMessage, socket: Duplex, head: Buffer) => {
    handle(req, socket, head).catch((err: unknown) => {
      log("upgrade failed", err);
      rejectUpgrade(socket, 500);
    });
  }) as TerminalUpgradeHandler;

  handler.closeEnvironment = async (envId, code = TerminalCloseCode.RESTARTED, reason = "environment closed") => {
    const ends: Promise<void>[] = [];
    // Sessions still starting (spawnSpec may be resuming the machines) are ended once they exist.
    for (const [k, pending] of starting) {
      if (k.startsWith(`${envId}/`)) ends.push(pending.then((s) => s.end(code, reason), () => undefined));
    }
    for (const s of live.values()) if (s.envId === envId) ends.push(s.end(code, reason));
    await Promise.all(ends);
  };
  handler.sessions = () =>
    [...live.values()].map((s) => ({
      envId: s.envId,
      machine: s.machine,
      session: s.id,
      startedAt: s.startedAt,
      participants: s.participants().map(({ name, role }) => ({ name, role })),
      stats: s.stats(),
    }));
  handler.session = (envId, machine) => live.get(key(envId, machine));
  handler.listRecordings = async (envId) => (settings.recordingsDir ? listRecordings(settings.recordingsDir, envId) : []);
  handler.shutdown = async () => {
    shuttingDown = true;
    if (pinger) clearInterval(pinger);
    await Promise.allSettled([...starting.values()]);
    const ends = [...live.values()].map((s) => s.end(TerminalCloseCode.GOING_AWAY, "server shutting down"));
    for (const ws of wss.clients) ws.close(TerminalCloseCode.GOING_AWAY, "server shutting down");
    await Promise.all(ends);
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  };
  return handler;
}

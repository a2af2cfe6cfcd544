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
import {
  DEFAULT_MAX_ENVIRONMENT_RECORDING_BYTES,
  deleteRecordings,
  listRecordings,
  RecordingQuota,
  type RecordingInfo,
} from "./recorder";
import { TerminalSession, type Attachment, type SessionSettings, type SessionStats, type SpawnSpec } from "./session";

export type TerminalAuthResult =
  | { ok: true; role: "learner" | "instructor"; name: string }
  | { ok: false; status: 401 | 403 | 404 }
  /**
   * The environment is gone (the request is otherwise allowed): the socket is upgraded
   * and closed at once with 4410 / 4411, because a browser cannot read an HTTP status
   * of a refused upgrade and would keep retrying.
   */
  | { ok: false; status: 410; gone: EnvironmentGoneReason };

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
  /**
   * All recordings of one environment together (on disk, across its shells) stop
   * growing past this. Default {@link DEFAULT_MAX_ENVIRONMENT_RECORDING_BYTES} (128 MiB).
   */
  maxEnvironmentRecordingBytes?: number;
  /** A session nobody is attached to is ended after this long. Default 10 min. */
  idleGraceMs?: number;
  /** Default {@link TERMINAL_FLOW}. */
  highWater?: number;
  /** Most output queued per socket (ws `bufferedAmount`) whatever it acks. Default {@link TERMINAL_FLOW.maxSocketBuffer}. */
  maxSocketBuffer?: number;
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

/** The size a prestarted shell starts at: the terminal default, until a browser attaches with its own. */
const PRESTART_SIZE = { cols: 80, rows: 24 } as const;

/** Why an environment's terminals end for good (the close code each gets). */
export type EnvironmentGoneReason = "removed" | "class-ended";

export interface TerminalUpgradeHandler {
  (req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Ends the sessions of an environment (stop, re-create). Clients reconnect after 1012, never after 44xx. */
  closeEnvironment(envId: string, code?: number, reason?: string): Promise<void>;
  /**
   * Replaces an environment's machines without garbling its terminals: closes its
   * sessions with {@link TerminalCloseCode.MACHINES_RESET} *before* `work` (the
   * reset) runs, holds every socket that reconnects meanwhile (no shell is started
   * on machines that are going away), and starts new shells once `work` settled.
   * Resolves or rejects with `work`.
   */
  resetEnvironment<T>(envId: string, work: () => Promise<T>): Promise<T>;
  /**
   * The environment is going away for good: its sessions close with
   * {@link TerminalCloseCode.ENVIRONMENT_REMOVED} or {@link TerminalCloseCode.CLASS_ENDED}
   * (clients stop reconnecting), and sockets that still arrive are closed the same way.
   */
  removeEnvironment(envId: string, reason: EnvironmentGoneReason): Promise<void>;
  /** Deletes an environment's recordings (after `removeEnvironment`: its recorders are closed by then). */
  deleteRecordings(envId: string): Promise<void>;
  /**
   * Starts the shells of an environment before anyone connects (a learner was just given it): the
   * page's sockets then find a prompt waiting instead of paying a `docker exec` and a login shell
   * (~0.3–0.6 s). Shells start at 80×24 and take the browser's size when it attaches. Failures are
   * logged only: the socket's own attach tries again. `pinned`: for environments waiting in the warm
   * pool, whose learner may come hours later — not reaped as idle before the first attach (they end
   * with the environment).
   */
  prestart(envId: string, machines: readonly MachineName[], options?: { pinned?: boolean }): void;
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

function goneClose(why: EnvironmentGoneReason): { code: number; reason: string } {
  return why === "class-ended"
    ? { code: TerminalCloseCode.CLASS_ENDED, reason: "class ended" }
    : { code: TerminalCloseCode.ENVIRONMENT_REMOVED, reason: "environment removed" };
}

/** getSession's answer for an environment that was removed: close with its code. */
class EnvironmentGoneError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
  ) {
    super(reason);
  }
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
    maxSocketBuffer: options.maxSocketBuffer ?? TERMINAL_FLOW.maxSocketBuffer,
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
  /** Environments whose machines are being reset: new shells wait for this. */
  const resetting = new Map<string, Promise<void>>();
  /** Environments gone for good → the close code their sockets get (kept a while for late reconnects). */
  const gone = new Map<string, { code: number; reason: string; at: number }>();
  const GONE_MEMORY_MS = 30 * 60_000;
  /** Recording budgets per environment (loaded from disk on its first session). */
  const quotas = new Map<string, Promise<RecordingQuota>>();
  const maxEnvRecording = options.maxEnvironmentRecordingBytes ?? DEFAULT_MAX_ENVIRONMENT_RECORDING_BYTES;
  let shuttingDown = false;
  const key = (envId: string, machine: string) => `${envId}/${machine}`;

  function quotaFor(envId: string): Promise<RecordingQuota> | undefined {
    const dir = settings.recordingsDir;
    if (!dir) return undefined;
    let q = quotas.get(envId);
    if (!q) {
      q = RecordingQuota.forEnvironment(dir, envId, maxEnvRecording);
      quotas.set(envId, q);
    }
    return q;
  }

  async function getSession(envId: string, machine: MachineName, hello: { cols: number; rows: number }, { pinned = false } = {}): Promise<TerminalSession> {
    const k = key(envId, machine);
    // Machines being replaced: no shell on the old ones (it would die with "exec failed").
    for (let hold = resetting.get(envId); hold; hold = resetting.get(envId)) await hold;
    const goneInfo = gone.get(envId);
    if (goneInfo) throw new EnvironmentGoneError(goneInfo.code, goneInfo.reason);
    const existing = live.get(k);
    if (existing && !existing.isEnded) return existing;
    let pending = starting.get(k);
    if (!pending) {
      pending = (async () => {
        const [spec, quota] = await Promise.all([options.spawnSpec(envId, machine), quotaFor(envId)]);
        if (shuttingDown) throw new Error("shutting down");
        const s = new TerminalSession(
          envId,
          machine,
          spec,
          { cols: hello.cols, rows: hello.rows },
          settings,
          (ended) => {
            if (live.get(k) === ended) live.delete(k);
          },
          quota,
          { pinned },
        );
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
    const goneInfo = gone.get(envId);
    if (goneInfo) {
      ws.close(goneInfo.code, goneInfo.reason);
      return;
    }
    alive.set(ws, true);
    ws.on("pong", () => alive.set(ws, true));
    let session: TerminalSession | null = null;
    let att: Attachment | null = null;
    let greeted = false;
    /** Keystrokes that came after `hello`, before the shell was attached: typed in once it is. */
    let early: Buffer[] | null = [];
    let earlyBytes = 0;
    const helloTimer = setTimeout(() => ws.close(TerminalCloseCode.POLICY, "no hello"), helloTimeoutMs);

    const invalid = (why: string) => {
      ws.close(TerminalCloseCode.INVALID_FRAME, why.slice(0, 120));
    };

    /** Attaches to the session; one that ended meanwhile (a reset) is replaced by the next. */
    const attach = async (hello: HelloMessage): Promise<void> => {
      for (let attempt = 0; attempt < 3; attempt++) {
        const s = await getSession(envId, machine, hello);
        if (ws.readyState !== ws.OPEN) return;
        if (s.isEnded) continue;
        session = s;
        att = s.attach(ws, name, role, hello);
        const pending = early ?? [];
        early = null;
        for (const chunk of pending) s.input(att, chunk);
        return;
      }
      throw new Error("the session kept ending while attaching");
    };

    ws.on("message", (data: RawData, isBinary: boolean) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      if (isBinary) {
        if (!greeted) return invalid("hello first");
        if (session && att) return session.input(att, buf);
        earlyBytes += buf.length;
        if (earlyBytes > TERMINAL_LIMITS.maxEarlyInput) return ws.close(TerminalCloseCode.POLICY, "too much input before ready");
        early?.push(buf);
        return;
      }
      const msg = parseClientMessage(buf.toString("utf8"));
      if (!msg) return invalid("invalid control message");
      if (msg.type === "hello") {
        if (greeted) return invalid("duplicate hello");
        greeted = true;
        clearTimeout(helloTimer);
        attach(msg).catch((err: unknown) => {
          if (ws.readyState !== ws.OPEN) return;
          if (err instanceof EnvironmentGoneError) return ws.close(err.code, err.reason);
          log(`cannot start terminal ${envId}/${machine}`, err);
          ws.send(encodeMessage({ type: "error", message: "The terminal could not be started." }));
          ws.close(TerminalCloseCode.SERVER_ERROR, "cannot start terminal");
        });
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
    if (!auth.ok && auth.status === 410) {
      const { code, reason } = goneClose(auth.gone);
      if (!socket.destroyed) wss.handleUpgrade(req, socket, head, (ws) => ws.close(code, reason));
      return;
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

  const closeEnvironment = async (envId: string, code: number = TerminalCloseCode.RESTARTED, reason = "environment closed") => {
    const ends: Promise<void>[] = [];
    // Sessions still starting (spawnSpec may be resuming the machines) are ended once they exist.
    for (const [k, pending] of starting) {
      if (k.startsWith(`${envId}/`)) ends.push(pending.then((s) => s.end(code, reason), () => undefined));
    }
    for (const s of live.values()) if (s.envId === envId) ends.push(s.end(code, reason));
    await Promise.all(ends);
  };
  handler.closeEnvironment = closeEnvironment;
  handler.resetEnvironment = async <T>(envId: string, work: () => Promise<T>): Promise<T> => {
    // Resets of one environment queue up behind each other (each holds new shells until it is done).
    const before = resetting.get(envId);
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    const chained = (before ?? Promise.resolve()).then(() => hold);
    resetting.set(envId, chained);
    try {
      if (before) await before;
      await closeEnvironment(envId, TerminalCloseCode.MACHINES_RESET, "machines reset");
      return await work();
    } finally {
      release();
      if (resetting.get(envId) === chained) resetting.delete(envId);
    }
  };
  handler.removeEnvironment = async (envId, why) => {
    const { code, reason } = goneClose(why);
    const now = Date.now();
    for (const [id, g] of gone) if (now - g.at > GONE_MEMORY_MS) gone.delete(id);
    gone.set(envId, { code, reason, at: now });
    await closeEnvironment(envId, code, reason);
  };
  handler.deleteRecordings = async (envId) => {
    quotas.delete(envId);
    if (settings.recordingsDir) await deleteRecordings(settings.recordingsDir, envId);
  };
  handler.prestart = (envId, machines, options) => {
    for (const machine of machines) {
      getSession(envId, machine, PRESTART_SIZE, options).catch((err) => settings.log(`prestart ${envId}/${machine} failed`, err));
    }
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

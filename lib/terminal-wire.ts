/**
 * The zod-free half of the terminal protocol (see `terminal-protocol.ts` for
 * the conversation and the message schemas): URL, close codes, limits, flow
 * control numbers, encoding, and a light decoder for server messages. The
 * browser bundle imports this file only, so that zod (~50 kB gz) stays out of
 * the terminal client; `terminal-protocol.ts` re-exports all of it.
 */
import type { ClientMessage, ServerMessage } from "./terminal-protocol";
import type { MachineName } from "./machines";

// ---------------------------------------------------------------------------
// URL

export const TERMINAL_PATH_PREFIX = "/ws/terminal/";

/** `/ws/terminal/<envId>/<machine>`; the client prepends `ws(s)://host`. */
export function terminalPath(envId: string, machine: MachineName): string {
  return `${TERMINAL_PATH_PREFIX}${encodeURIComponent(envId)}/${encodeURIComponent(machine)}`;
}

// ---------------------------------------------------------------------------
// Close codes

/**
 * WebSocket close codes used on terminal sockets. Three kinds:
 *
 * - 1000–1015 (RFC 6455): the client reconnects with capped exponential backoff
 *   (except after `exit`: then the user starts a new shell).
 * - 40xx–43xx (ours): the client reconnects on its own, with a code-specific
 *   behaviour (see {@link TerminalCloseCode.MACHINES_RESET}).
 * - 44xx (ours): final, {@link isFatalCloseCode}: retrying will not change the
 *   answer; the client stops and shows a message for the code.
 *
 * Note: authorization failures are answered with plain HTTP 401/403/404 *before*
 * the upgrade; browsers only report those as an abnormal close (1006), which is
 * why the client also gives up after a run of attempts that never opened.
 */
export const TerminalCloseCode = {
  /** The shell exited (an `exit` message came first) or the server ended the socket deliberately. */
  NORMAL: 1000,
  /** The server is shutting down; reconnect later. */
  GOING_AWAY: 1001,
  /** A text frame was not a valid control message, or a message came out of order (e.g. no `hello` first). */
  INVALID_FRAME: 1007,
  /** No `hello` within the server's hello timeout, or too much input before `ready`. */
  POLICY: 1008,
  /** A frame exceeded {@link TERMINAL_LIMITS.maxPayload} (sent by the `ws` library itself). */
  TOO_BIG: 1009,
  /** The shell could not be started or another server-side failure; retry with backoff. */
  SERVER_ERROR: 1011,
  /** The session was ended by the server (environment stopped or re-created, idle); reconnecting starts a new shell. */
  RESTARTED: 1012,
  /**
   * The environment's machines are being replaced ("reset machines"): the session is
   * closed *before* the old containers go. Reconnect right away: the server holds the
   * new socket (no `ready` yet) until the new machines are up, then starts a new shell
   * on them (`reset` clears the screen). Not counted as a failed attempt.
   */
  MACHINES_RESET: 4100,
  /** Authentication was lost after the upgrade (e.g. the learner session expired). */
  UNAUTHORIZED: 4401,
  /** The user may no longer use this terminal. */
  FORBIDDEN: 4403,
  /** The machine does not exist. */
  NOT_FOUND: 4404,
  /** The environment was removed (its learner or an instructor deleted it): its machines are gone for good. */
  ENVIRONMENT_REMOVED: 4410,
  /** The class this environment belonged to has ended: its machines were removed with it. */
  CLASS_ENDED: 4411,
} as const;
export type TerminalCloseCode = (typeof TerminalCloseCode)[keyof typeof TerminalCloseCode];

/** 44xx: do not retry, show the reason. */
export function isFatalCloseCode(code: number): boolean {
  return code >= 4400 && code < 4500;
}

// ---------------------------------------------------------------------------
// Limits and flow control

export const TERMINAL_LIMITS = {
  /**
   * Largest frame the server accepts from a client (ws `maxPayload`): enough for
   * a pasted config file in a few frames, small enough that a misbehaving client
   * cannot make the server buffer megabytes. The client splits pastes into
   * {@link TERMINAL_LIMITS.inputChunkChars}-sized frames.
   */
  maxPayload: 64 * 1024,
  /** Characters per input frame from the client: ≤ 3 UTF-8 bytes per UTF-16 unit → ≤ 48 KiB < maxPayload. */
  inputChunkChars: 16 * 1024,
  /** Largest binary output frame the server sends (smaller frames give the client's acks a finer grain). */
  maxOutputFrame: 64 * 1024,
  maxCols: 1000,
  maxRows: 500,
  /** Session ids are opaque strings of at most this length. */
  maxSessionId: 64,
  /**
   * Keystrokes a socket may send after `hello` and before `ready` (the server keeps
   * them and delivers them once the shell is attached; more closes the socket with
   * 1008). The browser client keeps what is typed while (re)connecting itself and
   * sends at most {@link TERMINAL_LIMITS.maxQueuedInput} after `ready`.
   */
  maxEarlyInput: 64 * 1024,
  /** Characters the client keeps while disconnected; typing beyond is refused (and shown). */
  maxQueuedInput: 4 * 1024,
} as const;

/**
 * Flow-control numbers. Invariant: `ackEveryBytes < lowWater < highWater < replayBytes`.
 *
 * - `highWater` 256 KiB: the most output a learner's terminal can be behind the
 *   shell. xterm.js parses roughly 5–30 MB/s, so after Ctrl-C on a runaway `cat`
 *   at most ~10–50 ms of already-sent output still scrolls by; and with a 50 ms
 *   round trip the window still sustains ~5 MB/s.
 * - `lowWater` 64 KiB: resume reading when the client has caught up to within
 *   this much — well below high water so the pty is not toggled per ack.
 * - `ackEveryBytes` 32 KiB: the client acks after processing this many bytes,
 *   i.e. at least 2 acks fit between low and high water (no stall), and a 10 MB
 *   output costs ~300 small ack messages.
 */
export const TERMINAL_FLOW = {
  highWater: 256 * 1024,
  /**
   * The most output one socket may have queued in the server (ws `bufferedAmount`),
   * whatever it acks: a client that acks without reading stops getting frames here
   * (the pty then pauses at high water as usual), so it cannot grow the server's memory.
   */
  maxSocketBuffer: 256 * 1024,
  lowWater: 64 * 1024,
  ackEveryBytes: 32 * 1024,
  /**
   * Default replay buffer per session: must exceed highWater plus what the pty
   * still delivers after a pause (one read, ≤ 64 KiB), so that a learner who
   * drops mid-output can always be replayed exactly.
   */
  replayBytes: 1024 * 1024,
} as const;

/** Longest text frame either side sends; anything longer is invalid without parsing. */
export const MAX_CONTROL_CHARS = 16 * 1024;

export function encodeMessage(message: ClientMessage | ServerMessage): string {
  return JSON.stringify(message);
}

const SERVER_TYPES = new Set(["ready", "reset", "exit", "error", "viewers", "control", "size"]);
const isInt = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v);

/**
 * Server text frame → message for the browser: checks the shape the client
 * relies on (type, and the numbers it does arithmetic with) without zod.
 * Unknown or malformed messages give `null` and are ignored.
 */
export function decodeServerMessage(text: string): ServerMessage | null {
  if (text.length > MAX_CONTROL_CHARS) return null;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== "object" || v === null) return null;
  const m = v as Record<string, unknown>;
  if (typeof m.type !== "string" || !SERVER_TYPES.has(m.type)) return null;
  switch (m.type) {
    case "ready":
      if (typeof m.session !== "string" || !isInt(m.seq) || m.seq < 0 || !isInt(m.cols) || !isInt(m.rows)) return null;
      if (!Array.isArray(m.viewers) || typeof m.readOnly !== "boolean") return null;
      break;
    case "reset":
      if (!isInt(m.seq) || m.seq < 0) return null;
      break;
    case "exit":
      if (!isInt(m.code)) return null;
      break;
    case "error":
      if (typeof m.message !== "string") return null;
      break;
    case "viewers":
      if (!Array.isArray(m.viewers)) return null;
      break;
    case "control":
      if (typeof m.readOnly !== "boolean" || (m.holder !== null && typeof m.holder !== "object")) return null;
      break;
    case "size":
      if (!isInt(m.cols) || !isInt(m.rows)) return null;
      break;
  }
  return m as unknown as ServerMessage;
}

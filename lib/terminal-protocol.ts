/**
 * The browser-terminal wire protocol, shared by the server (server/terminals/)
 * and the client (components/terminal/); docs/ARCHITECTURE.md places it.
 *
 * URL: `/ws/terminal/<environment>/<machine>` on the app's own port.
 *
 * Frames:
 * - **binary** frames carry terminal bytes: keystrokes client→server, pty
 *   output server→client. Output bytes are numbered by a per-session byte
 *   sequence: the first byte a shell ever printed is seq 0, and `ready.seq` /
 *   `reset.seq` say which seq the next binary frame starts at.
 * - **text** frames carry one JSON control message each, validated by the zod
 *   unions below. A text frame that is not valid JSON or not a valid message
 *   closes the socket with {@link TerminalCloseCode.INVALID_FRAME} (1007); the
 *   terminal session itself lives on.
 *
 * Conversation:
 * 1. client → `hello { session?, lastSeq, cols, rows }` (must be the first frame;
 *    `session`/`lastSeq` name what the client already shows: 0 on a fresh view).
 *    Keystrokes may follow at once: what arrives before `ready` is kept (up to
 *    {@link TERMINAL_LIMITS.maxEarlyInput}) and typed into the shell once attached.
 * 2. server → `reset { seq }` when it cannot continue exactly from the client's
 *    `session`/`lastSeq` (another shell, or the replay buffer no longer reaches
 *    back): the client clears its screen. Then `ready { seq, ... }` followed by
 *    binary output from `seq` on (the replay of what the client missed, then live).
 * 3. client → `ack { seq }` at least every {@link TERMINAL_FLOW.ackEveryBytes}
 *    bytes it has processed; the server stops reading the pty when a learner's
 *    unacknowledged bytes exceed the high-water mark and resumes below the low one.
 * 4. either side: `resize`, `control` (instructor take-over), notices (`viewers`,
 *    `control`, `size`), and finally `exit { code }` when the shell ends.
 *    `size` is sent in order with the output: the bytes after it were written by
 *    the shell at that size (also in a replay), so a viewer that takes the
 *    session's size at that point renders exactly what the learner sees.
 * 5. server closes: see {@link TerminalCloseCode} (e.g. 4100 while the machines are
 *    reset: reconnect and wait; 4410/4411 environment removed / class ended: stop).
 *
 * Isomorphic, but the browser bundle imports only the zod-free `terminal-wire.ts`
 * (re-exported here), and the server validates client frames with these schemas.
 */
import { z } from "zod";
import { environmentIdSchema, machineSchema, type MachineName } from "@/lib/machines";
import { MAX_CONTROL_CHARS, TERMINAL_LIMITS, TERMINAL_PATH_PREFIX } from "./terminal-wire";

// The zod-free half (constants, close codes, paths, encoding) is shared with the browser bundle.
export * from "./terminal-wire";

// ---------------------------------------------------------------------------
// URL

/**
 * Parses a request URL or path (query string allowed) into its environment and
 * machine; `null` when it is not exactly `/ws/terminal/<valid env id>/<mail|partner>`.
 */
export function parseTerminalPath(url: string): { envId: string; machine: MachineName } | null {
  const path = url.split(/[?#]/, 1)[0] ?? "";
  if (!path.startsWith(TERMINAL_PATH_PREFIX)) return null;
  const parts = path.slice(TERMINAL_PATH_PREFIX.length).split("/");
  if (parts.length !== 2) return null;
  const env = environmentIdSchema.safeParse(parts[0]);
  const machine = machineSchema.safeParse(parts[1]);
  if (!env.success || !machine.success) return null;
  return { envId: env.data, machine: machine.data };
}

// ---------------------------------------------------------------------------
// Messages

const cols = z.number().int().min(1).max(TERMINAL_LIMITS.maxCols);
const rows = z.number().int().min(1).max(TERMINAL_LIMITS.maxRows);
const seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const sessionId = z.string().min(1).max(TERMINAL_LIMITS.maxSessionId);

/** Client → server. */
export const helloMessageSchema = z.object({
  type: z.literal("hello"),
  /** The session the client's screen shows (from an earlier `ready`), if any. */
  session: sessionId.optional(),
  /** Output bytes of that session received so far (0 on a fresh screen). */
  lastSeq: seq,
  cols,
  rows,
});
export const resizeMessageSchema = z.object({ type: z.literal("resize"), cols, rows });
/** Output bytes processed (written into the terminal) so far: an absolute sequence number. */
export const ackMessageSchema = z.object({ type: z.literal("ack"), seq });
/** An instructor takes (`true`) or hands back (`false`) the keyboard. */
export const controlRequestSchema = z.object({ type: z.literal("control"), take: z.boolean() });

export const clientMessageSchema = z.discriminatedUnion("type", [
  helloMessageSchema,
  resizeMessageSchema,
  ackMessageSchema,
  controlRequestSchema,
]);
export type ClientMessage = z.infer<typeof clientMessageSchema>;
export type HelloMessage = z.infer<typeof helloMessageSchema>;

/** `learner` types; `viewer` (an instructor) is read-only unless holding control. */
export const terminalRoleSchema = z.enum(["learner", "viewer"]);
export type TerminalRole = z.infer<typeof terminalRoleSchema>;

/** Someone attached to a session (one per socket). */
export const participantSchema = z.object({
  /** Socket id, unique within the session. */
  id: z.string(),
  name: z.string(),
  role: terminalRoleSchema,
});
export type Participant = z.infer<typeof participantSchema>;

/** Server → client. */
export const readyMessageSchema = z.object({
  type: z.literal("ready"),
  session: sessionId,
  /** Sequence number of the first byte of the next binary frame. */
  seq,
  /** This socket's participant id (compare with `control.holder`). */
  you: z.string(),
  role: terminalRoleSchema,
  /** Whether this socket's keystrokes are dropped right now. */
  readOnly: z.boolean(),
  /** Whether this socket may send `control` requests (instructors). */
  canControl: z.boolean(),
  /** The instructor currently typing, if any. */
  control: participantSchema.nullable(),
  viewers: z.array(participantSchema),
  /**
   * The pty size for the output from `seq` on (set by the learner / the controlling
   * instructor); where it changes later in the stream a `size` notice says so, in order.
   */
  cols,
  rows,
});
/** Clear the screen: the next binary frame starts at `seq`, not where the client was. */
export const resetMessageSchema = z.object({ type: z.literal("reset"), seq });
/** The shell ended; the socket closes with 1000 next. A new connection starts a new shell. */
export const exitMessageSchema = z.object({
  type: z.literal("exit"),
  code: z.number().int(),
  signal: z.number().int().optional(),
});
export const errorMessageSchema = z.object({ type: z.literal("error"), message: z.string() });
/** Who is attached, sent to everyone when someone comes or goes. */
export const viewersMessageSchema = z.object({ type: z.literal("viewers"), viewers: z.array(participantSchema) });
/** Who holds control now (`null`: nobody but the learner types); `readOnly` is for the receiving socket. */
export const controlNoticeSchema = z.object({
  type: z.literal("control"),
  holder: participantSchema.nullable(),
  readOnly: z.boolean(),
});
/**
 * The pty size for the output that follows (in order with binary frames; also sent
 * during a replay where the size changed). Viewers that do not set the size follow it.
 */
export const sizeMessageSchema = z.object({ type: z.literal("size"), cols, rows });

export const serverMessageSchema = z.discriminatedUnion("type", [
  readyMessageSchema,
  resetMessageSchema,
  exitMessageSchema,
  errorMessageSchema,
  viewersMessageSchema,
  controlNoticeSchema,
  sizeMessageSchema,
]);
export type ServerMessage = z.infer<typeof serverMessageSchema>;
export type ReadyMessage = z.infer<typeof readyMessageSchema>;

function parseJson(text: string): unknown {
  if (text.length > MAX_CONTROL_CHARS) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A client's text frame → message, or `null` when invalid (→ close 1007). */
export function parseClientMessage(text: string): ClientMessage | null {
  const r = clientMessageSchema.safeParse(parseJson(text));
  return r.success ? r.data : null;
}

/** A server's text frame → message, or `null` when invalid (strict; the browser uses the lighter `decodeServerMessage`). */
export function parseServerMessage(text: string): ServerMessage | null {
  const r = serverMessageSchema.safeParse(parseJson(text));
  return r.success ? r.data : null;
}

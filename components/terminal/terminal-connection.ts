/**
 * The client side of the terminal protocol (`@/lib/terminal-protocol`), with no
 * DOM or xterm.js dependency so that it runs under Node in tests (inject the
 * `ws` package's WebSocket) and in the browser (global WebSocket).
 *
 * - tracks the output byte sequence (`received`) and the session id, and says
 *   hello with them on every (re)connect so the server replays exactly what
 *   this client missed (or tells it to reset);
 * - acks processed output every `ackEveryBytes` (server-side flow control);
 * - reconnects with capped exponential backoff and jitter; never after a 44xx
 *   close (status `ended` for "environment removed" / "class ended", `failed`
 *   otherwise) or after the shell exited; gives up after `maxFailedAttempts`
 *   attempts in a row that never got to `ready` (a browser cannot see the
 *   HTTP 401/403 of a refused upgrade: it reports close code 1006);
 * - after a 4100 close (the machines are being reset) it reconnects at once and
 *   waits (status `resetting`) until the server attaches it to a new shell;
 * - what is typed while (re)connecting is kept (up to `maxQueuedInput`) and sent
 *   once the same shell is back; when a new shell replaces it the keys are
 *   dropped and `inputNotice` says so; beyond the limit typing is refused
 *   (`sendInput` → false, `inputNotice: "refused"`). Read-only: never sent.
 * - `size` notices are handed to `onSize` in order with the output, so that a
 *   viewer can render each byte at the size the shell wrote it.
 */
// Values from the zod-free half of the protocol only: keeps zod out of the browser bundle.
import {
  decodeServerMessage,
  encodeMessage,
  isFatalCloseCode,
  TERMINAL_FLOW,
  TERMINAL_LIMITS,
  TerminalCloseCode,
} from "@/lib/terminal-wire";
import type { ClientMessage, Participant, ServerMessage, TerminalRole } from "@/lib/terminal-protocol";

/** The subset of the WHATWG WebSocket this class uses (browser WebSocket and `ws` both fit). */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: string | ArrayBufferLike | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

const OPEN = 1;

export type ConnectionStatus =
  /** First attempt in progress. */
  | "connecting"
  /** Attached: output flows, input allowed unless read-only. */
  | "open"
  /** Disconnected; next attempt at `retryAt` (or in progress when `retryAt` is null). */
  | "reconnecting"
  /** The machines are being reset: reconnected (or reconnecting), waiting for a shell on the new machines. */
  | "resetting"
  /** The shell ended (`exitCode`); `restart()` starts a new one. */
  | "exited"
  /** Gave up: a 44xx close or too many failed attempts; `retryNow()` tries again. */
  | "failed"
  /** The environment was removed or its class ended (`closeCode` 4410 / 4411): over for good. */
  | "ended"
  /** `close()` was called. */
  | "closed";

export interface ConnectionState {
  status: ConnectionStatus;
  /** Epoch ms of the next attempt while reconnecting. */
  retryAt: number | null;
  role: TerminalRole | null;
  readOnly: boolean;
  canControl: boolean;
  /** The instructor typing right now, if any. */
  control: Participant | null;
  /** This socket's participant id. */
  you: string | null;
  viewers: Participant[];
  exitCode: number | null;
  closeCode: number | null;
  /** Last error or close reason from the server. */
  message: string | null;
  /** The pty size (viewers without control follow it). */
  ptySize: { cols: number; rows: number } | null;
  /** Characters typed while disconnected, waiting to be sent. */
  queuedInput: number;
  /**
   * What happened to typing the shell did not get: `dropped` (typed while
   * disconnected, but a new shell came back), `refused` (too much typed while
   * disconnected). Cleared by the next key that is sent.
   */
  inputNotice: "dropped" | "refused" | null;
}

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor: number;
  /** ± fraction of randomness, e.g. 0.2. */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 10_000, factor: 2, jitter: 0.2 };

export interface TerminalConnectionOptions {
  url: string;
  /** Default: the global WebSocket (browsers). In Node tests: `ws`'s WebSocket. */
  WebSocket?: WebSocketConstructor;
  /** Current terminal size, read at every (re)connect. */
  size: () => { cols: number; rows: number };
  /**
   * Output bytes in order. Call `processed()` once they have been handled
   * (e.g. xterm's write callback): that drives acks and thus flow control.
   */
  onOutput: (data: Uint8Array, processed: () => void) => void;
  /** Clear the screen: what follows does not continue what is shown. Must stay in order with output. */
  onReset: () => void;
  /**
   * The pty size for the output that follows (from `ready` and `size` notices), in
   * order with `onOutput`: apply it after the output before it has been written.
   */
  onSize?: (cols: number, rows: number) => void;
  onState?: (state: ConnectionState) => void;
  backoff?: Partial<BackoffOptions>;
  /** Attempts in a row that never reached `ready` before giving up. Default 10. */
  maxFailedAttempts?: number;
  ackEveryBytes?: number;
  random?: () => number;
}

function initialState(): ConnectionState {
  return {
    status: "connecting",
    retryAt: null,
    role: null,
    readOnly: true,
    canControl: false,
    control: null,
    you: null,
    viewers: [],
    exitCode: null,
    closeCode: null,
    message: null,
    ptySize: null,
    queuedInput: 0,
    inputNotice: null,
  };
}

/** States in which typing is kept for later (the socket is coming back). */
const WAITING: ReadonlySet<ConnectionStatus> = new Set(["connecting", "reconnecting", "resetting"]);

export class TerminalConnection {
  private ws: WebSocketLike | null = null;
  private state_: ConnectionState = initialState();
  private readonly backoff: BackoffOptions;
  private readonly maxFailed: number;
  private readonly ackEvery: number;
  private readonly random: () => number;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private failedAttempts = 0;
  private gotReady = false;
  private exited = false;
  private stopped = true;
  /** Typed while not attached, in order. */
  private queue: (string | Uint8Array)[] = [];
  private queuedChars = 0;

  /** The session whose output the screen shows. */
  private session: string | undefined;
  /** Next output seq expected = bytes of `session` received. */
  private received = 0;
  private processedSeq = 0;
  private ackedSeq = 0;
  /** Bumped on every reset so late `processed()` calls of old output are ignored. */
  private epoch = 0;
  /** `epoch` at the last `ready`: a `reset` since then means the shell we typed for is gone. */
  private readyEpoch = 0;
  private readonly encoder = new TextEncoder();

  constructor(private readonly opts: TerminalConnectionOptions) {
    this.backoff = { ...DEFAULT_BACKOFF, ...opts.backoff };
    this.maxFailed = opts.maxFailedAttempts ?? 10;
    this.ackEvery = opts.ackEveryBytes ?? TERMINAL_FLOW.ackEveryBytes;
    this.random = opts.random ?? Math.random;
  }

  get state(): ConnectionState {
    return this.state_;
  }

  /** Output bytes of the current session received so far. */
  get seq(): number {
    return this.received;
  }

  get sessionId(): string | undefined {
    return this.session;
  }

  /** Whether typing is sent right now. */
  get canType(): boolean {
    return this.state_.status === "open" && !this.state_.readOnly;
  }

  /** Whether typing is sent now or kept until the shell is back (not for a known read-only viewer). */
  get acceptsInput(): boolean {
    if (this.stopped) return false;
    if (this.canType) return true;
    return WAITING.has(this.state_.status) && !(this.state_.role === "viewer" && this.state_.readOnly);
  }

  connect(): void {
    this.stopped = false;
    this.exited = false;
    this.failedAttempts = 0;
    this.open();
  }

  /** Stops for good (component unmount). */
  close(): void {
    this.stopped = true;
    this.clearRetry();
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      detach(ws);
      ws.close(1000, "closed");
    }
    this.update({ status: "closed", retryAt: null });
  }

  /** Skip the backoff wait (e.g. the browser came back online, or the user clicked). */
  retryNow(): void {
    if (this.stopped || this.exited || this.ws) return; // open, or an attempt is under way
    this.failedAttempts = 0;
    this.clearRetry();
    this.open();
  }

  /** After `exit`: start a new shell below the old output. */
  restart(): void {
    if (!this.exited && this.state_.status !== "failed") return;
    this.dropQueue(null);
    this.session = undefined;
    this.received = this.processedSeq = this.ackedSeq = 0;
    this.epoch++;
    this.connect();
  }

  /**
   * Sends keystrokes / pasted text, or keeps them while (re)connecting; false when
   * they are not taken (read-only, ended, or too much typed while disconnected).
   */
  sendInput(data: string | Uint8Array): boolean {
    const ws = this.ws;
    if (ws && ws.readyState === OPEN && this.gotReady && this.canType) {
      this.write(ws, data);
      if (this.state_.inputNotice) this.update({ inputNotice: null });
      return true;
    }
    if (!this.acceptsInput) return false;
    if (this.queuedChars + data.length > TERMINAL_LIMITS.maxQueuedInput) {
      if (this.state_.inputNotice !== "refused") this.update({ inputNotice: "refused" });
      return false;
    }
    this.queue.push(data);
    this.queuedChars += data.length;
    this.update({ queuedInput: this.queuedChars });
    return true;
  }

  private write(ws: WebSocketLike, data: string | Uint8Array): void {
    if (typeof data !== "string") {
      for (let i = 0; i < data.length; i += TERMINAL_LIMITS.inputChunkChars) {
        ws.send(data.subarray(i, i + TERMINAL_LIMITS.inputChunkChars));
      }
      return;
    }
    const max = TERMINAL_LIMITS.inputChunkChars;
    for (let i = 0; i < data.length; ) {
      let end = Math.min(data.length, i + max);
      // Do not split a surrogate pair between frames.
      if (end < data.length && isHighSurrogate(data.charCodeAt(end - 1))) end--;
      ws.send(this.encoder.encode(data.slice(i, end)));
      i = end;
    }
  }

  /** Empties the queue; `notice` says why when keys were thrown away. */
  private dropQueue(notice: ConnectionState["inputNotice"]): void {
    const had = this.queuedChars > 0;
    this.queue = [];
    this.queuedChars = 0;
    if (had || this.state_.queuedInput) this.update({ queuedInput: 0, ...(had && notice ? { inputNotice: notice } : {}) });
  }

  /** The terminal was resized (already debounced by the caller). */
  resize(cols: number, rows: number): void {
    this.sendControl({ type: "resize", cols, rows });
  }

  /** Instructors: take (`true`) or hand back (`false`) the keyboard. */
  takeControl(take: boolean): void {
    this.sendControl({ type: "control", take });
  }

  // ---------------------------------------------------------------------------

  private open(): void {
    if (this.stopped) return;
    const Ctor = this.opts.WebSocket ?? (globalThis as unknown as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!Ctor) throw new Error("no WebSocket implementation: pass options.WebSocket");
    if (this.ws) {
      detach(this.ws);
      this.ws.close(1000, "reconnecting");
    }
    this.gotReady = false;
    const st = this.state_.status;
    this.update({ retryAt: null, status: st === "connecting" || st === "resetting" ? st : "reconnecting" });
    let ws: WebSocketLike;
    try {
      ws = new Ctor(this.opts.url);
    } catch (err) {
      this.ws = null;
      this.update({ message: String(err) });
      this.scheduleRetry();
      return;
    }
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onopen = () => {
      const { cols, rows } = this.opts.size();
      this.sendControl({ type: "hello", session: this.session, lastSeq: this.received, cols, rows }, true);
    };
    ws.onmessage = (ev) => this.onMessage(ev.data);
    ws.onerror = () => {
      // A close event always follows.
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.onClose(ev.code, ev.reason);
    };
  }

  private onMessage(data: unknown): void {
    if (typeof data === "string") {
      const msg = decodeServerMessage(data);
      if (msg) this.onControl(msg);
      return;
    }
    const bytes =
      data instanceof ArrayBuffer
        ? new Uint8Array(data)
        : ArrayBuffer.isView(data)
          ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
          : null;
    if (!bytes || bytes.length === 0) return;
    this.received += bytes.length;
    const epoch = this.epoch;
    const n = bytes.length;
    this.opts.onOutput(bytes, () => {
      if (epoch !== this.epoch) return;
      this.processedSeq += n;
      if (this.processedSeq - this.ackedSeq >= this.ackEvery) this.sendAck();
    });
  }

  private sendAck(): void {
    if (this.ws?.readyState !== OPEN || !this.gotReady) return;
    this.ackedSeq = this.processedSeq;
    this.sendControl({ type: "ack", seq: this.processedSeq });
  }

  private onControl(msg: ServerMessage): void {
    switch (msg.type) {
      case "reset":
        this.epoch++;
        this.received = this.processedSeq = this.ackedSeq = msg.seq;
        this.opts.onReset();
        return;
      case "ready": {
        // Typed while away: for this shell if it is the one we had (or the first one), not for a new one.
        const continues = (this.session === undefined && this.received === 0) || (this.session === msg.session && this.epoch === this.readyEpoch);
        if (this.session !== msg.session || this.received !== msg.seq) {
          // The server did not say reset, but the stream does not continue ours (defensive).
          if (this.session !== undefined && this.received !== msg.seq) this.opts.onReset();
          this.epoch++;
          this.received = this.processedSeq = this.ackedSeq = msg.seq;
        }
        this.session = msg.session;
        this.opts.onSize?.(msg.cols, msg.rows);
        this.ackedSeq = Math.max(this.ackedSeq, msg.seq);
        this.gotReady = true;
        this.failedAttempts = 0;
        this.update({
          status: "open",
          retryAt: null,
          role: msg.role,
          readOnly: msg.readOnly,
          canControl: msg.canControl,
          control: msg.control,
          you: msg.you,
          viewers: msg.viewers,
          closeCode: null,
          message: null,
          exitCode: null,
          ptySize: { cols: msg.cols, rows: msg.rows },
        });
        this.readyEpoch = this.epoch;
        if (msg.readOnly || !continues) this.dropQueue("dropped");
        else {
          const queued = this.queue;
          this.dropQueue(null);
          for (const q of queued) this.sendInput(q);
        }
        return;
      }
      case "exit":
        this.exited = true;
        this.update({ exitCode: msg.code });
        return;
      case "error":
        this.update({ message: msg.message });
        return;
      case "viewers":
        this.update({ viewers: msg.viewers });
        return;
      case "control":
        this.update({ control: msg.holder, readOnly: msg.readOnly });
        return;
      case "size":
        this.opts.onSize?.(msg.cols, msg.rows);
        this.update({ ptySize: { cols: msg.cols, rows: msg.rows } });
        return;
    }
  }

  private onClose(code: number, reason: string): void {
    if (this.stopped) return;
    if (this.exited) {
      this.update({ status: "exited", closeCode: code, retryAt: null });
      return;
    }
    if (code === TerminalCloseCode.ENVIRONMENT_REMOVED || code === TerminalCloseCode.CLASS_ENDED) {
      this.stopped = true;
      this.dropQueue(null);
      this.update({ status: "ended", closeCode: code, message: reason || null, retryAt: null });
      return;
    }
    if (isFatalCloseCode(code)) {
      this.dropQueue(null);
      this.update({ status: "failed", closeCode: code, message: reason || this.state_.message, retryAt: null });
      return;
    }
    if (code === TerminalCloseCode.MACHINES_RESET) {
      // Not a failure: come back at once; the server holds the socket until the new machines are up.
      this.failedAttempts = 0;
      this.update({ status: "resetting", closeCode: code, message: null });
      this.clearRetry();
      this.open();
      return;
    }
    if (!this.gotReady) this.failedAttempts++;
    if (this.failedAttempts >= this.maxFailed) {
      this.dropQueue(null);
      this.update({ status: "failed", closeCode: code, message: reason || this.state_.message, retryAt: null });
      return;
    }
    this.update({ closeCode: code, message: reason || null });
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    this.clearRetry();
    const { initialMs, maxMs, factor, jitter } = this.backoff;
    // The first retry after a working connection comes quickly; then it backs off.
    const exp = Math.min(maxMs, initialMs * Math.pow(factor, Math.max(0, this.failedAttempts - 1)));
    const delay = Math.max(0, Math.round(exp * (1 + jitter * (2 * this.random() - 1))));
    this.update({ status: this.state_.status === "resetting" ? "resetting" : "reconnecting", retryAt: Date.now() + delay });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.open();
    }, delay);
  }

  private clearRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  private sendControl(msg: ClientMessage, beforeReady = false): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== OPEN || (!beforeReady && !this.gotReady)) return;
    ws.send(encodeMessage(msg));
  }

  private update(patch: Partial<ConnectionState>): void {
    this.state_ = { ...this.state_, ...patch };
    this.opts.onState?.(this.state_);
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function detach(ws: WebSocketLike): void {
  ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
}

/**
 * One terminal session: a login shell in one lab machine (node-pty running the
 * injected command, e.g. `docker exec -it … bash -l`) shared by every socket
 * attached to it. The session outlives its sockets (the protocol is in
 * lib/terminal-protocol.ts).
 *
 * Output path:  pty → PromptMarkFilter (strip + report OSC 7717) → ReplayBuffer
 *               (+ recording) → per-socket pump (coalesced ~5 ms, or at once
 *               right after input) → binary frames, with `size` notices in
 *               order where the pty was resized (viewers render at that size).
 * Flow control: the pty is paused when the slowest *learner-side* socket has
 *               more than `highWater` bytes unacknowledged, and resumed below
 *               `lowWater`. While nobody is attached the last acknowledged
 *               position is kept, so output stops at high water and a learner
 *               coming back is replayed exactly. Read-only viewers get their
 *               own window and never slow the learner down; a viewer that falls
 *               behind the replay buffer gets `reset`. Whatever a socket acks, no
 *               more than `maxSocketBuffer` bytes wait in its send queue: a client
 *               that acks without reading gets nothing more (and, as a learner,
 *               pauses the pty at high water like any slow reader).
 */
import { randomBytes } from "node:crypto";
import * as pty from "node-pty";
import type { WebSocket } from "ws";
import type { MachineName } from "@/lib/machines";
import {
  encodeMessage,
  TERMINAL_LIMITS,
  TerminalCloseCode,
  type ClientMessage,
  type HelloMessage,
  type Participant,
  type ServerMessage,
  type TerminalRole,
} from "@/lib/terminal-protocol";
import { PromptMarkFilter } from "./prompt-marks";
import { AsciicastRecorder, type RecordingQuota } from "./recorder";
import { ReplayBuffer } from "./replay-buffer";

/** What to run for a terminal (injected by the app: see `createTerminalUpgradeHandler`). */
export interface SpawnSpec {
  file: string;
  args: string[];
  /** Added to (and overriding) the server's own environment, which the docker CLI needs (PATH, HOME, DOCKER_HOST). */
  env?: Record<string, string>;
  cwd?: string;
  /**
   * Called when the server ends a session that is still running (idle reap,
   * environment closed, shutdown), after killing the pty. Killing `docker exec`
   * does NOT end the shell inside the container (Docker keeps exec'd processes),
   * so the docker layer may use this to kill it there.
   */
  terminate?: () => void | Promise<void>;
}

export interface SessionSettings {
  highWater: number;
  lowWater: number;
  /** Most bytes one socket may have queued (ws `bufferedAmount`) before we stop sending to it. */
  maxSocketBuffer: number;
  replayBytes: number;
  /** Output is collected this long before it is sent (fewer, larger frames). */
  coalesceMs: number;
  /** After input, output is sent at once for this long (keystroke echo is never delayed). */
  eagerMs: number;
  /** A session with no sockets is ended after this long. */
  idleGraceMs: number;
  recordingsDir: string | null;
  maxRecordingBytes?: number;
  onPrompt?: (envId: string, machine: MachineName, exitStatus: number) => void;
  onActivity?: (envId: string, machine: MachineName) => void;
  /** The learner pressed Enter (a line went to the shell or to a program such as telnet). */
  onEnter?: (envId: string, machine: MachineName) => void;
  /** At most one onActivity call per session per this many ms. */
  activityThrottleMs: number;
  log: (message: string, err?: unknown) => void;
}

/** One socket attached to a session. */
export class Attachment {
  /** Next seq to send. */
  sentSeq = 0;
  /** Bytes the client has processed (from `ack`). */
  ackedSeq = 0;
  /** The pty size this socket was last told (in `ready` or a `size` notice). */
  cols = 0;
  rows = 0;
  /** Polls for the socket's send queue to drain while it is over `maxSocketBuffer`. */
  drainTimer: NodeJS.Timeout | null = null;
  readonly participant: Participant;
  constructor(
    readonly ws: WebSocket,
    readonly id: string,
    readonly name: string,
    readonly role: TerminalRole,
  ) {
    this.participant = { id, name, role };
  }
}

export interface SessionStats {
  session: string;
  /** Output bytes ever produced (after stripping prompt marks). */
  head: number;
  /** Oldest replayable seq. */
  start: number;
  replayHeldBytes: number;
  paused: boolean;
  pauses: number;
  /** Largest `head - acknowledged` seen for the flow-control reference. */
  maxLag: number;
  /** Largest `sent - acked` of any socket. */
  maxUnacked: number;
  /** Largest `ws.bufferedAmount` seen right after a send. */
  maxBufferedAmount: number;
  /** Times a socket's send queue was full (over `maxSocketBuffer`) and sending waited. */
  socketBufferStalls: number;
  droppedInputBytes: number;
  prompts: number;
  clients: number;
}

let nextId = 1;

/** Where in the output stream the pty size changed: bytes from `seq` on were written at `cols`×`rows`. */
interface SizeMark {
  seq: number;
  cols: number;
  rows: number;
}

/**
 * Size marks kept for replays (a resize storm without output collapses into one
 * mark; with output between, older marks are dropped past this many: a very old
 * part of a replay may then be shown at a later size, nothing worse).
 */
const MAX_SIZE_MARKS = 256;

/** How often a socket whose send queue is full is looked at again (ws has no public drain event). */
const DRAIN_POLL_MS = 20;

export class TerminalSession {
  readonly id = randomBytes(9).toString("base64url");
  readonly startedAt = Date.now();
  private readonly pty: pty.IPty;
  private readonly buffer: ReplayBuffer;
  private readonly filter = new PromptMarkFilter();
  private readonly recorder: AsciicastRecorder | null;
  private readonly clients = new Set<Attachment>();
  private controlHolder: Attachment | null = null;
  private cols: number;
  private rows: number;
  /** Size changes in the output stream, oldest first; the first applies from `buffer.start` at the latest. */
  private sizeMarks: SizeMark[];
  /** The size the learner's terminal asked for last: restored when an instructor hands control back. */
  private learnerSize: { cols: number; rows: number } | null = null;
  private paused = false;
  /** The shell printed its prompt and no line was entered since (see input()). */
  private atPrompt = false;
  private awaitingDrain = false;
  /** Flow-control reference kept while no learner-side socket is attached. */
  private frozenAck = 0;
  private flushTimer: NodeJS.Timeout | null = null;
  private heldTimer: NodeJS.Timeout | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private eagerUntil = 0;
  private flushNextOutput = false;
  private lastActivity = 0;
  private ended = false;
  private readonly stats_ = {
    pauses: 0,
    maxLag: 0,
    maxUnacked: 0,
    maxBufferedAmount: 0,
    socketBufferStalls: 0,
    droppedInputBytes: 0,
    prompts: 0,
  };
  /** Resolves when the session is over and its recording closed. */
  readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(
    readonly envId: string,
    readonly machine: MachineName,
    private readonly spec: SpawnSpec,
    size: { cols: number; rows: number },
    private readonly settings: SessionSettings,
    private readonly onGone: (s: TerminalSession) => void,
    recordingQuota?: RecordingQuota,
    /** Started ahead for someone who has not come yet: not reaped as idle before the first attach. */
    { pinned = false }: { pinned?: boolean } = {},
  ) {
    this.done = new Promise((r) => (this.resolveDone = r));
    this.cols = size.cols;
    this.rows = size.rows;
    this.sizeMarks = [{ seq: 0, cols: size.cols, rows: size.rows }];
    this.buffer = new ReplayBuffer(settings.replayBytes);
    // Throws (→ close 1011) when the command cannot be started at all.
    this.pty = pty.spawn(spec.file, spec.args, {
      name: "xterm-256color",
      cols: this.cols,
      rows: this.rows,
      cwd: spec.cwd ?? process.cwd(),
      env: { ...ptyBaseEnv(), ...spec.env },
      encoding: null,
    });
    this.recorder = settings.recordingsDir
      ? new AsciicastRecorder({
          dir: settings.recordingsDir,
          envId,
          machine,
          cols: this.cols,
          rows: this.rows,
          maxBytes: settings.maxRecordingBytes,
          quota: recordingQuota,
        })
      : null;
    // With `encoding: null` node-pty delivers Buffers (its typings say string).
    this.pty.onData((d) => this.onPtyData(d as unknown as Buffer));
    this.pty.onExit(({ exitCode, signal }) => this.onPtyExit(exitCode, signal));
    if (!pinned) this.startIdleTimer();
  }

  get clientCount(): number {
    return this.clients.size;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** The pty process id (the `docker exec` client in production). */
  get pid(): number {
    return this.pty.pid;
  }

  stats(): SessionStats {
    return {
      session: this.id,
      head: this.buffer.head,
      start: this.buffer.start,
      replayHeldBytes: this.buffer.heldBytes,
      paused: this.paused,
      clients: this.clients.size,
      ...this.stats_,
    };
  }

  participants(): Participant[] {
    return [...this.clients].map((c) => c.participant);
  }

  // -------------------------------------------------------------------------
  // Sockets

  attach(ws: WebSocket, name: string, role: TerminalRole, hello: HelloMessage): Attachment {
    const att = new Attachment(ws, `p${nextId++}`, name, role);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;

    // Continue exactly where the client is, or start it over from the oldest byte we have.
    const resumable =
      hello.session === this.id && hello.lastSeq >= this.buffer.start && hello.lastSeq <= this.buffer.head;
    const from = resumable ? hello.lastSeq : this.buffer.start;
    const clientHasScreen = hello.session !== undefined || hello.lastSeq > 0;
    att.sentSeq = from;
    att.ackedSeq = from;

    if (!resumable && clientHasScreen) this.send(att, { type: "reset", seq: from });
    if (role === "learner") {
      this.learnerSize = { cols: hello.cols, rows: hello.rows };
      // Before joining the clients: the new socket hears of the size in `ready`, not before it.
      this.applyResize(hello.cols, hello.rows);
    }
    this.clients.add(att);
    // `ready` carries the size the replay starts at; later sizes follow in order (pump).
    const first = this.sizeAt(from);
    att.cols = first.cols;
    att.rows = first.rows;
    this.send(att, {
      type: "ready",
      session: this.id,
      seq: from,
      you: att.id,
      role,
      readOnly: this.isReadOnly(att),
      canControl: role === "viewer",
      control: this.controlHolder?.participant ?? null,
      viewers: this.participants(),
      cols: att.cols,
      rows: att.rows,
    });
    this.broadcast({ type: "viewers", viewers: this.participants() }, att);
    this.activity(true);
    this.checkFlow();
    this.pump(att);
    return att;
  }

  detach(att: Attachment): void {
    if (!this.clients.delete(att)) return;
    if (att.drainTimer) clearTimeout(att.drainTimer);
    att.drainTimer = null;
    // Remember how far the learner got, so output stops at high water while nobody watches.
    if (this.isLearnerSide(att)) this.frozenAck = Math.max(this.frozenAck, att.ackedSeq);
    if (this.controlHolder === att) this.setControl(null);
    if (this.ended) return;
    this.broadcast({ type: "viewers", viewers: this.participants() });
    this.checkFlow();
    if (this.clients.size === 0) this.startIdleTimer();
  }

  /** A valid control message from an attached socket (not `hello`). */
  handleMessage(att: Attachment, msg: ClientMessage): void {
    switch (msg.type) {
      case "ack": {
        // Never beyond what was sent, never backwards.
        const seq = Math.min(msg.seq, att.sentSeq);
        if (seq > att.ackedSeq) att.ackedSeq = seq;
        this.checkFlow();
        this.pump(att);
        return;
      }
      case "resize":
        if (att.role === "learner") this.learnerSize = { cols: msg.cols, rows: msg.rows };
        if (this.mayResize(att)) this.applyResize(msg.cols, msg.rows);
        return;
      case "control":
        if (att.role !== "viewer") {
          this.send(att, { type: "error", message: "Only an instructor can take control of a terminal." });
          return;
        }
        if (msg.take) this.setControl(att);
        else if (this.controlHolder === att) this.setControl(null);
        return;
      case "hello":
        // Handled by the upgrade handler; a second hello is a protocol error there.
        return;
    }
  }

  /** Keystrokes from a socket; dropped for read-only viewers. */
  input(att: Attachment, data: Buffer): void {
    if (this.ended) return;
    if (this.isReadOnly(att)) {
      this.stats_.droppedInputBytes += data.length;
      return;
    }
    this.flush(); // anything printed before this keystroke goes out first
    // Its echo goes out the moment it arrives, however long the container takes (no coalescing delay).
    this.flushNextOutput = true;
    this.eagerUntil = Date.now() + this.settings.eagerMs;
    this.pty.write(data);
    this.recorder?.input(data);
    this.activity(false);
    // Inside telnet or imtest no prompt marks a finished command; Enter is the next best signal
    // that something may have happened (a mail sent, a login) and the checks may look again.
    // Enter at the shell's prompt starts a command whose own prompt will follow: no signal then
    // (an evaluation in the middle of `systemctl restart` would only see half a change).
    if (data.includes(13) || data.includes(10)) {
      const insideProgram = !this.atPrompt;
      this.atPrompt = false;
      if (insideProgram) {
        try {
          this.settings.onEnter?.(this.envId, this.machine);
        } catch (err) {
          this.settings.log("onEnter failed", err);
        }
      }
    }
  }

  /** Ends the session from the server side: closes every socket with `code`, kills the shell. */
  end(code: number = TerminalCloseCode.RESTARTED, reason = "terminal session ended"): Promise<void> {
    if (this.ended) return this.done;
    this.flush();
    for (const c of this.clients) closeSocket(c.ws, code, reason);
    this.finish(true);
    return this.done;
  }

  // -------------------------------------------------------------------------
  // Output

  private onPtyData(chunk: Buffer): void {
    if (this.ended) return;
    const { output, marks } = this.filter.push(chunk);
    if (output.length > 0) this.appendOutput(output);
    for (const m of marks) {
      this.stats_.prompts++;
      this.atPrompt = true;
      this.recorder?.marker(`prompt ${m.exitStatus}`);
      try {
        this.settings.onPrompt?.(this.envId, this.machine, m.exitStatus);
      } catch (err) {
        this.settings.log("onPrompt failed", err);
      }
    }
    if (this.filter.pending) this.armHeldTimer();
    this.checkFlow();
    if (this.flushNextOutput || Date.now() < this.eagerUntil) {
      this.flushNextOutput = false;
      this.flush();
    }
    else if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = null;
        this.flush();
      }, this.settings.coalesceMs);
    }
  }

  private appendOutput(data: Buffer): void {
    this.buffer.append(data);
    this.recorder?.output(data);
  }

  /** Bytes that might start a prompt mark are held; if nothing follows soon, they were plain output. */
  private armHeldTimer(): void {
    if (this.heldTimer) clearTimeout(this.heldTimer);
    this.heldTimer = setTimeout(() => {
      this.heldTimer = null;
      if (!this.filter.pending || this.ended) return;
      this.appendOutput(this.filter.drain());
      this.flush();
    }, 50);
  }

  private flush(): void {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    for (const c of this.clients) this.pump(c);
  }

  /**
   * Sends a socket what it has not got yet, within its window (unacknowledged bytes)
   * and within its send queue (`bufferedAmount`, which acks cannot lie about), with a
   * `size` notice wherever the pty size changes in the stream.
   */
  private pump(att: Attachment, ignoreWindow = false): void {
    const ws = att.ws;
    if (ws.readyState !== ws.OPEN) return;
    if (att.sentSeq < this.buffer.start) {
      // This (read-only) socket fell behind what we keep: start it over.
      att.sentSeq = att.ackedSeq = this.buffer.start;
      this.send(att, { type: "reset", seq: att.sentSeq });
    }
    const { highWater, maxSocketBuffer } = this.settings;
    for (;;) {
      const nextMark = this.syncSize(att);
      if (att.sentSeq >= this.buffer.head) break;
      const window = ignoreWindow ? Infinity : highWater - (att.sentSeq - att.ackedSeq);
      if (window <= 0) break;
      const queue = maxSocketBuffer - ws.bufferedAmount;
      if (queue <= 0 && !ignoreWindow) {
        this.stats_.socketBufferStalls++;
        this.awaitDrain(att);
        break;
      }
      const room = Math.min(window, ignoreWindow ? Infinity : queue, nextMark - att.sentSeq, TERMINAL_LIMITS.maxOutputFrame);
      const data = this.buffer.read(att.sentSeq, room);
      ws.send(data, { binary: true });
      att.sentSeq += data.length;
      const unacked = att.sentSeq - att.ackedSeq;
      if (unacked > this.stats_.maxUnacked) this.stats_.maxUnacked = unacked;
      if (ws.bufferedAmount > this.stats_.maxBufferedAmount) this.stats_.maxBufferedAmount = ws.bufferedAmount;
    }
  }

  /** Looks at a socket again once its send queue may have drained. */
  private awaitDrain(att: Attachment): void {
    if (att.drainTimer || this.ended) return;
    att.drainTimer = setTimeout(() => {
      att.drainTimer = null;
      if (this.clients.has(att)) this.pump(att);
    }, DRAIN_POLL_MS);
    att.drainTimer.unref();
  }

  /** The pty size in effect for the output byte at `seq`. */
  private sizeAt(seq: number): SizeMark {
    let found = this.sizeMarks[0]!;
    for (const m of this.sizeMarks) {
      if (m.seq > seq) break;
      found = m;
    }
    return found;
  }

  /**
   * Tells the socket the size in effect at its send position if it does not know it
   * yet; returns the seq where the size changes next (frames must not cross it).
   */
  private syncSize(att: Attachment): number {
    const at = this.sizeAt(att.sentSeq);
    if (at.cols !== att.cols || at.rows !== att.rows) {
      att.cols = at.cols;
      att.rows = at.rows;
      this.send(att, { type: "size", cols: at.cols, rows: at.rows });
    }
    const next = this.sizeMarks.find((m) => m.seq > att.sentSeq);
    return next ? next.seq : Infinity;
  }

  // -------------------------------------------------------------------------
  // Flow control

  private isLearnerSide(att: Attachment): boolean {
    return att.role === "learner" || this.controlHolder === att;
  }

  /** Output position everyone who counts has processed. */
  private flowReference(): number {
    let min = Infinity;
    for (const c of this.clients) if (this.isLearnerSide(c)) min = Math.min(min, c.ackedSeq);
    if (min === Infinity) {
      // No learner attached: an instructor watching alone sets the pace; nobody → the frozen position.
      for (const c of this.clients) min = Math.min(min, c.ackedSeq);
      if (min === Infinity) return this.frozenAck;
      return min;
    }
    this.frozenAck = min;
    return min;
  }

  private checkFlow(): void {
    if (this.ended) return;
    const lag = this.buffer.head - this.flowReference();
    if (lag > this.stats_.maxLag) this.stats_.maxLag = lag;
    const backlog = this.recorder?.backlog ?? 0;
    const { highWater, lowWater } = this.settings;
    if (!this.paused && (lag > highWater || backlog > highWater)) {
      this.paused = true;
      this.stats_.pauses++;
      this.pty.pause();
    } else if (this.paused && lag < lowWater && backlog < lowWater) {
      this.paused = false;
      this.pty.resume();
    }
    // Paused (also) because the disk is slow: look again once the recording has drained.
    if (this.paused && backlog >= lowWater && !this.awaitingDrain && this.recorder) {
      this.awaitingDrain = true;
      this.recorder.onDrain(() => {
        this.awaitingDrain = false;
        this.checkFlow();
      });
    }
  }

  // -------------------------------------------------------------------------
  // Size, control, notices

  private mayResize(att: Attachment): boolean {
    return att.role === "learner" || this.controlHolder === att;
  }

  private applyResize(cols: number, rows: number): void {
    if (cols === this.cols && rows === this.rows) return;
    this.cols = cols;
    this.rows = rows;
    try {
      this.pty.resize(cols, rows);
    } catch (err) {
      this.settings.log("pty resize failed", err);
    }
    this.recorder?.resize(cols, rows);
    // Everything the shell prints from here on is at the new size: mark the stream, and let
    // every socket that has caught up hear of it now (the others when their output gets there).
    const head = this.buffer.head;
    const last = this.sizeMarks.at(-1)!;
    if (last.seq === head) this.sizeMarks[this.sizeMarks.length - 1] = { seq: head, cols, rows };
    else this.sizeMarks.push({ seq: head, cols, rows });
    this.pruneSizeMarks();
    for (const c of this.clients) this.pump(c);
  }

  /** Drops marks no replay can reach any more (keeping the one in effect at the buffer's start). */
  private pruneSizeMarks(): void {
    const start = this.buffer.start;
    let firstUseful = 0;
    while (firstUseful + 1 < this.sizeMarks.length && this.sizeMarks[firstUseful + 1]!.seq <= start) firstUseful++;
    if (this.sizeMarks.length - firstUseful > MAX_SIZE_MARKS) firstUseful = this.sizeMarks.length - MAX_SIZE_MARKS;
    if (firstUseful > 0) this.sizeMarks.splice(0, firstUseful);
  }

  private isReadOnly(att: Attachment): boolean {
    return att.role === "viewer" && this.controlHolder !== att;
  }

  private setControl(holder: Attachment | null): void {
    if (this.controlHolder === holder) return;
    this.controlHolder = holder;
    this.recorder?.marker(holder ? `control: ${holder.name}` : "control released");
    for (const c of this.clients) {
      this.send(c, { type: "control", holder: holder?.participant ?? null, readOnly: this.isReadOnly(c) });
    }
    // The keyboard goes back to the learner: so does the size (the instructor's pane may differ).
    if (!holder && this.learnerSize && !this.ended) this.applyResize(this.learnerSize.cols, this.learnerSize.rows);
    this.checkFlow();
  }

  private send(att: Attachment, msg: ServerMessage): void {
    if (att.ws.readyState === att.ws.OPEN) att.ws.send(encodeMessage(msg));
  }

  private broadcast(msg: ServerMessage, except?: Attachment): void {
    for (const c of this.clients) if (c !== except) this.send(c, msg);
  }

  private activity(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastActivity < this.settings.activityThrottleMs) return;
    this.lastActivity = now;
    try {
      this.settings.onActivity?.(this.envId, this.machine);
    } catch (err) {
      this.settings.log("onActivity failed", err);
    }
  }

  // -------------------------------------------------------------------------
  // End

  private startIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.clients.size === 0) void this.end(TerminalCloseCode.RESTARTED, "idle");
    }, this.settings.idleGraceMs);
    this.idleTimer.unref();
  }

  private onPtyExit(exitCode: number, signal: number | undefined): void {
    if (this.ended) return;
    if (this.filter.pending) this.appendOutput(this.filter.drain());
    // The last output goes to everyone regardless of windows (bounded by the replay buffer).
    for (const c of this.clients) this.pump(c, true);
    for (const c of this.clients) {
      this.send(c, { type: "exit", code: exitCode, ...(signal ? { signal } : {}) });
      closeSocket(c.ws, TerminalCloseCode.NORMAL, "exited");
    }
    this.finish(false);
  }

  private finish(killPty: boolean): void {
    this.ended = true;
    for (const t of [this.flushTimer, this.heldTimer, this.idleTimer]) if (t) clearTimeout(t);
    this.flushTimer = this.heldTimer = this.idleTimer = null;
    for (const c of this.clients) if (c.drainTimer) clearTimeout(c.drainTimer);
    this.clients.clear();
    this.controlHolder = null;
    this.onGone(this);
    const tasks: Promise<unknown>[] = [];
    if (killPty) {
      try {
        this.pty.kill();
      } catch {
        // already gone
      }
      if (this.spec.terminate) {
        tasks.push(
          Promise.resolve()
            .then(() => this.spec.terminate?.())
            .catch((err: unknown) => this.settings.log("terminate failed", err)),
        );
      }
    }
    if (this.recorder) tasks.push(this.recorder.close());
    void Promise.all(tasks).then(() => this.resolveDone());
  }
}

/**
 * What the pty's command inherits from the server: enough for the docker CLI
 * (PATH, HOME for ~/.docker, DOCKER_*), not the app's secrets.
 */
function ptyBaseEnv(): Record<string, string> {
  const keep = /^(PATH|HOME|USER|LOGNAME|LANG|LC_[A-Z]+|TZ|TMPDIR|XDG_RUNTIME_DIR|DOCKER_[A-Z_]+|SSL_CERT_FILE|SSL_CERT_DIR)$/;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && keep.test(k)) env[k] = v;
  return env;
}

function closeSocket(ws: WebSocket, code: number, reason: string): void {
  if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(code, reason);
}

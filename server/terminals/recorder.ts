/**
 * Session recordings in asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/):
 * a JSON header line, then one JSON array per event: `[seconds, "o", text]` for
 * output, `"i"` for input, `"r"` for resizes (`"80x24"`), `"m"` for markers
 * (we mark every prompt with the previous command's exit status).
 *
 * Files: `<recordingsDir>/<envId>/<machine>-<startMs>.cast`, written through a
 * stream (never a sync write per chunk) and closed when the session ends.
 *
 * Limits: one recording stops taking output at `maxBytes` (default
 * {@link DEFAULT_MAX_RECORDING_BYTES}), and all recordings of one environment
 * together at its {@link RecordingQuota} (default
 * {@link DEFAULT_MAX_ENVIRONMENT_RECORDING_BYTES}, counting what is on disk
 * already); past it, the current file ends with a "truncated" marker and new
 * sessions are not recorded. {@link deleteRecordings} removes an environment's
 * files when the environment is destroyed.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, readdir, rm, stat } from "node:fs/promises";
import path from "node:path";
import { environmentIdSchema, machineSchema, type MachineName } from "@/lib/machines";

/** A recording stops taking output at this size (a runaway `yes` must not fill the disk). */
export const DEFAULT_MAX_RECORDING_BYTES = 64 * 1024 * 1024;

/**
 * All recordings of one environment together stop growing here. A learner's lab
 * session typically records 0.1–5 MiB (typing and command output; a runaway `yes`
 * is what the limits are for), so 128 MiB keeps every real session while 100
 * environments can never take more than 12.5 GiB of disk.
 */
export const DEFAULT_MAX_ENVIRONMENT_RECORDING_BYTES = 128 * 1024 * 1024;

/** The recording budget of one environment, shared by its sessions (mail and partner, and every new shell). */
export class RecordingQuota {
  constructor(
    readonly limit: number,
    /** Bytes already used (on disk when the quota was made, plus what was written since). */
    public used: number,
  ) {}

  get remaining(): number {
    return Math.max(0, this.limit - this.used);
  }

  /** Takes `n` bytes if they fit. */
  take(n: number): boolean {
    if (this.used + n > this.limit) return false;
    this.used += n;
    return true;
  }

  /** Bytes that must be written even past the limit (the closing marker line). */
  force(n: number): void {
    this.used += n;
  }

  /** The quota of an environment from what its recordings already take on disk. */
  static async forEnvironment(recordingsDir: string, envId: string, limit: number): Promise<RecordingQuota> {
    const used = (await listRecordings(recordingsDir, envId)).reduce((n, r) => n + r.bytes, 0);
    return new RecordingQuota(limit, used);
  }
}
export interface RecorderOptions {
  dir: string;
  envId: string;
  machine: MachineName;
  cols: number;
  rows: number;
  maxBytes?: number;
  /** The environment's budget; when it cannot take the header line, nothing is recorded (no file). */
  quota?: RecordingQuota;
  /** Injected clock (ms) for tests. */
  now?: () => number;
}

export class AsciicastRecorder {
  readonly file: string;
  private stream: WriteStream | null = null;
  private readonly startMs: number;
  private readonly now: () => number;
  private readonly maxBytes: number;
  private written = 0;
  private truncated = false;
  private closed = false;
  /** The file could not be written: recording is best effort, the terminal goes on. */
  private failed = false;
  // Streaming decoders: a UTF-8 character split across pty reads is joined, not mangled.
  private readonly outDecoder = new TextDecoder("utf-8");
  private readonly inDecoder = new TextDecoder("utf-8");
  private pendingLines: string[] = [];
  private opening: Promise<void>;

  constructor(private readonly opts: RecorderOptions) {
    this.now = opts.now ?? Date.now;
    this.startMs = this.now();
    this.maxBytes = opts.maxBytes ?? DEFAULT_MAX_RECORDING_BYTES;
    const envDir = path.join(opts.dir, opts.envId);
    this.file = path.join(envDir, `${opts.machine}-${this.startMs}.cast`);
    const header = {
      version: 2,
      width: opts.cols,
      height: opts.rows,
      timestamp: Math.floor(this.startMs / 1000),
      env: { TERM: "xterm-256color", SHELL: "/bin/bash" },
      title: `${opts.envId}/${opts.machine}`,
    };
    const headerLine = JSON.stringify(header) + "\n";
    // The environment's budget is spent: no file at all (not even a header per new shell).
    if (opts.quota && opts.quota.remaining < headerLine.length + TRUNCATED_LINE_RESERVE) {
      this.closed = true;
      this.failed = true;
      this.opening = Promise.resolve();
      return;
    }
    opts.quota?.force(headerLine.length);
    this.written = headerLine.length;
    this.pendingLines.push(headerLine);
    this.opening = mkdir(envDir, { recursive: true }).then(
      () => {
        if (this.closed && this.pendingLines.length === 0) return;
        const stream = createWriteStream(this.file, { flags: "wx" });
        stream.on("error", () => {
          // Recording is best effort: a full disk must not take the terminal down.
          this.failed = true;
          this.pendingLines = [];
          stream.destroy();
        });
        this.stream = stream;
        this.flushPending();
        if (this.closed) stream.end();
      },
      () => {
        this.failed = true;
        this.pendingLines = [];
      },
    );
  }

  /** Bytes accepted but not yet handed to the OS (for flow control). */
  get backlog(): number {
    if (this.failed) return 0;
    const pending = this.pendingLines.reduce((n, l) => n + l.length, 0);
    return (this.stream?.writableLength ?? 0) + pending;
  }

  output(data: Uint8Array): void {
    if (this.truncated) return;
    const text = this.outDecoder.decode(data, { stream: true });
    if (text) this.event("o", text);
  }

  input(data: Uint8Array): void {
    if (this.truncated) return;
    const text = this.inDecoder.decode(data, { stream: true });
    if (text) this.event("i", text);
  }

  resize(cols: number, rows: number): void {
    this.event("r", `${cols}x${rows}`);
  }

  marker(label: string): void {
    this.event("m", label);
  }

  /** Registers a callback for when the backlog has been written out. */
  onDrain(cb: () => void): void {
    if (this.failed) cb();
    else if (this.stream) this.stream.once("drain", cb);
    else void this.opening.then(() => (this.stream ? this.stream.once("drain", cb) : cb()));
  }

  /** Ends the file; resolves when it is on disk. */
  async close(): Promise<void> {
    if (this.closed) return this.opening;
    this.closed = true;
    await this.opening;
    const stream = this.stream;
    if (!stream || stream.destroyed) return;
    await new Promise<void>((resolve) => {
      stream.once("close", () => resolve());
      stream.once("error", () => resolve());
      if (!stream.writableEnded) stream.end();
    });
  }

  private event(kind: "o" | "i" | "r" | "m", data: string): void {
    if (this.closed || this.truncated || this.failed) return;
    const t = Math.max(0, this.now() - this.startMs) / 1000;
    let line = JSON.stringify([Number(t.toFixed(6)), kind, data]) + "\n";
    const fits = this.written + line.length <= this.maxBytes && (this.opts.quota?.take(line.length) ?? true);
    if (!fits) {
      this.truncated = true;
      const why = this.written + line.length > this.maxBytes ? "size limit reached" : "the environment's recording limit reached";
      line = JSON.stringify([Number(t.toFixed(6)), "m", `recording truncated: ${why}`]) + "\n";
      this.opts.quota?.force(line.length);
    }
    this.written += line.length;
    this.pendingLines.push(line);
    if (this.stream) this.flushPending();
  }

  private flushPending(): void {
    if (!this.stream || this.failed || this.pendingLines.length === 0) return;
    const chunk = this.pendingLines.join("");
    this.pendingLines = [];
    this.stream.write(chunk);
  }
}

export interface RecordingInfo {
  envId: string;
  machine: MachineName;
  /** Absolute path of the `.cast` file. */
  file: string;
  /** Session start, ms since the epoch (from the file name). */
  startedAt: number;
  bytes: number;
}

const CAST_NAME = /^(mail|partner)-(\d{10,16})\.cast$/;

/** Room kept for the "truncated" marker line, so that a file that hits the quota can still say so. */
const TRUNCATED_LINE_RESERVE = 128;

/**
 * Removes every recording of an environment (its folder). Unknown or invalid
 * environment ids are a no-op (never a path outside `recordingsDir`).
 */
export async function deleteRecordings(recordingsDir: string, envId: string): Promise<void> {
  if (!environmentIdSchema.safeParse(envId).success) return;
  await rm(path.join(recordingsDir, envId), { recursive: true, force: true });
}

/** The recordings of one environment, oldest first. Unknown environment → []. */
export async function listRecordings(recordingsDir: string, envId: string): Promise<RecordingInfo[]> {
  if (!environmentIdSchema.safeParse(envId).success) return [];
  const envDir = path.join(recordingsDir, envId);
  let names: string[];
  try {
    names = await readdir(envDir);
  } catch {
    return [];
  }
  const out: RecordingInfo[] = [];
  for (const name of names) {
    const m = CAST_NAME.exec(name);
    if (!m) continue;
    const machine = machineSchema.parse(m[1]);
    const file = path.join(envDir, name);
    try {
      const st = await stat(file);
      out.push({ envId, machine, file, startedAt: Number(m[2]), bytes: st.size });
    } catch {
      // removed meanwhile
    }
  }
  return out.sort((a, b) => a.startedAt - b.startedAt || a.machine.localeCompare(b.machine));
}

/**
 * Session recordings in asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/):
 * a JSON header line, then one JSON array per event: `[seconds, "o", text]` for
 * output, `"i"` for input, `"r"` for resizes (`"80x24"`), `"m"` for markers
 * (we mark every prompt with the previous command's exit status).
 *
 * Files: `<recordingsDir>/<envId>/<machine>-<startMs>.cast`, written through a
 * stream (never a sync write per chunk) and closed when the session ends.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, readdir, stat } from "node:fs/promises";
import path from "node:path";
import { environmentIdSchema, machineSchema, type MachineName } from "@/lib/machines";

/** A recording stops taking output at this size (a runaway `yes` must not fill the disk). */
export const DEFAULT_MAX_RECORDING_BYTES = 64 * 1024 * 1024;

export interface RecorderOptions {
  dir: string;
  envId: string;
  machine: MachineName;
  cols: number;
  rows: number;
  maxBytes?: number;
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
    this.pendingLines.push(JSON.stringify(header) + "\n");
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
    if (this.written + line.length > this.maxBytes) {
      this.truncated = true;
      line = JSON.stringify([Number(t.toFixed(6)), "m", "recording truncated: size limit reached"]) + "\n";
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

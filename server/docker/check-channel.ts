// One long-lived channel per lab machine for check scripts: a single `docker exec` runs the
// dispatcher (./check-dispatcher.sh) and stays open; each check is a framed request on its stdin
// and a framed result on its stdout. In steady state a check costs a fork inside the machine and
// a few bytes on an open socket, instead of an exec through the engine (measured here: 100-300 ms
// per exec on a busy 2-core host, and the engine serialises them: the class-scale collapse of
// docs/performance.md).
import { randomBytes, createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { PassThrough } from "node:stream";
import type Dockerode from "dockerode";

/** A script to run in the machine. */
export interface ScriptJob {
  script: string;
  /** Exported before the script runs (values must not contain newlines). */
  env?: Record<string, string>;
  timeoutMs: number;
  /** Sourced before the script (sent to the machine once per channel, then named by its hash). */
  library?: string;
}

export interface ScriptRun {
  /** The script's exit code; 137 when killed at its timeout; -1 when it could not run at all. */
  exitCode: number;
  /** stdout and stderr, merged, at most 1 MiB. */
  output: string;
  durationMs: number;
  timedOut: boolean;
}

/** Beyond a job's own timeout (which the machine enforces), how long we wait for its frame. */
const FRAME_GRACE_MS = 3_000;
/** Opening costs one exec plus bash starting; a stopped or frozen container must not hang a check. */
const OPEN_TIMEOUT_MS = 15_000;

const DISPATCHER = readFileSync(new URL("./check-dispatcher.sh", import.meta.url));

function hashOf(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

/** Newlines would split an env line (the dispatcher reads KEY=VALUE lines). */
function envBlock(env: Record<string, string>): Buffer {
  let text = "";
  for (const [key, value] of Object.entries(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new Error(`check env: bad name ${JSON.stringify(key)}`);
    if (/[\n\r\0]/.test(value)) throw new Error(`check env: ${key} contains a newline`);
    text += `${key}=${value}\n`;
  }
  return Buffer.from(text);
}

interface Pending {
  resolve: (run: ScriptRun) => void;
  timer: NodeJS.Timeout;
  sentAt: number;
}

export interface ChannelStats {
  /** `docker exec`s this channel made (one per open). */
  opens: number;
  jobs: number;
}

/**
 * The channel of one container. Opens lazily on the first job, reopens after the container was
 * restarted (the exec's stream ends with it), and never throws for a job: a job that cannot run
 * resolves with exit code -1 and the reason as output.
 */
export class CheckChannel {
  readonly stats: ChannelStats = { opens: 0, jobs: 0 };
  private stream: (NodeJS.ReadWriteStream & { destroy(): void }) | undefined;
  private opening: Promise<void> | undefined;
  private marker = "";
  private libraries = new Set<string>();
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private buffer: Buffer = Buffer.alloc(0);
  private frame: { id: number; rc: number; start: number; end: number; size: number } | undefined;
  private closed = false;

  constructor(
    private readonly docker: Dockerode,
    /** Asked at each open: a warm-pool member is renamed when it is claimed. */
    private readonly containerName: () => string,
    private readonly log: (line: string) => void = () => undefined,
    /** Called for every `docker exec` the channel makes (the manager counts engine round trips). */
    private readonly onOpen: () => void = () => undefined,
  ) {}

  async run(job: ScriptJob): Promise<ScriptRun> {
    if (this.closed) return failed("the channel is closed");
    try {
      await this.open();
    } catch (error) {
      return failed(`could not reach the machine: ${error instanceof Error ? error.message : String(error)}`);
    }
    const stream = this.stream;
    if (!stream) return failed("the machine went away");
    const id = this.nextId++;
    this.stats.jobs++;
    const parts: Buffer[] = [];
    let libHash = "-";
    if (job.library !== undefined) {
      libHash = hashOf(job.library);
      if (!this.libraries.has(libHash)) {
        const text = Buffer.from(job.library);
        parts.push(Buffer.from(`LIB ${libHash} ${text.length}\n`), text);
        this.libraries.add(libHash);
      }
    }
    const env = envBlock(job.env ?? {});
    const script = Buffer.from(job.script);
    const timeoutS = (Math.max(job.timeoutMs, 1) / 1000).toFixed(3);
    parts.push(Buffer.from(`JOB ${id} ${timeoutS} ${libHash} ${env.length} ${script.length}\n`), env, script);
    return new Promise<ScriptRun>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve({ exitCode: 137, output: "maillab: no result from the machine in time\n", durationMs: job.timeoutMs, timedOut: true });
      }, job.timeoutMs + FRAME_GRACE_MS);
      this.pending.set(id, { resolve, timer, sentAt: performance.now() });
      stream.write(Buffer.concat(parts));
    });
  }

  /** Ends the dispatcher (its stdin closes) and fails what is still pending. */
  close(): void {
    this.closed = true;
    this.drop("the channel was closed");
  }

  private open(): Promise<void> {
    if (this.stream) return Promise.resolve();
    this.opening ??= this.connect().finally(() => (this.opening = undefined));
    return this.opening;
  }

  private async connect(): Promise<void> {
    const marker = `MAILLAB-CHECK-${randomBytes(8).toString("hex")}`;
    const container = this.docker.getContainer(this.containerName());
    const exec = await container.exec({
      Cmd: [
        "bash",
        "-c",
        `d=/run/maillab/checks; mkdir -p "$d" && head -c ${DISPATCHER.length} >"$d/dispatcher.sh" && exec bash "$d/dispatcher.sh" "$0"`,
        marker,
      ],
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
    });
    const stream = (await exec.start({ hijack: true, stdin: true })) as NodeJS.ReadWriteStream & { destroy(): void };
    this.stats.opens++;
    this.onOpen();
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    this.docker.modem.demuxStream(stream, stdout, stderr);
    stderr.on("data", (chunk: Buffer) => this.log(`${this.containerName()}: ${chunk.toString().trimEnd()}`));
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("the check dispatcher did not start in time")), OPEN_TIMEOUT_MS);
      const onData = (chunk: Buffer) => {
        this.buffer = Buffer.concat([this.buffer, chunk]);
        const nl = this.buffer.indexOf(10);
        if (nl < 0) return;
        const line = this.buffer.subarray(0, nl).toString();
        this.buffer = this.buffer.subarray(nl + 1);
        stdout.off("data", onData);
        clearTimeout(timer);
        if (!line.startsWith(`${marker} READY`)) return reject(new Error(`unexpected dispatcher greeting: ${line.slice(0, 200)}`));
        stdout.on("data", (data: Buffer) => this.onData(data));
        resolve();
        if (this.buffer.length) this.onData(Buffer.alloc(0));
      };
      stdout.on("data", onData);
      stream.once("error", reject);
      stream.once("end", () => reject(new Error("the machine closed the channel")));
    });
    const onGone = () => {
      if (this.stream === stream) {
        this.stream = undefined;
        this.libraries = new Set();
        this.buffer = Buffer.alloc(0);
        this.frame = undefined;
        this.drop("the machine stopped while the check ran");
      }
    };
    stream.on("end", onGone);
    stream.on("close", onGone);
    stream.on("error", onGone);
    stream.write(DISPATCHER);
    this.marker = marker;
    try {
      await ready;
    } catch (error) {
      stream.destroy();
      throw error;
    }
    if (this.closed) {
      stream.end();
      throw new Error("the channel was closed");
    }
    this.stream = stream;
  }

  /** Frames: a header line, then exactly `size` bytes of output. */
  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    for (;;) {
      if (!this.frame) {
        const nl = this.buffer.indexOf(10);
        if (nl < 0) return;
        const header = this.buffer.subarray(0, nl).toString().split(" ");
        this.buffer = this.buffer.subarray(nl + 1);
        if (header[0] !== this.marker || header.length !== 6) continue; // not ours: ignore the line
        const [, id, rc, start, end, size] = header.map(Number) as number[];
        this.frame = { id: id!, rc: rc!, start: start!, end: end!, size: size! };
      }
      if (this.buffer.length < this.frame.size) return;
      const output = this.buffer.subarray(0, this.frame.size).toString("utf8");
      this.buffer = this.buffer.subarray(this.frame.size);
      const { id, rc, start, end } = this.frame;
      this.frame = undefined;
      const pending = this.pending.get(id);
      if (!pending) continue; // timed out on our side already
      this.pending.delete(id);
      clearTimeout(pending.timer);
      const durationMs = Math.max(0, Math.round((end - start) * 1000));
      pending.resolve({ exitCode: rc, output, durationMs, timedOut: rc === 137 });
    }
  }

  private drop(reason: string): void {
    const stream = this.stream;
    this.stream = undefined;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.resolve(failed(reason));
    }
    stream?.end();
  }
}

function failed(reason: string): ScriptRun {
  return { exitCode: -1, output: `maillab: ${reason}\n`, durationMs: 0, timedOut: false };
}

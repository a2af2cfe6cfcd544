// One-shot commands in a lab machine (checks, solve scripts, readiness waits), without a TTY.
// The command runs under `timeout -s KILL` inside the container so a runaway check is killed with
// its whole process group where it runs, not just abandoned by us; output is capped in memory.
import { Writable } from "node:stream";
import type Dockerode from "dockerode";

/** Default per-command limit: docs/authoring.md gives checks a 15 s default timeout. */
export const DEFAULT_EXEC_TIMEOUT_MS = 15_000;
/** Per stream: an SMTP transcript is a few KiB; 1 MiB keeps a `yes`-style runaway from eating the app's memory. */
export const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;
/** How long we wait beyond the in-container kill before giving up on the stream (docker round trip + reaping). */
const KILL_GRACE_MS = 2_000;

export interface ExecOptions {
  env?: Record<string, string>;
  /** Written to the command's stdin, which is then closed. Without it stdin is not attached. */
  stdin?: string;
  timeoutMs?: number;
  /** `user`, `user:group` or uid; default: the container's user (root). */
  user?: string;
  workingDir?: string;
  maxOutputBytes?: number;
}

export interface ExecResult {
  /** The command's exit code; 137 when it was killed (timeout, OOM), 127 when not found. */
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** True when stdout or stderr went over `maxOutputBytes` and the rest was dropped. */
  truncated: boolean;
  durationMs: number;
}

class CappedSink extends Writable {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  truncated = false;

  constructor(private readonly cap: number) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const room = this.cap - this.size;
    if (room <= 0) {
      this.truncated = true;
    } else {
      const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
      if (kept.length < chunk.length) this.truncated = true;
      this.chunks.push(kept);
      this.size += kept.length;
    }
    callback(); // keep draining even when full, so the process is never blocked on a full pipe
  }

  text(): string {
    return Buffer.concat(this.chunks).toString("utf8");
  }
}

function timeoutArgument(ms: number): string {
  return (Math.max(ms, 1) / 1000).toFixed(3);
}

/** Runs `cmd` in a running container and collects its output. Throws if the container is not running. */
export async function execInContainer(
  docker: Dockerode,
  container: Dockerode.Container,
  cmd: string[],
  options: ExecOptions = {},
): Promise<ExecResult> {
  if (cmd.length === 0) throw new Error("exec: empty command");
  const timeoutMs = options.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
  const cap = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const withStdin = options.stdin !== undefined;
  const started = performance.now();

  const exec = await container.exec({
    // Not --foreground: timeout puts the command in its own process group and kills the group.
    Cmd: ["timeout", "-s", "KILL", timeoutArgument(timeoutMs), ...cmd],
    AttachStdin: withStdin,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    Env: options.env ? Object.entries(options.env).map(([key, value]) => `${key}=${value}`) : undefined,
    User: options.user,
    WorkingDir: options.workingDir,
  });
  const stream = (await exec.start({ hijack: true, stdin: withStdin })) as NodeJS.ReadWriteStream & { destroy(): void };
  const stdout = new CappedSink(cap);
  const stderr = new CappedSink(cap);
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  try {
    docker.modem.demuxStream(stream, stdout, stderr);
    const ended = new Promise<void>((resolve, reject) => {
      stream.once("end", resolve);
      stream.once("close", resolve);
      stream.once("error", reject);
    });
    if (withStdin) {
      stream.write(options.stdin!);
      stream.end(); // half-close: the command sees EOF on stdin
    }
    const expired = new Promise<"expired">((resolve) => {
      timer = setTimeout(() => resolve("expired"), timeoutMs + KILL_GRACE_MS);
    });
    if ((await Promise.race([ended, expired])) === "expired") timedOut = true;
  } finally {
    clearTimeout(timer);
    stream.destroy();
  }

  const exitCode = timedOut ? 137 : await exitCodeOf(exec);
  const durationMs = performance.now() - started;
  // The in-container `timeout` kills with SIGKILL (137) at the limit.
  if (exitCode === 137 && durationMs >= timeoutMs) timedOut = true;
  return {
    exitCode,
    stdout: stdout.text(),
    stderr: stderr.text(),
    timedOut,
    truncated: stdout.truncated || stderr.truncated,
    durationMs: Math.round(durationMs),
  };
}

async function exitCodeOf(exec: Dockerode.Exec): Promise<number> {
  // The stream can end a moment before the engine records the exit code.
  for (let attempt = 0; attempt < 50; attempt++) {
    const info = await exec.inspect();
    if (!info.Running && info.ExitCode !== null && info.ExitCode !== undefined) return info.ExitCode;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return -1;
}

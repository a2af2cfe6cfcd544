/**
 * Test and benchmark helpers for terminals: a throwaway container, a tiny HTTP
 * server on port 0 with the real upgrade handler, and a client built on the
 * real {@link TerminalConnection} with the `ws` package's WebSocket.
 * Not used by the app.
 */
import { execFile } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";
import { WebSocket } from "ws";
import type { MachineName } from "@/lib/machines";
import { terminalPath } from "@/lib/terminal-protocol";
import {
  TerminalConnection,
  type ConnectionState,
  type TerminalConnectionOptions,
  type WebSocketConstructor,
} from "@/components/terminal/terminal-connection";
import { dockerExecSpawnSpec } from "./docker-exec";
import { createTerminalUpgradeHandler, type TerminalServerOptions, type TerminalUpgradeHandler } from "./upgrade";

const run = promisify(execFile);

/** What the lab images' PROMPT_COMMAND does: report `$?` before each prompt. */
export const PROMPT_COMMAND = `printf '\\033]7717;prompt;%s\\007' $?`;

export const TEST_IMAGE = process.env.MAILLAB_TERMINAL_TEST_IMAGE ?? "maillab/base:bookworm";

/** Starts a labelled throwaway container (optionally `--name`d, e.g. to replace it like a reset does); returns its id. */
export async function startTestContainer(image = TEST_IMAGE, name?: string): Promise<string> {
  const { stdout } = await run("docker", [
    "run",
    "-d",
    "--rm",
    ...(name ? ["--name", name] : []),
    "--label",
    "maillab.test=1",
    "--label",
    "maillab.test.owner=terminals",
    image,
    "sleep",
    "infinity",
  ]);
  return stdout.trim();
}

/**
 * A stand-in for an environment's machines: one named container per machine, and
 * `reset()` replaces both the way the app's reset does (the old ones are killed and
 * removed, new ones with the same names started), so shells opened by name land on
 * the new machines.
 */
export class TestMachines {
  constructor(readonly envId: string) {}

  /** New machines for `envId`, started. */
  static async create(envId: string): Promise<TestMachines> {
    const m = new TestMachines(envId);
    await m.start();
    return m;
  }

  name(machine: MachineName): string {
    return `maillab-test-${this.envId}-${machine}`;
  }

  async start(): Promise<void> {
    await Promise.all((["mail", "partner"] as const).map((m) => startTestContainer(TEST_IMAGE, this.name(m))));
  }

  async reset(): Promise<void> {
    await this.remove();
    await this.start();
  }

  async remove(): Promise<void> {
    await Promise.all((["mail", "partner"] as const).map((m) => removeTestContainer(this.name(m))));
  }
}

export async function removeTestContainer(id: string): Promise<void> {
  await run("docker", ["rm", "-f", id]).catch(() => undefined);
}

/** Runs a command in the container (not through a terminal). */
export async function containerExec(id: string, script: string): Promise<string> {
  const { stdout } = await run("docker", ["exec", id, "sh", "-c", script]);
  return stdout;
}

export interface TestServer {
  handler: TerminalUpgradeHandler;
  port: number;
  url(envId: string, machine: MachineName): string;
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1:0 whose upgrades go to the terminal handler. */
export async function startTestServer(options: TerminalServerOptions): Promise<TestServer> {
  const handler = createTerminalUpgradeHandler(options);
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  server.on("upgrade", (req, socket, head) => handler(req, socket, head));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    handler,
    port,
    url: (envId, machine) => `ws://127.0.0.1:${port}${terminalPath(envId, machine)}`,
    async close() {
      await handler.shutdown();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Spawn spec for a test container: bash -l with the shell-integration PROMPT_COMMAND. */
export function testSpawnSpec(container: string) {
  return dockerExecSpawnSpec(container, { env: { PROMPT_COMMAND, LANG: "C.UTF-8" } });
}

let envCounter = 0;
/** A fresh, valid environment id per call (each gets its own terminal session). */
export function freshEnvId(): string {
  envCounter++;
  return `t${Date.now().toString(36)}${envCounter.toString(36)}`.padEnd(12, "0").slice(0, 12);
}

export interface TestTerminalOptions extends Partial<Omit<TerminalConnectionOptions, "url" | "onOutput" | "onReset">> {
  cols?: number;
  rows?: number;
  /** Delay before each received frame counts as processed (simulates xterm parsing). */
  processDelayMs?: number;
  /** Process output at most this fast (a slow browser tab): frames are queued and acked at this rate. */
  processBytesPerSec?: number;
  /** Extra WebSocket options (e.g. headers). */
  headers?: Record<string, string>;
}

/** A terminal client for tests: the real TerminalConnection, with all output collected. */
export class TestTerminal {
  readonly conn: TerminalConnection;
  readonly sockets: WebSocket[] = [];
  private readonly chunks: Buffer[] = [];
  private decoder = new TextDecoder();
  /** Decoded output pieces (a rope: `+=` on one big string would make slicing quadratic). */
  private pieces: string[] = [];
  private length_ = 0;
  private joined: string | null = "";
  bytes = 0;
  resets = 0;
  states: ConnectionState[] = [];
  /** `size` notices (and the one in `ready`), with the output byte count at which each came. */
  sizes: { cols: number; rows: number; atByte: number }[] = [];
  private waiters: (() => void)[] = [];
  private processQueue: Promise<void> = Promise.resolve();

  constructor(url: string, opts: TestTerminalOptions = {}) {
    const sockets = this.sockets;
    const headers = opts.headers;
    class TrackedWebSocket extends WebSocket {
      constructor(u: string) {
        super(u, headers ? { headers } : undefined);
        sockets.push(this);
      }
    }
    const cols = opts.cols ?? 80;
    const rows = opts.rows ?? 24;
    this.conn = new TerminalConnection({
      backoff: { initialMs: 50, maxMs: 500, factor: 2, jitter: 0 },
      ...opts,
      url,
      WebSocket: TrackedWebSocket as unknown as WebSocketConstructor,
      size: opts.size ?? (() => ({ cols, rows })),
      onOutput: (data, processed) => {
        const buf = Buffer.from(data);
        this.chunks.push(buf);
        this.bytes += buf.length;
        this.append(this.decoder.decode(buf, { stream: true }));
        const delay = (opts.processDelayMs ?? 0) + (opts.processBytesPerSec ? (buf.length / opts.processBytesPerSec) * 1000 : 0);
        if (delay > 0) {
          this.processQueue = this.processQueue.then(() => new Promise((r) => setTimeout(r, delay))).then(processed);
        } else processed();
        this.wake();
      },
      onReset: () => {
        this.resets++;
        this.pieces = [];
        this.length_ = 0;
        this.joined = "";
        this.chunks.length = 0;
        this.decoder = new TextDecoder();
        this.wake();
      },
      onSize: (cols, rows) => {
        this.sizes.push({ cols, rows, atByte: this.bytes });
        opts.onSize?.(cols, rows);
        this.wake();
      },
      onState: (s) => {
        this.states.push(s);
        opts.onState?.(s);
        this.wake();
      },
    });
  }

  /** Everything received (UTF-8 decoded), across reconnects; cleared on reset. */
  get text(): string {
    if (this.joined === null) {
      this.joined = this.pieces.join("");
      this.pieces = [this.joined];
    }
    return this.joined;
  }

  /** Characters of `text`. */
  get textLength(): number {
    return this.length_;
  }

  /** `text.slice(from)`, in time proportional to the result. */
  textFrom(from: number): string {
    const out: string[] = [];
    let end = this.length_;
    for (let i = this.pieces.length - 1; i >= 0 && end > from; i--) {
      const p = this.pieces[i]!;
      const start = end - p.length;
      out.push(start >= from ? p : p.slice(from - start));
      end = start;
    }
    return out.reverse().join("");
  }

  private append(s: string): void {
    if (!s) return;
    this.pieces.push(s);
    this.length_ += s.length;
    this.joined = null;
  }

  connect(): this {
    this.conn.connect();
    return this;
  }

  get state(): ConnectionState {
    return this.conn.state;
  }

  /** All output bytes since the last reset. */
  output(): Buffer {
    return Buffer.concat(this.chunks);
  }

  type(s: string): boolean {
    return this.conn.sendInput(s);
  }

  /** Kills the current socket abruptly (like a network drop). */
  drop(): void {
    this.sockets.at(-1)?.terminate();
  }

  close(): void {
    this.conn.close();
  }

  /** Resolves when `pred` holds (checked after every output/state change). */
  async until(pred: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; last output: ${JSON.stringify(this.textFrom(this.length_ - 400))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Waits until the output (from `since`, default: the current end minus a little) contains `needle`. */
  async waitFor(needle: string | RegExp, timeoutMs = 15_000, since?: number): Promise<void> {
    const from = since ?? 0;
    // Only look at new text (plus an overlap for matches straddling chunks): linear in the output.
    let scanned = from;
    await this.until(() => {
      const hay = this.textFrom(Math.max(from, scanned - 4096));
      scanned = this.length_;
      return typeof needle === "string" ? hay.includes(needle) : needle.test(hay);
    }, String(needle), timeoutMs);
  }

  /** Waits for the connection status. */
  async waitStatus(status: ConnectionState["status"], timeoutMs = 15_000): Promise<void> {
    await this.until(() => this.conn.state.status === status, `status ${status} (is ${this.conn.state.status})`, timeoutMs);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/** Strips the terminal's CR (onlcr) and ANSI sequences so plain command output can be compared. */
export function plain(text: string): string {
  /* eslint-disable no-control-regex -- matching terminal escape sequences is the point */
  return text
    .replace(/\x1b\][^\x07\x1b]*(\x07|\x1b\\)/g, "")
    .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "")
    .replace(/\r/g, "");
  /* eslint-enable no-control-regex */
}

/**
 * Terminal benchmark (docs/performance.md: keystroke echo round trip p99 ≤ 25 ms with
 * 50 terminals attached).
 *
 * Real stack: the terminal upgrade handler on an HTTP server (port 0), real
 * `ws` sockets driven by the real client class (TerminalConnection), node-pty
 * running `docker exec -it … bash -l` into a few throwaway containers
 * (10 terminals per container). A "keystroke" is one byte typed at an empty
 * bash prompt; its round trip ends when the echo arrives at the client.
 * Keystrokes alternate `x` and DEL, so the line stays empty.
 *
 * Scenarios:
 * - `raw_docker_exec_echo1`: baseline without our server (node-pty straight into `docker exec`).
 * - `echo1`: one terminal attached, typing.
 * - `echo50idle`: 50 attached, one typing.
 * - `echo50busy`: 50 attached, all typing at once (~8 keys/s each, 400 keys/s total),
 *   and `raw_docker_exec_echo50busy`: the same load straight into 50 `docker exec`s.
 * - `first_prompt_*`: socket open → the shell's first prompt on the client (a new
 *   `docker exec` plus `bash -l`): five terminals opened one after another
 *   (`seq`), and the 40 opened ten at a time (`burst10`).
 * Memory: the server process's RSS and JS heap (+ external buffers) growth per
 * attached terminal (this process also hosts the 50 light test clients, so it
 * is an upper bound), and the memory of the per-terminal `docker exec` client
 * processes (the pty children), which dominate: RSS, and PSS / private pages,
 * since most of the RSS is the docker binary's code shared by all of them.
 *
 * The machine's load average is reported too: on a shared 2-core box the tail
 * latencies are dominated by whatever else runs (compare the raw baselines).
 *
 * Run alone: `npx tsx bench/terminals.ts` (add `node --expose-gc --import tsx`
 * for steadier memory figures).
 */
import { readFile } from "node:fs/promises";
import os from "node:os";
import * as pty from "node-pty";
import { setTimeout as sleep } from "node:timers/promises";
import {
  freshEnvId,
  removeTestContainer,
  startTestContainer,
  startTestServer,
  testSpawnSpec,
  TestTerminal,
  type TestServer,
} from "../server/terminals/testing";

const TERMINALS = 50;
const PER_CONTAINER = 10;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Types `count` keystrokes into `t`, each after the previous echo plus `gapMs`; returns round trips (ms). */
async function typeAndTime(t: TestTerminal, count: number, gapMs: () => number): Promise<number[]> {
  const rtts: number[] = [];
  for (let i = 0; i < count; i++) {
    const key = i % 2 === 0 ? "x" : "\x7f";
    const expect = i % 2 === 0 ? "x" : "\b";
    const from = t.textLength;
    const t0 = performance.now();
    if (!t.type(key)) throw new Error("terminal not open");
    await t.until(() => t.textFrom(from).includes(expect), "echo", 10_000);
    rtts.push(performance.now() - t0);
    await sleep(gapMs());
  }
  return rtts;
}

/** A pty straight into `docker exec`, without our server: the baseline. */
class RawTerminal {
  private buf = "";
  private waiter: { expect: string; resolve: () => void } | null = null;
  private readonly spec: ReturnType<typeof testSpawnSpec>;
  private readonly p: pty.IPty;
  constructor(container: string) {
    this.spec = testSpawnSpec(container);
    this.p = pty.spawn(this.spec.file, this.spec.args, {
      name: "xterm-256color",
      cols: 120,
      rows: 32,
      env: { ...process.env, ...this.spec.env } as Record<string, string>,
      encoding: null,
    });
    this.p.onData((d) => {
      this.buf += (d as unknown as Buffer).toString("latin1");
      if (this.buf.length > 65536) this.buf = this.buf.slice(-1024);
      if (this.waiter && this.buf.includes(this.waiter.expect)) {
        const w = this.waiter;
        this.waiter = null;
        w.resolve();
      }
    });
  }
  async ready(): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (!/# $/.test(this.buf)) {
      if (Date.now() > deadline) throw new Error("raw terminal: no prompt");
      await sleep(20);
    }
  }
  async type(count: number, gapMs: () => number): Promise<number[]> {
    const rtts: number[] = [];
    for (let i = 0; i < count; i++) {
      this.buf = "";
      const t0 = performance.now();
      await new Promise<void>((resolve) => {
        this.waiter = { expect: i % 2 === 0 ? "x" : "\b", resolve };
        this.p.write(i % 2 === 0 ? "x" : "\x7f");
      });
      rtts.push(performance.now() - t0);
      await sleep(gapMs());
    }
    return rtts;
  }
  async close(): Promise<void> {
    this.p.kill();
    await this.spec.terminate?.();
  }
}

/** Everyone types ~8 keys/s with jitter, 40 keystrokes each; all round trips, sorted. */
async function busyTyping(typers: ((count: number, gap: () => number) => Promise<number[]>)[]): Promise<number[]> {
  const all = await Promise.all(
    typers.map(async (type, i) => {
      await sleep((i * 125) / typers.length);
      return type(40, () => 100 + Math.random() * 50);
    }),
  );
  return all.flat().sort((a, b) => a - b);
}

/**
 * Memory of a process from /proc/<pid>/smaps_rollup (bytes): `rss` counts the pages of the
 * docker binary that all its processes share (~19 MiB), `pss` splits those among them, and
 * `private` is what one more terminal really adds.
 */
async function memoryOfPid(pid: number): Promise<{ rss: number; pss: number; private: number }> {
  try {
    const text = await readFile(`/proc/${pid}/smaps_rollup`, "utf8");
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0) * 1024;
    return { rss: kb("Rss"), pss: kb("Pss"), private: kb("Private_Dirty") + kb("Private_Clean") };
  } catch {
    return { rss: 0, pss: 0, private: 0 };
  }
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

export async function benchTerminals(): Promise<Record<string, number>> {
  const containers = await Promise.all(Array.from({ length: Math.ceil(TERMINALS / PER_CONTAINER) }, () => startTestContainer()));
  let server: TestServer | null = null;
  const terms: TestTerminal[] = [];
  try {
    let next = 0;
    const envContainer = new Map<string, string>();
    server = await startTestServer({
      authorize: () => ({ ok: true, role: "learner", name: "bench" }),
      spawnSpec: (envId) => testSpawnSpec(envContainer.get(envId)!),
      pingIntervalMs: 0,
      recordingsDir: null,
      log: () => {},
    });
    const srv = server;
    /** Socket open → first prompt (ms) of each terminal opened, in order. */
    const firstPrompt: number[] = [];
    const open = async (): Promise<TestTerminal> => {
      const envId = freshEnvId();
      envContainer.set(envId, containers[Math.floor(next++ / PER_CONTAINER) % containers.length]!);
      const t = new TestTerminal(srv.url(envId, "mail"), { cols: 120, rows: 32 }).connect();
      terms.push(t);
      let openedAt = NaN;
      t.sockets[0]?.once("open", () => (openedAt = performance.now()));
      await t.waitStatus("open", 30_000);
      await t.waitFor(/# $/, 30_000);
      firstPrompt.push(performance.now() - openedAt);
      return t;
    };

    // Warm up (JIT, first docker exec), then measure one terminal.
    const first = await open();
    await typeAndTime(first, 20, () => 5);
    gc();
    await sleep(200);
    const memOne = process.memoryUsage();
    const echo1 = (await typeAndTime(first, 200, () => 10)).sort((a, b) => a - b);
    const rawOne = new RawTerminal(containers[0]!);
    await rawOne.ready();
    const raw1 = (await rawOne.type(200, () => 10)).sort((a, b) => a - b);
    await rawOne.close();

    // Five more one after another (first-prompt time without contention) ...
    for (let i = 0; i < 5; i++) await open();
    const promptSeq = firstPrompt.slice(1).sort((a, b) => a - b);
    // ... then the rest, 10 at a time (docker exec start-up is the slow part).
    while (terms.length < TERMINALS) {
      await Promise.all(Array.from({ length: Math.min(10, TERMINALS - terms.length) }, () => open()));
    }
    const promptBurst = firstPrompt.slice(6).sort((a, b) => a - b);
    await sleep(500);
    gc();
    await sleep(200);
    gc();
    await sleep(200);
    const memAll = process.memoryUsage();
    const mib = 1024 * 1024;
    const js = (m: NodeJS.MemoryUsage) => m.heapUsed + m.external;
    const ptyMem: { rss: number; pss: number; private: number }[] = [];
    for (const s of srv.handler.sessions()) {
      const sess = srv.handler.session(s.envId, s.machine);
      if (sess) ptyMem.push(await memoryOfPid(sess.pid));
    }
    const avgMib = (k: "rss" | "pss" | "private") => ptyMem.reduce((a, m) => a + m[k], 0) / Math.max(1, ptyMem.length) / mib;

    const echo50idle = (await typeAndTime(terms[TERMINALS - 1]!, 200, () => 10)).sort((a, b) => a - b);

    // Everyone types at once, through our server ...
    const cpu0 = process.cpuUsage();
    const busy = await busyTyping(terms.map((t) => (n: number, gap: () => number) => typeAndTime(t, n, gap)));
    const cpuBusy = process.cpuUsage(cpu0);
    for (const t of terms) t.close();
    // ... and the same load straight into docker exec (no server), for comparison.
    const raws = Array.from({ length: TERMINALS }, (_, i) => new RawTerminal(containers[Math.floor(i / PER_CONTAINER) % containers.length]!));
    let rawBusy: number[] = [];
    let rawCpuMs = NaN;
    try {
      await Promise.all(raws.map((r) => r.ready()));
      const rc0 = process.cpuUsage();
      rawBusy = await busyTyping(raws.map((r) => (n: number, gap: () => number) => r.type(n, gap)));
      const rc = process.cpuUsage(rc0);
      rawCpuMs = (rc.user + rc.system) / 1000;
    } finally {
      await Promise.all(raws.map((r) => r.close()));
    }

    return {
      raw_docker_exec_echo1_p50_ms: round(percentile(raw1, 50)),
      raw_docker_exec_echo1_p99_ms: round(percentile(raw1, 99)),
      echo1_p50_ms: round(percentile(echo1, 50)),
      echo1_p99_ms: round(percentile(echo1, 99)),
      echo50idle_p50_ms: round(percentile(echo50idle, 50)),
      echo50idle_p99_ms: round(percentile(echo50idle, 99)),
      echo50busy_p50_ms: round(percentile(busy, 50)),
      echo50busy_p99_ms: round(percentile(busy, 99)),
      echo50busy_max_ms: round(busy.at(-1) ?? NaN),
      echo50busy_keystrokes: busy.length,
      first_prompt_seq_p50_ms: round(percentile(promptSeq, 50)),
      first_prompt_seq_max_ms: round(promptSeq.at(-1) ?? NaN),
      first_prompt_burst10_p50_ms: round(percentile(promptBurst, 50)),
      first_prompt_burst10_max_ms: round(promptBurst.at(-1) ?? NaN),
      node_cpu_ms_per_keystroke_busy: round((cpuBusy.user + cpuBusy.system) / 1000 / Math.max(1, busy.length), 3),
      node_cpu_ms_per_keystroke_raw: round(rawCpuMs / Math.max(1, rawBusy.length), 3),
      raw_docker_exec_echo50busy_p50_ms: round(percentile(rawBusy, 50)),
      raw_docker_exec_echo50busy_p99_ms: round(percentile(rawBusy, 99)),
      server_rss_per_terminal_mib: round((memAll.rss - memOne.rss) / (TERMINALS - 1) / mib, 3),
      server_heap_per_terminal_kib: round((js(memAll) - js(memOne)) / (TERMINALS - 1) / 1024, 1),
      server_rss_mib: round(memAll.rss / mib, 1),
      docker_exec_client_rss_per_terminal_mib: round(avgMib("rss"), 1),
      docker_exec_client_pss_per_terminal_mib: round(avgMib("pss"), 1),
      docker_exec_client_private_per_terminal_mib: round(avgMib("private"), 1),
      terminals: TERMINALS,
      load_average_1m: round(os.loadavg()[0] ?? NaN),
    };
  } finally {
    for (const t of terms) t.close();
    await server?.close();
    await Promise.all(containers.map((c) => removeTestContainer(c)));
  }
}

// `npx tsx bench/terminals.ts`
if (import.meta.url === `file://${process.argv[1]}`) {
  benchTerminals().then(
    (r) => {
      console.table(r);
      console.log(JSON.stringify(r));
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}

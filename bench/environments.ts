/**
 * Environments benchmark (docs/design.md §7):
 * - create → terminal attachable, cold (no warm pool): both containers running;
 * - create → Postfix answering on 127.0.0.1:25 inside `mail`, cold: measured inside the container by a
 *   probe loop started right after create returns, timestamped with the (shared) kernel clock, so
 *   docker-exec round trips don't inflate it;
 * - create → attachable from the warm pool (claim = rename of two containers);
 * - one docker exec round trip, and a burst of creates at once (a class joining);
 * - idle memory of one environment: the machine's used memory (MemTotal - MemAvailable) before and
 *   after starting 20 ready environments, divided by 20 — containers, containerd shims, network
 *   devices, everything (noisy when other work runs on the machine) — and, as a breakdown that other
 *   work does not disturb, the containers' own cgroup usage (without page cache) and the PSS of their
 *   containerd shims.
 *
 * Medians of several runs, images prebuilt. Not a timed test: it prints and returns numbers.
 * Run alone: `npx tsx bench/environments.ts` (env BENCH_RUNS, BENCH_MEMORY_ENVS, BENCH_BURST change sizes).
 */
import { readdir, readFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { MACHINES } from "@/lib/machines";
import { EnvironmentManager, type EnvironmentInfo } from "../server/docker/environments";

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const MEMORY_ENVS = Number(process.env.BENCH_MEMORY_ENVS ?? 20);
const BURST = Number(process.env.BENCH_BURST ?? 10);
/** Let freshly started services finish their first-start work (users, TLS key) before measuring memory. */
const MEMORY_SETTLE_MS = 10_000;

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

async function usedMemoryBytes(): Promise<number> {
  const meminfo = await readFile("/proc/meminfo", "utf8");
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(meminfo)?.[1] ?? NaN);
  return (kib("MemTotal") - kib("MemAvailable")) * 1024;
}

/** A container's memory without reclaimable page cache, like `docker stats` shows it. */
async function containerMemoryBytes(manager: EnvironmentManager, name: string): Promise<number> {
  const stats = (await manager.docker.getContainer(name).stats({ stream: false, "one-shot": true } as { stream: false })) as {
    memory_stats: { usage?: number; stats?: Record<string, number> };
  };
  const { usage = 0, stats: s = {} } = stats.memory_stats;
  return usage - (s.total_inactive_file ?? s.inactive_file ?? s.cache ?? 0);
}

/** Proportional memory (PSS) of the containerd shims of these containers: the runtime's share per container. */
export async function shimPssBytes(containerIds: string[]): Promise<number> {
  const wanted = new Set(containerIds);
  let total = 0;
  for (const pid of await readdir("/proc").catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue;
    const args = (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).split("\0");
    const id = args[args.indexOf("-id") + 1];
    if (!args[0]?.includes("containerd-shim") || !id || !wanted.has(id)) continue;
    const rollup = await readFile(`/proc/${pid}/smaps_rollup`, "utf8").catch(() => "");
    total += Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0) * 1024;
  }
  return total;
}

/** ms from `requestedAt` (epoch ms) until Postfix accepted a connection on 127.0.0.1:25 inside mail. */
async function smtpReadyMs(manager: EnvironmentManager, env: EnvironmentInfo): Promise<number> {
  const probe = "until (exec 3<>/dev/tcp/127.0.0.1/25) 2>/dev/null; do sleep 0.005; done; date +%s%N";
  const result = await manager.exec(env.id, "mail", ["bash", "-c", probe], { timeoutMs: 30_000 });
  if (result.exitCode !== 0) throw new Error(`Postfix did not answer: ${result.stderr}`);
  return Number(BigInt(result.stdout.trim()) / 1000n) / 1000 - env.timings.requestedAt;
}

/**
 * Every figure once per OCI runtime the engine offers of runc (its default here) and crun
 * (MAILLAB_OCI_RUNTIME, server/docker/environments.ts chooseOciRuntime), side by side in one run:
 * keys are `<runtime>.<figure>`. BENCH_RUNTIMES=crun (comma-separated) picks some.
 */
export async function benchEnvironments(): Promise<Record<string, number>> {
  const probe = new EnvironmentManager({ labels: { "maillab.bench": `environments-${process.pid}` }, hostFirewall: false, log: () => undefined });
  const offered = Object.keys(((await probe.docker.info()) as { Runtimes?: Record<string, unknown> }).Runtimes ?? {});
  probe.dispose();
  const wanted = (process.env.BENCH_RUNTIMES ?? "runc,crun").split(",").filter((r) => offered.includes(r));
  const results: Record<string, number> = {};
  for (const runtime of wanted) {
    try {
      for (const [k, v] of Object.entries(await benchRuntime(runtime))) results[`${runtime}.${k}`] = v;
    } catch (error) {
      // crun fails on some cgroup v1 / hybrid hosts (docs/performance.md "Container runtime").
      console.error(`[environments] ${runtime}: ${error instanceof Error ? error.message : String(error)}`);
      results[`${runtime}.failed`] = 1;
    }
  }
  return results;
}

async function benchRuntime(runtime: string): Promise<Record<string, number>> {
  const manager = new EnvironmentManager({
    labels: { "maillab.bench": `environments-${process.pid}` },
    idleStopMs: 0,
    ttlMs: 0,
    ociRuntime: runtime,
    log: () => undefined,
  });
  const results: Record<string, number> = {};
  // Timings on a shared 2-core machine mean little without knowing what else ran: record it.
  const cpuPressure = async () => Number(/avg60=([\d.]+)/.exec(await readFile("/proc/pressure/cpu", "utf8").catch(() => ""))?.[1] ?? NaN);
  results.load_1m_before = round(loadavg()[0]!, 2);
  results.cpu_pressure_avg60_before_pct = await cpuPressure();
  try {
    await manager.init();
    // Warm-up: image layers into the page cache, first network on the engine.
    const warm = await manager.create({ usePool: false });
    await manager.waitReady(warm.id);
    await manager.destroy(warm.id);

    const cold: number[] = [];
    const smtp: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const env = await manager.create({ usePool: false });
      cold.push(env.timings.createMs!);
      smtp.push(await smtpReadyMs(manager, env));
      await manager.waitReady(env.id);
      await manager.destroy(env.id);
      await sleep(500); // let the engine finish tearing down before the next sample
    }
    results.create_cold_attachable_ms = round(median(cold));
    results.create_cold_smtp_ms = round(median(smtp));

    // One docker exec round trip (what every check pays at least once).
    const probe = await manager.create({ usePool: false });
    await manager.waitReady(probe.id);
    const execTimes: number[] = [];
    for (let i = 0; i < RUNS * 3; i++) execTimes.push((await manager.exec(probe.id, "mail", ["true"])).durationMs);
    results.exec_roundtrip_ms = round(median(execTimes));
    await manager.destroy(probe.id);

    // A class joining at once: BURST creates together (the manager runs MAX_PARALLEL_CREATES at a time).
    const burstStart = performance.now();
    const burst = await Promise.all(Array.from({ length: BURST }, () => manager.create({ usePool: false })));
    results[`create_burst${BURST}_all_attachable_ms`] = round(performance.now() - burstStart);
    results[`create_burst${BURST}_median_ms`] = round(median(burst.map((e) => e.timings.createMs!)));
    await Promise.all(burst.map((e) => manager.waitReady(e.id)));
    await Promise.all(burst.map((e) => manager.destroy(e.id)));

    const warmTimes: number[] = [];
    manager.fillPool(1);
    for (let i = 0; i < RUNS; i++) {
      await manager.poolSettled();
      await sleep(1_000); // the member's own start-up work is over, as in a pool filled before class
      const env = await manager.create();
      if (!env.timings.fromPool) throw new Error("expected an environment from the warm pool");
      warmTimes.push(env.timings.createMs!);
      await manager.destroy(env.id);
    }
    manager.fillPool(0);
    await manager.poolSettled();
    results.create_warm_attachable_ms = round(median(warmTimes));

    await sleep(2_000);
    const before = await usedMemoryBytes();
    const envs: EnvironmentInfo[] = [];
    for (let i = 0; i < MEMORY_ENVS; i++) envs.push(await manager.create({ usePool: false }));
    await Promise.all(envs.map((e) => manager.waitReady(e.id)));
    await sleep(MEMORY_SETTLE_MS);
    const after = await usedMemoryBytes();
    const perContainer = await Promise.all(
      envs.flatMap((e) => MACHINES.map((m) => containerMemoryBytes(manager, manager.containerName(e.id, m)))),
    );
    const containerIds = await Promise.all(
      envs.flatMap((e) => MACHINES.map(async (m) => (await manager.docker.getContainer(manager.containerName(e.id, m)).inspect()).Id)),
    );
    results.idle_memory_per_env_mib = round((after - before) / MEMORY_ENVS / 2 ** 20);
    results.idle_shim_pss_per_env_mib = round((await shimPssBytes(containerIds)) / MEMORY_ENVS / 2 ** 20);
    results.idle_cgroup_memory_per_env_mib = round(perContainer.reduce((a, b) => a + b, 0) / MEMORY_ENVS / 2 ** 20);
    for (const machine of MACHINES) {
      const values = envs.map((_, i) => perContainer[i * MACHINES.length + MACHINES.indexOf(machine)]!);
      results[`idle_cgroup_memory_${machine}_mib`] = round(median(values) / 2 ** 20);
    }
    await Promise.all(envs.map((e) => manager.destroy(e.id)));
    results.load_1m_after = round(loadavg()[0]!, 2);
    results.cpu_pressure_avg60_after_pct = await cpuPressure();
  } finally {
    manager.fillPool(0);
    await manager.poolSettled();
    const leftovers = manager.list();
    await Promise.all(leftovers.map((e) => manager.destroy(e.id).catch(() => undefined)));
    manager.dispose();
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const results = await benchEnvironments();
  console.table(results);
}

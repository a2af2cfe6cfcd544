/**
 * Swarm mode benchmark (docs/operations.md "Capacity"), on the development Swarm of scripts/dev-swarm.sh
 * (brought up when it is not, and taken down again then): a manager and two lab workers, each a dockerd
 * in its own network namespace on this machine.
 * - create → attachable, cold and from the warm pool (claim = a label on three services);
 * - one step's checks run on a worker (check channel through the node's TLS API);
 * - idle memory of one environment on the workers: their containers' cgroups (each node's engine puts
 *   them under /maillab-swarm-<node>, without page cache) and the PSS of their containerd shims, before
 *   and after starting BENCH_SWARM_ENVS ready environments; their CPU while idle;
 * - what one node's own engine costs (dockerd + containerd PSS, the Swarm agent included);
 * - what Swarm reserves per environment (swarm-spec.ts MEMORY_RESERVATIONS): its placement limit.
 * Run alone: `npx tsx bench/swarm.ts`, or `npm run bench -- swarm`.
 */
import { readdir, readFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { ENVIRONMENT_MACHINES } from "@/lib/machines";
import { loadCourse } from "../server/labs/load-course";
import { runStepChecks } from "../server/labs/check-runner";
import { SwarmEnvironmentManager } from "../server/docker/swarm-environments";
import { MEMORY_RESERVATIONS } from "../server/docker/swarm-spec";
import { ensureDevSwarm, releaseDevSwarm } from "../server/docker/swarm-testing";
import { median, round, shimPssBytes } from "./environments";

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const ENVS = Number(process.env.BENCH_SWARM_ENVS ?? 10);
const WORKERS = ["worker1", "worker2"];
/** Let freshly started services finish their first-start work (users, TLS key) before measuring memory. */
const SETTLE_MS = 10_000;
const MiB = 2 ** 20;

/** The node's containers' memory without reclaimable page cache (cgroup v1 or v2). */
async function nodeCgroupBytes(node: string): Promise<number> {
  const v1 = `/sys/fs/cgroup/memory/maillab-swarm-${node}`;
  const v2 = `/sys/fs/cgroup/maillab-swarm-${node}`;
  const usage = await readFile(`${v1}/memory.usage_in_bytes`, "utf8").catch(() => readFile(`${v2}/memory.current`, "utf8").catch(() => "0"));
  const stat = await readFile(`${v1}/memory.stat`, "utf8").catch(() => readFile(`${v2}/memory.stat`, "utf8").catch(() => ""));
  const inactive = Number(/^(?:total_inactive_file|inactive_file) (\d+)/m.exec(stat)?.[1] ?? 0);
  return Number(usage.trim()) - inactive;
}

/** The node's containers' CPU time so far, in ns (cgroup v1 cpuacct or v2 cpu.stat). */
async function nodeCpuNs(node: string): Promise<number> {
  const v1 = await readFile(`/sys/fs/cgroup/cpuacct/maillab-swarm-${node}/cpuacct.usage`, "utf8").catch(() => "");
  if (v1) return Number(v1.trim());
  const v2 = await readFile(`/sys/fs/cgroup/maillab-swarm-${node}/cpu.stat`, "utf8").catch(() => "");
  return Number(/^usage_usec (\d+)/m.exec(v2)?.[1] ?? 0) * 1000;
}

/** PSS of a node's dockerd and its containerd (found by the node's own paths in their command lines; not the shims). */
async function nodeEnginePssBytes(node: string): Promise<number> {
  let total = 0;
  for (const pid of await readdir("/proc").catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue;
    const args = (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).split("\0");
    if (!/(^|\/)(dockerd|containerd)$/.test(args[0] ?? "") || !args.some((a) => a.includes(`/maillab-swarm/${node}/`))) continue;
    total += Number(/^Pss:\s+(\d+)/m.exec(await readFile(`/proc/${pid}/smaps_rollup`, "utf8").catch(() => ""))?.[1] ?? 0) * 1024;
  }
  return total;
}

export async function benchSwarm(): Promise<Record<string, number>> {
  const devSwarm = await ensureDevSwarm();
  const manager = new SwarmEnvironmentManager({
    swarm: devSwarm.swarm,
    subnetPool: devSwarm.subnetPool,
    labels: { "maillab.bench": `swarm-${process.pid}` },
    idleStopMs: 0,
    ttlMs: 0,
    log: () => undefined,
  });
  const results: Record<string, number> = { load_1m_before: round(loadavg()[0]!, 2) };
  try {
    await manager.init();
    await manager.nodesPrepared();
    const warmUp = await manager.create({ usePool: false });
    await manager.waitReady(warmUp.id);

    const step = loadCourse().labs.find((l) => l.id === "12-1")!.steps[0]!;
    const checks: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now();
      await runStepChecks({ run: (id, m, job) => manager.runScript(id, m, job), envId: warmUp.id, params: warmUp.params, course: loadCourse(), step });
      checks.push(performance.now() - t);
    }
    results.check_step_on_worker_ms = round(median(checks));
    await manager.destroy(warmUp.id);

    const cold: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const env = await manager.create({ usePool: false });
      cold.push(env.timings.createMs!);
      await manager.waitReady(env.id);
      await manager.destroy(env.id);
      await sleep(500);
    }
    results.create_cold_attachable_ms = round(median(cold));

    const warm: number[] = [];
    manager.fillPool(1);
    for (let i = 0; i < Math.min(RUNS, 3); i++) {
      await manager.poolSettled();
      await sleep(1_000);
      const env = await manager.create();
      if (!env.timings.fromPool) throw new Error("expected an environment from the warm pool");
      warm.push(env.timings.createMs!);
      await manager.destroy(env.id);
    }
    manager.fillPool(0);
    await manager.poolSettled();
    results.create_warm_attachable_ms = round(median(warm));

    await sleep(3_000);
    const before = (await Promise.all(WORKERS.map(nodeCgroupBytes))).reduce((a, b) => a + b, 0);
    const envs = await Promise.all(Array.from({ length: ENVS }, () => manager.create({ usePool: false })));
    await Promise.all(envs.map((e) => manager.waitReady(e.id)));
    await sleep(SETTLE_MS);
    const after = (await Promise.all(WORKERS.map(nodeCgroupBytes))).reduce((a, b) => a + b, 0);
    const containers = envs.flatMap((e) => ENVIRONMENT_MACHINES.map((m) => manager.placement(e.id)[m]!.container));
    results.idle_cgroup_memory_per_env_mib = round((after - before) / ENVS / MiB);
    results.idle_shim_pss_per_env_mib = round((await shimPssBytes(containers)) / ENVS / MiB);
    const cpu0 = (await Promise.all(WORKERS.map(nodeCpuNs))).reduce((a, b) => a + b, 0);
    const window = 20_000;
    await sleep(window);
    const cpu1 = (await Promise.all(WORKERS.map(nodeCpuNs))).reduce((a, b) => a + b, 0);
    results.idle_cpu_per_env_pct_of_core = round(((cpu1 - cpu0) / 1e6 / window / ENVS) * 100, 3);
    const perNode = new Map<string, number>();
    for (const e of envs) {
      for (const m of ENVIRONMENT_MACHINES) {
        const node = manager.placement(e.id)[m]!.node;
        perNode.set(node, (perNode.get(node) ?? 0) + 1);
      }
    }
    results.machines_on_busiest_worker = Math.max(...perNode.values());
    results.node_engine_pss_mib = round(median(await Promise.all(WORKERS.map(nodeEnginePssBytes))) / MiB);
    results.swarm_reservation_per_env_mib = Object.values(MEMORY_RESERVATIONS).reduce((a, b) => a + b, 0) / MiB;
    results.envs_per_gib_by_reservation = Math.floor(1024 / results.swarm_reservation_per_env_mib);
    await Promise.all(envs.map((e) => manager.destroy(e.id)));
    results.load_1m_after = round(loadavg()[0]!, 2);
  } finally {
    manager.fillPool(0);
    await manager.poolSettled();
    await Promise.all(manager.list().map((e) => manager.destroy(e.id).catch(() => undefined)));
    manager.dispose();
    await releaseDevSwarm(devSwarm);
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const results = await benchSwarm();
  console.table(results);
  process.exit(0);
}

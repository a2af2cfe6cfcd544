/**
 * Disk watchdog benchmark (docs/security.md "Disk"): what one round of the watchdog costs on this
 * engine — Docker's `SizeRw` of every container of BENCH_DISK_ENVS environments, one container at a
 * time as server/docker/disk-watchdog.ts does — and the engine's CPU for it (when dockerd runs on this
 * host). Each environment is three stopped containers whose writable layers hold what a real one
 * holds after Lab 12.2: ~1 500 files (mail), 10 (partner), 40 (the probe); the cost is a walk of
 * those files (overlay2) or a comparison of whole trees (btrfs).
 *
 * The watchdog is what engines *without* hard limits use (overlay2 on ext4: Docker's default); point
 * this at such an engine with DOCKER_HOST (it needs BENCH_DISK_IMAGE there, default the partner image).
 * Run alone: `npx tsx bench/disk.ts`.
 */
import { readFile } from "node:fs/promises";
import Dockerode from "dockerode";
import { DiskWatchdog, type WatchedEnvironment } from "../server/docker/disk-watchdog";
import { imageTag } from "../server/docker/images";

const ENVS = Number(process.env.BENCH_DISK_ENVS ?? 20);
const IMAGE = process.env.BENCH_DISK_IMAGE ?? imageTag("partner");
const FILES = { mail: 1500, partner: 10, probe: 40 } as const;
const LABEL = { "maillab.bench": `disk-${process.pid}` };

/** Writes `n` small files in directories of 50, like a package install leaves them. */
function fillScript(n: number): string {
  return `mkdir -p /var/tmp/bench && cd /var/tmp/bench && i=0; while [ $i -lt ${n} ]; do d=d$((i / 50)); mkdir -p $d; echo $i > $d/f$i; i=$((i + 1)); done`;
}

/** dockerd's CPU time so far (ms), when it runs on this host (BENCH_DISK_ENGINE_PIDFILE with DOCKER_HOST). */
async function engineCpuMs(): Promise<number | undefined> {
  const pidFile = process.env.BENCH_DISK_ENGINE_PIDFILE ?? (process.env.DOCKER_HOST ? undefined : "/var/run/docker.pid");
  if (!pidFile) return undefined;
  try {
    const pid = (await readFile(pidFile, "utf8")).trim();
    const fields = (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1]!.split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, at 100 ticks a second
  } catch {
    return undefined;
  }
}

async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

export async function benchDisk(): Promise<Record<string, number>> {
  const docker = new Dockerode();
  const envs: WatchedEnvironment[] = Array.from({ length: ENVS }, (_, i) => ({ id: `bench${i}`, machines: [] }));
  try {
    await pool(
      envs.flatMap((env) => (Object.keys(FILES) as Array<keyof typeof FILES>).map((machine) => ({ env, machine }))),
      4,
      async ({ env, machine }) => {
        const container = await docker.createContainer({
          Image: IMAGE,
          Entrypoint: ["sh", "-c", fillScript(FILES[machine])],
          Cmd: [],
          Labels: LABEL,
          HostConfig: { NetworkMode: "none", LogConfig: { Type: "none", Config: {} } },
        });
        await container.start();
        await container.wait();
        env.machines.push({ containerId: container.id, measureLayer: true });
      },
    );
    const watchdog = new DiskWatchdog({
      docker,
      limitBytes: Number.MAX_SAFE_INTEGER,
      environments: () => envs,
      onOver: () => undefined,
      onUnder: () => undefined,
      log: console.log,
      // Every round measures (the real one waits ≥ 15 s and 20 rounds' time between them).
      layerIntervalMinMs: 0,
      layerDutyFactor: 0,
    });
    const rounds: Array<{ ms: number; cpuMs?: number }> = [];
    for (let i = 0; i < 3; i++) {
      const cpu0 = await engineCpuMs();
      const t0 = performance.now();
      await watchdog.round();
      const ms = performance.now() - t0;
      const cpu1 = await engineCpuMs();
      rounds.push({ ms, cpuMs: cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : undefined });
    }
    const containers = ENVS * 3;
    const warm = rounds.slice(1).sort((a, b) => a.ms - b.ms)[0]!;
    return {
      environments: ENVS,
      containers,
      firstRoundMs: rounds[0]!.ms,
      roundMs: warm.ms,
      ...(warm.cpuMs !== undefined ? { roundEngineCpuMs: warm.cpuMs } : {}),
      perContainerMs: warm.ms / containers,
      per100EnvironmentsMs: (warm.ms / containers) * 300,
      // The watchdog waits at least 20 rounds' time between rounds (LAYER_DUTY_FACTOR), never less than 15 s.
      intervalAt100EnvironmentsS: Math.max(15, (20 * (warm.ms / containers) * 300) / 1000),
    };
  } finally {
    const listed = await docker.listContainers({ all: true, filters: { label: Object.entries(LABEL).map(([k, v]) => `${k}=${v}`) } });
    await Promise.all(listed.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  void benchDisk().then((figures) => console.table(figures));
}

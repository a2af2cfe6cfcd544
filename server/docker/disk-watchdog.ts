// The disk watchdog (docs/security.md "Disk"). Where the engine has no hard per-container limit
// (./disk-limits.ts), it measures what each running environment wrote — Docker's `SizeRw`, the size of
// each container's writable layer — and reports environments past their limit; the manager stops them.
// On every engine it also watches the three files Docker keeps per container outside the writable layer
// and bind-mounts into it (/etc/hosts, /etc/resolv.conf, /etc/hostname): root in a machine can write
// them, and no storage quota covers them. (Docker writes them anew at every container start.)
//
// Cost, measured on the 2-core reference machine (docs/security.md "Disk"): `SizeRw` of 100 environments
// (300 containers, mail with the ~1500 files Lab 12.2 leaves) on overlay2/ext4 takes 1.0 s and 0.75 s of
// the engine's CPU (a walk of each writable layer); btrfs computes it by comparing whole trees, 0.2–0.45 s
// a container — there hard limits make the measuring unnecessary. Stat-ing Docker's files: ~2 ms per
// 100 environments.
import { stat } from "node:fs/promises";
import path from "node:path";
import type Dockerode from "dockerode";

const MiB = 1024 * 1024;

export interface WatchedMachine {
  containerId: string;
  /** No hard limit on this container: measure its writable layer. */
  measureLayer: boolean;
}

export interface WatchedEnvironment {
  id: string;
  machines: WatchedMachine[];
}

export interface DiskUsage {
  /** The writable layers measured (0 for containers with a hard limit: they cannot pass it). */
  layerBytes: number;
  /** Docker's per-container /etc/hosts, /etc/resolv.conf and /etc/hostname together. */
  dockerFilesBytes: number;
}

/** Docker writes a few hundred bytes into each of its files; a learner's /etc/hosts has a few KiB. */
export const DOCKER_FILES_MAX_BYTES = 1 * MiB;
const DOCKER_FILES = ["hosts", "resolv.conf", "hostname"] as const;

export function usedBytes(usage: DiskUsage): number {
  return usage.layerBytes + usage.dockerFilesBytes;
}

export function isOverLimit(usage: DiskUsage, limitBytes: number): boolean {
  return usedBytes(usage) > limitBytes || usage.dockerFilesBytes > DOCKER_FILES_MAX_BYTES;
}

/** Docker's files are stat-ed this often: cheap, and a learner writes ~1 GB/s into /etc/hosts. */
const TICK_MS = 5_000;
/** Writable layers are measured at most this often... */
const LAYER_INTERVAL_MIN_MS = 15_000;
/** ...and the pause after a measuring round is at least this many times the round's duration, so the
 * engine spends ≤ 5 % of a core on it (100 environments on overlay2: a 1 s round every 20 s). */
const LAYER_DUTY_FACTOR = 20;

export interface DiskWatchdogOptions {
  docker: Dockerode;
  limitBytes: number;
  /** Docker's data root as the engine reports it; without it (or when this process cannot read it,
   * e.g. a remote engine) Docker's per-container files are not watched. */
  dockerRoot?: string;
  /** The environments to watch now: running, handed out, no operation in progress. */
  environments: () => WatchedEnvironment[];
  onOver: (id: string, usage: DiskUsage) => void;
  onUnder: (id: string, usage: DiskUsage) => void;
  log: (line: string) => void;
  tickMs?: number;
  layerIntervalMinMs?: number;
  layerDutyFactor?: number;
}

export class DiskWatchdog {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private nextLayerRoundAt = 0;
  private readonly layerBytes = new Map<string, number>();
  private filesVisible: boolean | undefined;
  private readonly counters = { rounds: 0, layerRounds: 0, lastLayerRoundMs: 0, containersMeasured: 0 };

  constructor(private readonly options: DiskWatchdogOptions) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  stats(): { rounds: number; layerRounds: number; lastLayerRoundMs: number; containersMeasured: number } {
    return { ...this.counters };
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.round()
        .catch((error: unknown) => this.options.log(`disk watchdog: ${error instanceof Error ? error.message : String(error)}`))
        .finally(() => this.schedule(this.options.tickMs ?? TICK_MS));
    }, ms);
    this.timer.unref();
  }

  /** One look at every watched environment (layers only when their interval has passed). */
  async round(): Promise<void> {
    this.counters.rounds++;
    let envs = this.options.environments();
    if (Date.now() >= this.nextLayerRoundAt && envs.some((e) => e.machines.some((m) => m.measureLayer))) {
      const started = performance.now();
      await this.measureLayers(envs);
      const ms = performance.now() - started;
      this.counters.layerRounds++;
      this.counters.lastLayerRoundMs = Math.round(ms);
      this.nextLayerRoundAt = Date.now() + Math.max(this.options.layerIntervalMinMs ?? LAYER_INTERVAL_MIN_MS, (this.options.layerDutyFactor ?? LAYER_DUTY_FACTOR) * ms);
      envs = this.options.environments(); // measuring took a while: some may have stopped
    }
    // A stopped environment's measurement is dropped: when it runs again, it is measured afresh.
    const watched = new Set(envs.map((e) => e.id));
    for (const id of this.layerBytes.keys()) if (!watched.has(id)) this.layerBytes.delete(id);
    for (const env of envs) {
      const layerBytes = this.layerBytes.get(env.id);
      const usage = { layerBytes: layerBytes ?? 0, dockerFilesBytes: await this.dockerFilesBytes(env) };
      if (isOverLimit(usage, this.options.limitBytes)) this.options.onOver(env.id, usage);
      // "Under" needs its layers measured (since it last started, see above), unless it has none to measure.
      else if (layerBytes !== undefined || !env.machines.some((m) => m.measureLayer)) this.options.onUnder(env.id, usage);
    }
  }

  /** One container at a time: the engine walks each writable layer, and learners' commands come first. */
  private async measureLayers(envs: WatchedEnvironment[]): Promise<void> {
    for (const env of envs) {
      let total = 0;
      for (const machine of env.machines) {
        if (!machine.measureLayer || this.stopped) continue;
        try {
          // `size` goes into the query (GET /containers/{id}/json?size=true); the types lack it.
          const query = { size: true } as Dockerode.ContainerInspectOptions;
          const info = (await this.options.docker.getContainer(machine.containerId).inspect(query)) as { SizeRw?: number };
          this.counters.containersMeasured++;
          total += Math.max(0, info.SizeRw ?? 0); // -1: the driver could not tell
        } catch {
          // removed meanwhile: the events tell the manager
        }
      }
      this.layerBytes.set(env.id, total);
    }
  }

  private async dockerFilesBytes(env: WatchedEnvironment): Promise<number> {
    const root = this.options.dockerRoot;
    if (!root || !(await this.canSeeDockerFiles(root))) return 0;
    const sizes = await Promise.all(
      env.machines.flatMap((m) => DOCKER_FILES.map((file) => stat(path.join(root, "containers", m.containerId, file)).then((s) => s.size, () => 0))),
    );
    return sizes.reduce((a, b) => a + b, 0);
  }

  private async canSeeDockerFiles(root: string): Promise<boolean> {
    if (this.filesVisible === undefined) {
      this.filesVisible = await stat(path.join(root, "containers")).then(
        () => true,
        (error: unknown) => {
          this.options.log(`disk watchdog: cannot read ${root}/containers (${(error as NodeJS.ErrnoException).code}): writes to /etc/hosts in lab machines are not watched`);
          return false;
        },
      );
    }
    return this.filesVisible;
  }
}

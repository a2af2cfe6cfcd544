// The environments of docs/design.md §3: per learner, one internal Docker network with its own /28 and
// two containers, `mail` and `partner`. This module owns their whole lifecycle (create, stop, resume,
// reset, destroy), adopts them again after an app restart (everything needed is in Docker labels),
// stops idle ones, destroys expired ones and keeps a warm pool.
//
// Speed (docs/design.md §7: create → attachable ≤ 0.8 s cold, ≤ 0.2 s warm): the network and both
// containers are created at once, then both containers started at once, with no inspect round trips
// on the way; a warm pool member is claimed by renaming its two containers (in parallel, ~30 ms).
import Dockerode from "dockerode";
import { ENVIRONMENT_MACHINES, environmentIdSchema, type EnvironmentMachine, type EnvironmentParams } from "@/lib/machines";
import { classifyListing } from "./adoption";
import { buildContainerOptions, machineImage, READY_FILE, stopTimeoutS } from "./container-config";
import { watchContainerEvents, type ContainerEvent } from "./docker-events";
import { CheckChannel, type ScriptJob, type ScriptRun } from "./check-channel";
import { describeEnforcement, detectDiskEnforcement, type DiskEnforcement, type DiskLimitOptions, type DiskStatus } from "./disk-limits";
import { DiskWatchdog, usedBytes, type DiskUsage, type WatchedEnvironment } from "./disk-watchdog";
import { execInContainer, type ExecOptions, type ExecResult } from "./exec";
import { DEFAULT_SUBNET_POOL, installHostFirewall, setLabAddressPool, type HostFirewallResult } from "./host-firewall";
import {
  LABEL_DISK_LIMIT,
  LABEL_ENVIRONMENT,
  LABEL_MACHINE,
  LABEL_SCOPE,
  assertNoReservedLabels,
  containerLabels,
  containerName,
  networkLabels,
  networkName,
  poolContainerName,
  scopeOf,
  type EnvironmentLabelInput,
} from "./labels";
import { generateEnvironmentId, generateParams } from "./params";
import { planReap, reapIntervalMs, startReaper } from "./reaper";
import { SubnetPool, hostAddress } from "./subnet-pool";
import { WarmPool } from "./warm-pool";

export type EnvironmentStatus = "creating" | "running" | "stopped" | "error" | "missing";

export interface EnvironmentTimings {
  /** When create() was called (ms since the epoch; performance.timeOrigin based for sub-ms bench use). */
  requestedAt: number;
  /** When both containers were running, i.e. terminals could attach. */
  attachableAt?: number;
  /** attachableAt - requestedAt, in ms. */
  createMs?: number;
  /** The environment came from the warm pool. */
  fromPool: boolean;
}

export interface EnvironmentInfo {
  id: string;
  status: EnvironmentStatus;
  params: EnvironmentParams;
  /** The caller's labels given at create (and the manager's own `labels` option). */
  labels: Record<string, string>;
  /** ms since the epoch, from the Docker label (survives restarts). */
  createdAt: number;
  lastActiveAt: number;
  timings: EnvironmentTimings;
  error?: string;
  /** What happened to the machines that their users should be told (see EnvironmentNotice). */
  notice?: EnvironmentNotice;
}

/**
 * Something that happened to an environment's machines outside its users' own actions, for the
 * learner's page and the instructor's views (server/maillab words it):
 * - `disk-limit`: the disk watchdog stopped the environment; kept (also after a resume) until a
 *   measurement finds it under the limit again, or a reset. After a resume the learner has
 *   DISK_CLEANUP_GRACE_MS to delete files, as long as they write no more than DISK_CLEANUP_SLACK_BYTES;
 * - `machine-exited`: a machine stopped by itself or was killed (`docker kill`, out of memory);
 *   cleared when the machines run again;
 * - `machine-removed`: a machine's container was removed behind the app's back; cleared by a reset.
 */
export type EnvironmentNotice =
  | { kind: "disk-limit"; at: number; usedBytes: number; limitBytes: number; resumedAt?: number }
  | { kind: "machine-exited"; at: number; machine: EnvironmentMachine; exitCode: number | null; oom: boolean }
  | { kind: "machine-removed"; at: number; machine: EnvironmentMachine };

export interface StatusChange {
  id: string;
  status: EnvironmentStatus;
  previous: EnvironmentStatus;
  notice?: EnvironmentNotice;
}

export interface EnvironmentManagerOptions {
  /** IPv4 pool the environments' /28 networks come from. Default 10.213.0.0/16 (4096 environments). */
  subnetPool?: string;
  /** Stop environments without activity (touch) for this long; 0 = never. Default 30 min. */
  idleStopMs?: number;
  /** Destroy environments without activity for this long; 0 = never. Default 14 days. Activity is kept
   * in memory: after a restart the clocks of adopted environments start again. */
  ttlMs?: number;
  /** Warm pool size to keep from init() on (fillPool changes it). Default 0. */
  poolSize?: number;
  /** Passed to dockerode; by default it honours DOCKER_HOST / DOCKER_CERT_PATH like the docker CLI. */
  dockerOptions?: Dockerode.DockerOptions;
  /** Install the host firewall (iptables, needs root) at init(). Default true. */
  hostFirewall?: boolean;
  /** Asked before the reaper stops or destroys an environment: return false to keep it (e.g. a class still running). */
  mayReap?: (id: string, action: "stop" | "destroy") => boolean;
  /** Told after the reaper destroyed an environment (past its TTL), so what the app keeps of it (terminal
   * recordings) goes too, as with a destroy the app asked for. */
  onReaped?: (id: string) => void;
  /** Labels put on everything this manager creates, pool members included. They also set the manager's
   * scope (maillab.scope): it adopts and cleans up only objects of its own scope, so tests and benchmarks
   * can run beside a live app on the same engine. */
  labels?: Record<string, string>;
  /** Image per machine, overriding ./images.ts's tags (development against another build). */
  images?: Partial<Record<EnvironmentMachine, string>>;
  /** Command per machine, overriding the image's (development: ["sleep", "infinity"]). */
  commands?: Partial<Record<EnvironmentMachine, string[]>>;
  /** Learner-facing creates running at once; more wait in line (see MAX_PARALLEL_CREATES). */
  maxParallelCreates?: number;
  /** Disk limit per environment (./disk-limits.ts); none when absent. The watchdog's intervals are for tests. */
  disk?: DiskLimitOptions & { tickMs?: number; layerIntervalMinMs?: number; layerDutyFactor?: number };
  log?: (line: string) => void;
}

export interface CreateOptions {
  /** Extra labels for this environment. An environment with its own labels is never taken from the warm pool. */
  labels?: Record<string, string>;
  /** Take a ready environment from the warm pool when there is one. Default true. */
  usePool?: boolean;
}

export interface InitOptions {
  /** Whether an environment id is still wanted (e.g. present in the database); unknown ones are destroyed. */
  isKnown?: (id: string) => boolean;
}

export interface InitReport {
  adopted: string[];
  removed: string[];
  pool: number;
  firewall: HostFirewallResult | null;
}

export class EnvironmentError extends Error {
  constructor(
    message: string,
    readonly code: "not-found" | "not-running" | "failed",
  ) {
    super(message);
    this.name = "EnvironmentError";
  }
}

/** Default learner-facing creates at once: on 2 cores, 4 in parallel keep the engine busy while the first in line stay fast. */
const MAX_PARALLEL_CREATES = 4;
/** Docker answers "Pool overlaps" when a subnet is taken by a network we did not see; try this many others. */
const SUBNET_ATTEMPTS = 8;
const DEFAULT_IDLE_STOP_MS = 30 * 60_000;
const DEFAULT_TTL_MS = 14 * 24 * 60 * 60_000;
/** Reaper stops/destroys at once: each docker stop waits for the services' shutdown (machine-spec stopTimeoutS). */
const REAP_PARALLEL = 4;
/** After a resume from a disk-limit stop, the time to find and delete the big files before the watchdog
 * stops the machines again... */
const DISK_CLEANUP_GRACE_MS = 5 * 60_000;
/** ...provided they grow by no more than this meanwhile (logs, an editor's swap file), so a resume is
 * no way around the limit. */
const DISK_CLEANUP_SLACK_BYTES = 64 * 1024 * 1024;
/** waitReady default: the image's init starts syslog and Postfix in ~1-3 s; 60 s covers a loaded engine. */
const DEFAULT_READY_TIMEOUT_MS = 60_000;

interface MachineState {
  containerId: string;
  state: "running" | "stopped" | "missing";
  /** Created with a hard disk limit: the watchdog need not measure its writable layer. */
  diskLimited: boolean;
  /** Docker said "oom" for it since it last started (its next "die" was the kernel's OOM kill). */
  oom?: boolean;
}

interface EnvRecord {
  id: string;
  params: EnvironmentParams;
  extra: Record<string, string>;
  createdAt: number;
  lastActiveAt: number;
  /** Born in the warm pool (its Docker objects carry maillab.pool=1). */
  bornInPool: boolean;
  /** Waiting unclaimed in the pool (its containers still have pool names). */
  pooled: boolean;
  status: EnvironmentStatus;
  machines: Partial<Record<EnvironmentMachine, MachineState>>;
  timings: EnvironmentTimings;
  error?: string;
  /** Serialises operations on one environment. */
  lock: Promise<void>;
  busy: number;
  /** Every machine has reported ready since it last started: waitReady() needs no exec. */
  ready: boolean;
  notice?: EnvironmentNotice;
}

function statusCode(error: unknown): number | undefined {
  return (error as { statusCode?: number })?.statusCode;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Ignores "not found" (already gone) and "not modified" (already started/stopped). */
async function tolerate(promise: Promise<unknown>, codes: number[] = [304, 404]): Promise<void> {
  try {
    await promise;
  } catch (error) {
    if (!codes.includes(statusCode(error) ?? 0)) throw error;
  }
}

/** Like Promise.all, but waits for every promise before rejecting: no create is still in flight when
 * the caller cleans up after a failure (else a container could appear after its removal). */
async function settleAll<T extends unknown[]>(promises: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as T;
}

function now(): number {
  return performance.timeOrigin + performance.now();
}

export class EnvironmentManager {
  readonly docker: Dockerode;
  private readonly subnets: SubnetPool;
  private readonly envs = new Map<string, EnvRecord>();
  private readonly listeners = new Set<(change: StatusChange) => void>();
  /** Check channels by `<id>/<machine>` (./check-channel.ts), opened on first use. */
  private readonly channels = new Map<string, CheckChannel>();
  /** Engine round trips for commands: one-shot execs and channel opens (the bench reports them). */
  private readonly counters = { execs: 0, channelOpens: 0, scripts: 0 };
  private readonly pool: WarmPool;
  private readonly idleStopMs: number;
  private readonly ttlMs: number;
  private readonly log: (line: string) => void;
  private readonly maxParallel: number;
  private readonly scope: string;
  private readonly subnetPool: string;
  private initPromise: Promise<InitReport> | undefined;
  private reaper: { stop(): void } | undefined;
  private events: ReturnType<typeof watchContainerEvents> | undefined;
  private disk: Promise<DiskEnforcement> | undefined;
  private diskOutcome: DiskStatus | undefined;
  private watchdog: DiskWatchdog | undefined;
  private disposed = false;
  /** Learner-facing creates in flight and those waiting for a slot. */
  private activeCreates = 0;
  private readonly createQueue: Array<() => void> = [];
  private quietWaiters: Array<() => void> = [];

  constructor(private readonly options: EnvironmentManagerOptions = {}) {
    this.docker = new Dockerode(options.dockerOptions);
    this.subnetPool = options.subnetPool ?? DEFAULT_SUBNET_POOL;
    this.subnets = new SubnetPool(this.subnetPool);
    // The manager guarding the host also tells isLabAddress() its pool (test managers opt out of both).
    if (options.hostFirewall !== false) setLabAddressPool(this.subnetPool);
    this.idleStopMs = options.idleStopMs ?? DEFAULT_IDLE_STOP_MS;
    this.ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
    this.maxParallel = options.maxParallelCreates ?? MAX_PARALLEL_CREATES;
    this.log = options.log ?? ((line) => console.log(`[environments] ${line}`));
    if (options.labels) assertNoReservedLabels(options.labels);
    this.scope = scopeOf(options.labels);
    this.pool = new WarmPool({
      createMember: async () => {
        await this.init(); // subnets seeded and adoption done before the first member
        return (await this.build({ pool: true, extra: {} })).id;
      },
      destroyMember: (id) => this.destroy(id),
      whenQuiet: () => this.whenQuiet(),
      log: this.log,
    });
  }

  // ---------------------------------------------------------------- start-up

  /**
   * Adopts every maillab environment the engine has (running or stopped), removes orphans (half-created
   * environments; with `isKnown`, environments it does not know), installs the host firewall, starts the
   * reaper, the event watch and the warm pool. Idempotent: later calls return the first result.
   */
  init(options: InitOptions = {}): Promise<InitReport> {
    this.initPromise ??= this.adopt(options).catch((error: unknown) => {
      this.events?.close();
      this.initPromise = undefined; // engine not answering yet: the next call tries again
      throw error;
    });
    return this.initPromise;
  }

  private async adopt({ isKnown }: InitOptions): Promise<InitReport> {
    const firewall = this.options.hostFirewall === false ? Promise.resolve(null) : installHostFirewall(this.subnetPool, { log: this.log });
    // Subscribe before listing: a machine that dies between the listing and the subscription is not missed.
    this.events = watchContainerEvents(this.docker, (event) => this.onContainerEvent(event), {
      onReconnect: () => void this.reconcile(),
      log: this.log,
    });
    await this.events.ready;
    const [networks, containers] = await Promise.all([
      this.markEngineSubnetsUsed(),
      this.docker.listContainers({ all: true, filters: { label: this.ownLabelFilter() } }),
    ]);

    const { adopt, remove } = classifyListing(networks, containers, { scope: this.scope, isKnown });
    const removals = remove.map((leftover) => {
      this.log(`removing ${leftover.reason} environment ${leftover.id}`);
      return this.removeObjects(leftover.containerIds, leftover.networkIds);
    });
    for (const found of adopt) {
      const record = this.newRecord(found.id, found.params, found.extra, found.createdAt, found.bornInPool, found.pooled);
      for (const machine of ENVIRONMENT_MACHINES) {
        const adopted = found.machines[machine];
        if (adopted) record.machines[machine] = { containerId: adopted.containerId, state: adopted.running ? "running" : "stopped", diskLimited: adopted.diskLimited };
      }
      const learnerMachinesRunning = found.machines.mail.running && found.machines.partner.running;
      record.status = learnerMachinesRunning ? "running" : "stopped";
      // Created before environments had a probe: give it one (now if running, else on resume).
      if (!found.machines.probe && learnerMachinesRunning && !found.pooled) removals.push(this.addMissingProbe(record));
      record.timings.fromPool = found.bornInPool;
      this.envs.set(found.id, record);
      if (found.pooled) this.pool.add(found.id);
      // A crash between the two renames of a claim: finish it, so containerName() is right for both.
      if (found.halfClaimed) removals.push(this.renameToClaimed(record).catch((e) => this.log(`finishing claim of ${found.id}: ${message(e)}`)));
    }
    const adopted = adopt.filter((e) => !e.pooled).map((e) => e.id);
    const removed = remove.map((e) => e.id);
    await Promise.all(removals);

    this.reaper = startReaper(() => this.reap(), reapIntervalMs({ idleStopMs: this.idleStopMs, ttlMs: this.ttlMs }));
    this.pool.setTarget(this.options.poolSize ?? 0, { trim: false });
    if (adopted.length || removed.length) this.log(`adopted ${adopted.length}, removed ${removed.length}, pool ${this.pool.status().ready}`);
    return { adopted, removed, pool: this.pool.status().ready, firewall: await firewall };
  }

  /** Every subnet Docker uses, ours or not, is off limits. Returns the listing. */
  private async markEngineSubnetsUsed(): Promise<Dockerode.NetworkInspectInfo[]> {
    const networks = await this.docker.listNetworks();
    for (const network of networks) for (const config of network.IPAM?.Config ?? []) if (config.Subnet) this.subnets.markUsed(config.Subnet);
    return networks;
  }

  /** Docker filter for this manager's containers (see LABEL_SCOPE). */
  private ownLabelFilter(): string[] {
    return [LABEL_ENVIRONMENT, `${LABEL_SCOPE}=${this.scope}`];
  }

  /** Stops timers, the event watch and the pool; environments stay as they are (adopted at next start). */
  dispose(): void {
    this.disposed = true;
    for (const channel of this.channels.values()) channel.close();
    this.channels.clear();
    this.reaper?.stop();
    this.events?.close();
    this.watchdog?.stop();
    this.pool.dispose();
    this.listeners.clear();
  }

  // ---------------------------------------------------------------- queries

  get(id: string): EnvironmentInfo | undefined {
    const record = this.envs.get(id);
    return record && !record.pooled ? this.info(record) : undefined;
  }

  /** Every environment handed out (warm-pool members waiting to be claimed are not listed). */
  list(): EnvironmentInfo[] {
    return [...this.envs.values()].filter((r) => !r.pooled).map((r) => this.info(r));
  }

  status(id: string): EnvironmentStatus {
    const record = this.envs.get(id);
    return record && !record.pooled ? record.status : "missing";
  }

  /** What happened to the environment's machines that its users should be told, if anything. */
  notice(id: string): EnvironmentNotice | undefined {
    const record = this.envs.get(id);
    return record && !record.pooled ? record.notice : undefined;
  }

  /**
   * How this manager limits each environment's disk (./disk-limits.ts), found once (needs the lab
   * images: the app asks when they are ready, and every create waits for it); starts the disk
   * watchdog. Rejects when `disk.mode` is "hard" and the engine cannot (creates fail with the reason).
   */
  diskEnforcement(): Promise<DiskEnforcement> {
    const options = this.options.disk;
    if (!options || options.limitBytes <= 0) {
      this.diskOutcome = { kind: "none", limitBytes: 0, reason: "no limit configured (MAILLAB_DISK_LIMIT_MB=0)" };
      return Promise.resolve({ kind: "none", limitBytes: 0, reason: this.diskOutcome.reason! });
    }
    this.disk ??= detectDiskEnforcement(this.docker, {
      ...options,
      images: Object.fromEntries(ENVIRONMENT_MACHINES.map((m) => [m, this.options.images?.[m] ?? machineImage(m)])) as Record<EnvironmentMachine, string>,
      labels: { [LABEL_SCOPE]: this.scope },
    }).then(
      (enforcement) => {
        this.log(describeEnforcement(enforcement));
        this.diskOutcome = { kind: enforcement.kind, limitBytes: enforcement.limitBytes, reason: enforcement.reason };
        if (!this.disposed && !this.watchdog) {
          this.watchdog = new DiskWatchdog({
            docker: this.docker,
            limitBytes: enforcement.limitBytes,
            dockerRoot: enforcement.dockerRoot,
            environments: () => this.watchedEnvironments(),
            onOver: (id, usage) => void this.onDiskOver(id, usage),
            onUnder: (id) => this.onDiskUnder(id),
            log: this.log,
            tickMs: options.tickMs,
            layerIntervalMinMs: options.layerIntervalMinMs,
            layerDutyFactor: options.layerDutyFactor,
          });
          this.watchdog.start();
        }
        return enforcement;
      },
      (error: unknown) => {
        this.disk = undefined; // an engine hiccup: the next create tries again
        this.diskOutcome = { error: message(error) };
        throw new EnvironmentError(`disk limits: ${message(error)}`, "failed");
      },
    );
    return this.disk;
  }

  /** The outcome of diskEnforcement() so far (for /api/health); undefined before it was asked. */
  diskStatus(): DiskStatus | undefined {
    return this.diskOutcome;
  }

  /** Container name for `docker exec -it <name> …` (terminals). */
  containerName(id: string, machine: EnvironmentMachine): string {
    return this.envs.get(id)?.pooled ? poolContainerName(id, machine) : containerName(id, machine);
  }

  /** Marks activity: resets the idle-stop and TTL clocks. */
  touch(id: string): void {
    const record = this.envs.get(id);
    if (record) record.lastActiveAt = Date.now();
  }

  onChange(listener: (change: StatusChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  poolStatus(): { ready: number; target: number } {
    const { ready, target } = this.pool.status();
    return { ready, target };
  }

  /** Keeps `n` ready environments in the warm pool (built one at a time in the background). */
  fillPool(n: number): void {
    this.pool.setTarget(n);
  }

  /** Resolves when the pool has reached its target (benchmarks, tests, pre-warming before class). */
  poolSettled(): Promise<void> {
    return this.pool.settled();
  }

  // ---------------------------------------------------------------- lifecycle

  /** A new environment, running and attachable; from the warm pool when one is ready. */
  async create(options: CreateOptions = {}): Promise<EnvironmentInfo> {
    const requestedAt = now();
    await this.init();
    const extra = options.labels ?? {};
    assertNoReservedLabels(extra);
    if (options.usePool !== false && Object.keys(extra).length === 0) {
      const claimed = await this.claimFromPool(requestedAt);
      if (claimed) return claimed;
    }
    await this.acquireCreateSlot();
    try {
      return this.info(await this.build({ pool: false, extra, requestedAt }));
    } finally {
      this.releaseCreateSlot();
    }
  }

  /** Waits until `/run/maillab/ready` exists in the machines (services started by the image's init). */
  async waitReady(id: string, { timeoutMs = DEFAULT_READY_TIMEOUT_MS, machines = ENVIRONMENT_MACHINES }: { timeoutMs?: number; machines?: readonly EnvironmentMachine[] } = {}): Promise<void> {
    const record = this.envs.get(id);
    // Asked before every evaluation: once the machines are up, answer without a round trip.
    if (record?.ready && record.status === "running") return;
    const poll = `while [ ! -e ${READY_FILE} ]; do sleep 0.05; done`;
    await Promise.all(
      machines.map(async (machine) => {
        const result = await this.exec(id, machine, ["sh", "-c", poll], { timeoutMs });
        if (result.exitCode !== 0) {
          throw new EnvironmentError(`environment ${id}: ${machine} not ready after ${timeoutMs / 1000} s (${result.timedOut ? "timed out" : `exit ${result.exitCode}`})`, "failed");
        }
      }),
    );
    if (record && machines.length === ENVIRONMENT_MACHINES.length && record.status === "running") record.ready = true;
  }

  /** Runs a command in a machine (checks, solve scripts). Throws EnvironmentError when the environment is not running. */
  async exec(id: string, machine: EnvironmentMachine, cmd: string[], options?: ExecOptions): Promise<ExecResult> {
    const record = this.envs.get(id);
    if (!record) throw new EnvironmentError(`no environment ${id}`, "not-found");
    if (record.machines[machine]?.state !== "running") throw new EnvironmentError(`environment ${id} is ${record.status}: ${machine} is not running`, "not-running");
    this.counters.execs++;
    try {
      return await execInContainer(this.docker, this.docker.getContainer(this.containerName(id, machine)), cmd, options);
    } catch (error) {
      if (statusCode(error) === 409 || statusCode(error) === 404) throw new EnvironmentError(`environment ${id}: ${machine} is not running`, "not-running");
      throw error;
    }
  }

  /**
   * Runs a check (or explain, or solve) script in a machine over its long-lived channel: no engine
   * round trip once the channel is open. Never throws for the script; a machine that is not running
   * gives exit code -1 with the reason.
   */
  async runScript(id: string, machine: EnvironmentMachine, job: ScriptJob): Promise<ScriptRun> {
    const record = this.envs.get(id);
    if (!record || record.machines[machine]?.state !== "running") {
      return { exitCode: -1, output: `maillab: ${machine} is not running\n`, durationMs: 0, timedOut: false };
    }
    const key = `${id}/${machine}`;
    let channel = this.channels.get(key);
    if (!channel) {
      channel = new CheckChannel(this.docker, () => this.containerName(id, machine), this.log, () => this.counters.channelOpens++);
      this.channels.set(key, channel);
    }
    this.counters.scripts++;
    return channel.run(job);
  }

  /** Engine round trips so far: one-shot execs, channel opens, and scripts run over channels. */
  commandStats(): { execs: number; channelOpens: number; scripts: number } {
    return { ...this.counters };
  }

  private closeChannels(id: string): void {
    for (const machine of ENVIRONMENT_MACHINES) {
      this.channels.get(`${id}/${machine}`)?.close();
      this.channels.delete(`${id}/${machine}`);
    }
  }

  /** docker stop both machines: their files are kept, resume() brings them back. */
  stop(id: string): Promise<void> {
    return this.operate(id, async (record) => {
      if (ENVIRONMENT_MACHINES.every((m) => record.machines[m]?.state !== "running")) return;
      await Promise.all(
        ENVIRONMENT_MACHINES.map(async (machine) => {
          await tolerate(this.docker.getContainer(this.containerName(id, machine)).stop({ t: stopTimeoutS(machine) }));
          this.setMachine(record, machine, "stopped");
        }),
      );
      this.closeChannels(id);
      this.setStatus(record, "stopped");
    });
  }

  /** docker start both machines and return once they are attachable; services come up through the image's init. */
  resume(id: string): Promise<void> {
    return this.operate(id, async (record) => {
      record.lastActiveAt = Date.now();
      if (ENVIRONMENT_MACHINES.every((m) => record.machines[m]?.state === "running")) return;
      if (!record.machines.probe) await this.addMissingProbe(record);
      try {
        await Promise.all(
          ENVIRONMENT_MACHINES.filter((m) => record.machines[m]).map(async (machine) => {
            await tolerate(this.docker.getContainer(this.containerName(id, machine)).start(), [304]);
            this.setMachine(record, machine, "running");
          }),
        );
        if (record.notice?.kind === "machine-exited") record.notice = undefined;
        if (record.notice?.kind === "disk-limit") record.notice = { ...record.notice, resumedAt: Date.now() };
      } catch (error) {
        if (statusCode(error) === 404) {
          this.setStatus(record, "error", "a machine's container is gone: reset the environment");
          throw new EnvironmentError(`environment ${id}: a machine is missing, reset it`, "failed");
        }
        throw error;
      }
      this.setStatus(record, "running");
    });
  }

  /**
   * Fresh containers with the same id, params and network: the learner's task text stays valid.
   * An environment whose Docker objects are all gone (engine wiped, removed by hand) is rebuilt when
   * the caller still has its `params` (e.g. from the database); if its subnet has been taken in the
   * meantime it gets another one (domain, users and passwords stay). Resolves with the environment.
   */
  async reset(id: string, { params }: { params?: EnvironmentParams } = {}): Promise<EnvironmentInfo> {
    if (!this.envs.has(id) && params) {
      if (!environmentIdSchema.safeParse(id).success) throw new EnvironmentError(`not an environment id: ${id}`, "not-found");
      await this.init();
      await this.acquireCreateSlot();
      try {
        // Checked again after the waits: a concurrent rebuild of the same id must not build twice.
        if (!this.envs.has(id)) {
          const subnet = this.subnets.take(params.subnet) ? params.subnet : this.subnets.allocate();
          const moved = { ...params, subnet, mailIp: hostAddress(subnet, 2), partnerIp: hostAddress(subnet, 3) };
          return this.info(await this.build({ pool: false, extra: {}, id, params: moved }));
        }
      } finally {
        this.releaseCreateSlot();
      }
    }
    await this.operate(id, async (record) => {
      this.closeChannels(id);
      this.setStatus(record, "creating");
      try {
        await Promise.all(ENVIRONMENT_MACHINES.map((machine) => tolerate(this.docker.getContainer(this.containerName(id, machine)).remove({ force: true }), [404])));
        await this.ensureNetwork(record);
        await this.startMachines(record, false);
        record.lastActiveAt = Date.now();
        record.notice = undefined;
        this.setStatus(record, "running");
      } catch (error) {
        this.setStatus(record, "error", message(error));
        throw error;
      }
    });
    return this.info(this.envs.get(id)!);
  }

  /** Removes the containers and the network. Unknown ids are removed by name too (idempotent). */
  async destroy(id: string): Promise<void> {
    const record = this.envs.get(id);
    if (!record) {
      await this.removeObjects(ENVIRONMENT_MACHINES.flatMap((m) => [containerName(id, m), poolContainerName(id, m)]), [networkName(id)]);
      return;
    }
    await this.withLock(record, async () => {
      if (this.envs.get(id) !== record) return;
      this.pool.remove(id);
      this.closeChannels(id);
      await this.removeObjects(ENVIRONMENT_MACHINES.map((m) => this.containerName(id, m)), [networkName(id)]);
      this.subnets.release(record.params.subnet);
      this.envs.delete(id);
      this.setStatus(record, "missing");
    });
  }

  // ---------------------------------------------------------------- internals: building

  private newRecord(id: string, params: EnvironmentParams, extra: Record<string, string>, createdAt: number, bornInPool: boolean, pooled: boolean): EnvRecord {
    return {
      id,
      params,
      extra,
      createdAt,
      lastActiveAt: Date.now(),
      bornInPool,
      pooled,
      status: "creating",
      machines: {},
      timings: { requestedAt: createdAt, fromPool: false },
      lock: Promise.resolve(),
      busy: 0,
      ready: false,
    };
  }

  /** Network, then both containers in parallel. A new id and params unless given (rebuild). Cleans up after itself on failure. */
  private async build({
    pool,
    extra,
    requestedAt = now(),
    id = generateEnvironmentId(),
    params,
  }: {
    pool: boolean;
    extra: Record<string, string>;
    requestedAt?: number;
    id?: string;
    /** With its subnet already taken from the pool. */
    params?: EnvironmentParams;
  }): Promise<EnvRecord> {
    if (this.disposed) {
      if (params) this.subnets.release(params.subnet);
      throw new EnvironmentError("the environment manager is disposed", "failed");
    }
    const record = this.newRecord(id, params ?? generateParams(this.subnets.allocate()), { ...this.options.labels, ...extra }, Date.now(), pool, pool);
    record.timings.requestedAt = requestedAt;
    this.envs.set(id, record);
    if (!pool) this.emit(record, "missing");
    // Hold the record's lock while building: a stop/reset/destroy arriving meanwhile waits for it.
    let unlock!: () => void;
    record.lock = new Promise((resolve) => (unlock = resolve));
    record.busy++;
    try {
      // Docker 20.10 checks a container's network at start, not at create: creating the network and
      // both containers at once takes the container creates (~50-100 ms) off the critical path.
      const [network, ...containers] = await settleAll([
        this.createNetwork(record, { mayMoveSubnet: true }),
        ...ENVIRONMENT_MACHINES.map((machine) => this.createMachine(record, machine, pool)),
      ]);
      if (network.moved) {
        // Rare: the subnet clashed and moved, so the containers carry stale addresses: recreate them.
        await Promise.all(containers.map((c) => c.remove({ force: true })));
        await this.startMachines(record, pool);
      } else {
        await Promise.all(containers.map((c, i) => this.startMachine(record, ENVIRONMENT_MACHINES[i]!, c)));
      }
      record.timings.attachableAt = now();
      record.timings.createMs = record.timings.attachableAt - requestedAt;
      this.setStatus(record, "running");
      return record;
    } catch (error) {
      this.log(`creating ${id} failed: ${message(error)}`);
      await this.removeObjects(ENVIRONMENT_MACHINES.map((m) => (pool ? poolContainerName(id, m) : containerName(id, m))), [networkName(id)]).catch(() => undefined);
      this.subnets.release(record.params.subnet);
      this.envs.delete(id);
      this.setStatus(record, "missing");
      throw new EnvironmentError(`creating an environment failed: ${message(error)}`, "failed");
    } finally {
      record.busy--;
      unlock();
    }
  }

  private labelInput(record: EnvRecord): EnvironmentLabelInput {
    return { id: record.id, scope: this.scope, params: record.params, createdAt: record.createdAt, pool: record.bornInPool, extra: record.extra };
  }

  /**
   * Creates the environment's network. On a subnet clash with a network we did not know (created
   * since init), a new environment moves to the next subnet; a reset keeps its params and fails.
   */
  private async createNetwork(record: EnvRecord, { mayMoveSubnet }: { mayMoveSubnet: boolean }): Promise<{ moved: boolean }> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.docker.createNetwork({
          Name: networkName(record.id),
          CheckDuplicate: true,
          Driver: "bridge",
          Internal: true, // no route out: nothing shared with other environments or the internet
          IPAM: { Driver: "default", Config: [{ Subnet: record.params.subnet, Gateway: hostAddress(record.params.subnet, 1) }] },
          Labels: networkLabels(this.labelInput(record)),
        });
        return { moved: attempt > 1 };
      } catch (error) {
        if (!mayMoveSubnet || !/overlap/i.test(message(error)) || attempt >= SUBNET_ATTEMPTS) throw error;
        // Another app or test run on this engine took subnets since we last looked (two apps with the
        // same MAILLAB_SUBNET_POOL take them in the same order): learn them all, then move. The clashing
        // subnet stays marked as used; the new one replaces it in the params.
        await this.markEngineSubnetsUsed().catch(() => undefined);
        const subnet = this.subnets.allocate();
        record.params = { ...record.params, subnet, mailIp: hostAddress(subnet, 2), partnerIp: hostAddress(subnet, 3) };
      }
    }
  }

  /** Reset: the network normally still exists; recreate it (same subnet) if someone removed it. */
  private async ensureNetwork(record: EnvRecord): Promise<void> {
    try {
      await this.docker.getNetwork(networkName(record.id)).inspect();
    } catch (error) {
      if (statusCode(error) !== 404) throw error;
      await this.createNetwork(record, { mayMoveSubnet: false });
    }
  }

  /** Creates and starts both containers, each create → start chain in parallel with the other. */
  private async startMachines(record: EnvRecord, pool: boolean): Promise<void> {
    await Promise.all(ENVIRONMENT_MACHINES.map(async (machine) => this.startMachine(record, machine, await this.createMachine(record, machine, pool))));
  }

  private async createMachine(record: EnvRecord, machine: EnvironmentMachine, pool: boolean): Promise<Dockerode.Container> {
    const disk = await this.diskEnforcement();
    const sizeBytes = disk.sizeBytes?.[machine];
    const container = await this.docker.createContainer(
      buildContainerOptions({
        machine,
        name: pool ? poolContainerName(record.id, machine) : containerName(record.id, machine),
        network: networkName(record.id),
        params: record.params,
        labels: { ...containerLabels(this.labelInput(record), machine), ...(sizeBytes ? { [LABEL_DISK_LIMIT]: String(sizeBytes) } : {}) },
        image: this.options.images?.[machine],
        command: this.options.commands?.[machine],
        disk: { sizeBytes, fileSizeLimitBytes: disk.limitBytes || undefined },
      }),
    );
    record.machines[machine] = { containerId: container.id, state: "stopped", diskLimited: Boolean(sizeBytes) };
    return container;
  }

  /** An adopted environment from before the probe existed: create and start its probe. */
  private async addMissingProbe(record: EnvRecord): Promise<void> {
    try {
      await this.startMachine(record, "probe", await this.createMachine(record, "probe", record.pooled));
      this.log(`added the check probe to ${record.id}`);
    } catch (error) {
      this.log(`adding the check probe to ${record.id} failed: ${message(error)}`);
    }
  }

  private async startMachine(record: EnvRecord, machine: EnvironmentMachine, container: Dockerode.Container): Promise<void> {
    await container.start();
    record.machines[machine] = { diskLimited: false, ...record.machines[machine], containerId: container.id, state: "running", oom: false };
  }

  private async claimFromPool(requestedAt: number): Promise<EnvironmentInfo | undefined> {
    try {
      for (let id = this.pool.take(); id !== undefined; id = this.pool.take()) {
        const record = this.envs.get(id);
        if (!record) continue;
        try {
          if (record.status !== "running") throw new Error(`it is ${record.status}`);
          await this.withLock(record, () => this.renameToClaimed(record));
        } catch (error) {
          this.log(`claiming pool member ${id} failed, removing it: ${message(error)}`);
          void this.destroy(id).catch(() => undefined);
          continue;
        }
        record.pooled = false;
        record.lastActiveAt = Date.now();
        const attachableAt = now();
        record.timings = { requestedAt, attachableAt, createMs: attachableAt - requestedAt, fromPool: true };
        this.emit(record, "missing");
        return this.info(record);
      }
      return undefined;
    } finally {
      this.pool.refill();
    }
  }

  /** Labels can't change, so a claim is recorded in Docker by renaming the containers out of the pool namespace. */
  private async renameToClaimed(record: EnvRecord): Promise<void> {
    await Promise.all(
      ENVIRONMENT_MACHINES.map(async (machine) => {
        try {
          await this.docker.getContainer(poolContainerName(record.id, machine)).rename({ name: containerName(record.id, machine) });
        } catch (error) {
          if (statusCode(error) !== 404) throw error; // already renamed
        }
      }),
    );
  }

  /** Removes containers (by id or name) and networks, tolerating what is already gone. */
  private async removeObjects(containers: string[], networks: string[]): Promise<void> {
    // 409: removal already in progress (e.g. two destroys racing) — the object goes away either way.
    await Promise.all(containers.map((c) => tolerate(this.docker.getContainer(c).remove({ force: true, v: true }), [404, 409])));
    await Promise.all(networks.map((n) => tolerate(this.docker.getNetwork(n).remove(), [404])));
  }

  // ---------------------------------------------------------------- internals: state

  private info(record: EnvRecord): EnvironmentInfo {
    return {
      id: record.id,
      status: record.status,
      params: record.params,
      labels: { ...record.extra },
      createdAt: record.createdAt,
      lastActiveAt: record.lastActiveAt,
      timings: { ...record.timings },
      ...(record.error ? { error: record.error } : {}),
      ...(record.notice ? { notice: record.notice } : {}),
    };
  }

  private setMachine(record: EnvRecord, machine: EnvironmentMachine, state: MachineState["state"]): void {
    const current = record.machines[machine];
    if (current) current.state = state;
  }

  private setStatus(record: EnvRecord, status: EnvironmentStatus, error?: string): void {
    const previous = record.status;
    record.status = status;
    if (status !== "running") record.ready = false;
    record.error = status === "error" ? error : undefined;
    if (previous !== status) this.emit(record, previous);
  }

  private emit(record: EnvRecord, previous: EnvironmentStatus): void {
    if (record.pooled) return; // nobody is interested in pool members' states
    const change: StatusChange = { id: record.id, status: this.envs.get(record.id) === record ? record.status : "missing", previous, ...(record.notice ? { notice: record.notice } : {}) };
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (error) {
        this.log(`status listener failed: ${message(error)}`);
      }
    }
  }

  private operate(id: string, fn: (record: EnvRecord) => Promise<void>): Promise<void> {
    const record = this.envs.get(id);
    if (!record || record.pooled) return Promise.reject(new EnvironmentError(`no environment ${id}`, "not-found"));
    return this.withLock(record, async () => {
      if (this.envs.get(id) !== record) throw new EnvironmentError(`environment ${id} was destroyed`, "not-found");
      await fn(record);
    });
  }

  private async withLock<T>(record: EnvRecord, fn: () => Promise<T>): Promise<T> {
    const previous = record.lock;
    let release!: () => void;
    record.lock = new Promise((resolve) => (release = resolve));
    await previous;
    record.busy++;
    try {
      return await fn();
    } finally {
      record.busy--;
      release();
    }
  }

  /** Docker told us a container changed outside our own operations (OOM, operator, engine restart). */
  private onContainerEvent(event: ContainerEvent): void {
    const id = event.attributes[LABEL_ENVIRONMENT];
    const machine = event.attributes[LABEL_MACHINE] as EnvironmentMachine | undefined;
    const record = id ? this.envs.get(id) : undefined;
    if (!record || !machine || record.busy > 0) return;
    const current = record.machines[machine];
    if (!current || current.containerId !== event.containerId) return; // an old container (reset) or a stranger
    const before = { notice: record.notice, status: record.status };
    if (event.action === "oom") {
      current.oom = true; // "die" follows
      return;
    }
    if (event.action === "die" || event.action === "stop") {
      // Running in our books: nobody here stopped it (our own stops mark it stopped before the event comes).
      if (current.state === "running" && event.action === "die" && !record.pooled) {
        const exitCode = Number(event.attributes.exitCode);
        record.notice = { kind: "machine-exited", at: Date.now(), machine, exitCode: Number.isFinite(exitCode) ? exitCode : null, oom: Boolean(current.oom) };
        this.log(`${id}: ${machine} exited (${event.attributes.exitCode ?? "?"}${current.oom ? ", out of memory" : ""}) outside maillab`);
      }
      current.state = "stopped";
      record.ready = false;
      this.channels.get(`${id}/${machine}`)?.close();
      this.channels.delete(`${id}/${machine}`);
    }
    else if (event.action === "start") {
      current.state = "running";
      current.oom = false;
    }
    else if (event.action === "destroy") {
      current.state = "missing";
      if (!record.pooled) {
        record.notice = { kind: "machine-removed", at: Date.now(), machine };
        this.log(`${id}: ${machine}'s container was removed outside maillab`);
      }
    }
    else return;
    this.updateStatusFromMachines(record);
    if (record.notice !== before.notice && record.status === before.status) this.emit(record, before.status);
  }

  private updateStatusFromMachines(record: EnvRecord): void {
    // Machines never created (the probe of an adopted older environment, until it is added) don't count.
    const states = ENVIRONMENT_MACHINES.filter((m) => record.machines[m]).map((m) => record.machines[m]!.state);
    if (states.includes("missing")) {
      if (record.pooled) {
        this.pool.remove(record.id);
        void this.destroy(record.id).catch(() => undefined);
        return;
      }
      this.setStatus(record, "error", "a machine's container was removed outside maillab: reset the environment");
    } else if (states.every((s) => s === "running")) this.setStatus(record, "running");
    else this.setStatus(record, "stopped");
  }

  /** After the event stream broke: read the real container states again. */
  private async reconcile(): Promise<void> {
    try {
      const containers = await this.docker.listContainers({ all: true, filters: { label: this.ownLabelFilter() } });
      const byId = new Map(containers.map((c) => [c.Id, c]));
      for (const record of this.envs.values()) {
        if (record.busy > 0) continue;
        for (const machine of ENVIRONMENT_MACHINES) {
          const state = record.machines[machine];
          if (!state) continue;
          const container = byId.get(state.containerId);
          if (!container && state.state !== "missing" && !record.pooled) record.notice = { kind: "machine-removed", at: Date.now(), machine };
          state.state = !container ? "missing" : container.State === "running" ? "running" : "stopped";
        }
        this.updateStatusFromMachines(record);
      }
    } catch (error) {
      this.log(`reconcile failed: ${message(error)}`);
    }
  }

  /** What the disk watchdog looks at: running environments handed out, with no operation in progress. */
  private watchedEnvironments(): WatchedEnvironment[] {
    return [...this.envs.values()]
      .filter((r) => !r.pooled && r.busy === 0 && r.status === "running")
      .map((r) => ({
        id: r.id,
        machines: ENVIRONMENT_MACHINES.flatMap((m) => {
          const state = r.machines[m];
          return state ? [{ containerId: state.containerId, measureLayer: !state.diskLimited }] : [];
        }),
      }));
  }

  private async onDiskOver(id: string, usage: DiskUsage): Promise<void> {
    const record = this.envs.get(id);
    const limitBytes = this.options.disk?.limitBytes ?? 0;
    if (!record || record.pooled || record.busy > 0 || record.status !== "running") return;
    const earlier = record.notice?.kind === "disk-limit" ? record.notice : undefined;
    const cleaningUp = earlier?.resumedAt !== undefined && Date.now() - earlier.resumedAt < DISK_CLEANUP_GRACE_MS;
    if (cleaningUp && usedBytes(usage) <= earlier.usedBytes + DISK_CLEANUP_SLACK_BYTES) return;
    const mib = (n: number) => (n / 2 ** 20).toFixed(0);
    this.log(
      `stopping ${id}: its machines wrote ${mib(usedBytes(usage))} MiB (Docker's /etc/hosts, resolv.conf, hostname: ${mib(usage.dockerFilesBytes)} MiB), over its limit of ${mib(limitBytes)} MiB`,
    );
    record.notice = { kind: "disk-limit", at: Date.now(), usedBytes: usedBytes(usage), limitBytes };
    await this.stop(id).catch((error: unknown) => this.log(`stopping ${id} (disk limit) failed: ${message(error)}`));
  }

  /** Back under the limit (the learner deleted files, or a restart rewrote Docker's files): all clear. */
  private onDiskUnder(id: string): void {
    const record = this.envs.get(id);
    if (record?.notice?.kind !== "disk-limit" || record.status !== "running") return;
    record.notice = undefined;
    this.emit(record, record.status);
  }

  private async reap(): Promise<void> {
    const plan = planReap(
      [...this.envs.values()].map((r) => ({ id: r.id, status: r.status, lastActiveAt: r.lastActiveAt, pooled: r.pooled, busy: r.busy > 0 })),
      { idleStopMs: this.idleStopMs, ttlMs: this.ttlMs },
      Date.now(),
    );
    const mayReap = this.options.mayReap ?? (() => true);
    const jobs = [
      ...plan.destroy.filter((id) => mayReap(id, "destroy")).map((id) => () => {
        this.log(`destroying ${id}: no activity for ${Math.round(this.ttlMs / 60_000)} min`);
        return this.destroy(id).then(() => this.options.onReaped?.(id));
      }),
      ...plan.stop.filter((id) => mayReap(id, "stop")).map((id) => () => {
        this.log(`stopping idle ${id}`);
        return this.stop(id);
      }),
    ];
    // A whole class going idle at once: a few at a time, so learners' creates and checks stay fast.
    const worker = async () => {
      for (let job = jobs.shift(); job; job = jobs.shift()) await job().catch((error: unknown) => this.log(`reaper: ${message(error)}`));
    };
    await Promise.all(Array.from({ length: REAP_PARALLEL }, worker));
  }

  // ---------------------------------------------------------------- internals: create slots

  private async acquireCreateSlot(): Promise<void> {
    if (this.activeCreates < this.maxParallel) {
      this.activeCreates++;
      return;
    }
    await new Promise<void>((resolve) => this.createQueue.push(resolve)); // the slot is handed over, still counted
  }

  private releaseCreateSlot(): void {
    const next = this.createQueue.shift();
    if (next) return next();
    this.activeCreates--;
    if (this.activeCreates === 0) for (const resolve of this.quietWaiters.splice(0)) resolve();
  }

  private whenQuiet(): Promise<void> {
    if (this.activeCreates === 0) return Promise.resolve();
    return new Promise((resolve) => this.quietWaiters.push(resolve));
  }
}

// What both environment runtimes (./environments.ts: one engine; ./swarm-environments.ts: a Swarm) do the
// same way, whatever the machines run on: the environments in memory and their statuses and notices,
// one operation at a time per environment, the line of learner-facing creates, the warm pool and its
// claims, readiness, idle stop and TTL (docs/design.md §3 "Lifecycle"), and the disk watchdog's verdicts.
// A runtime supplies the Docker side: build, claim, exec, stop, destroy.
import type Dockerode from "dockerode";
import { ENVIRONMENT_MACHINES, environmentIdSchema, type EnvironmentMachine, type EnvironmentParams } from "@/lib/machines";
import { CheckChannel, type ScriptJob, type ScriptRun } from "./check-channel";
import { READY_FILE } from "./container-config";
import { describeEnforcement, type DiskEnforcement, type DiskLimitOptions, type DiskStatus } from "./disk-limits";
import { DiskWatchdog, usedBytes, type DiskUsage, type WatchedEnvironment } from "./disk-watchdog";
import { CreateSlots, EnvironmentError, message, now, statusCode, withLock, type Lockable } from "./env-support";
import type { CreateOptions, EnvironmentNotice, EnvironmentStatus, EnvironmentTimings, InitOptions, InitReport } from "./environments";
import { execInContainer, type ExecOptions, type ExecResult } from "./exec";
import { DEFAULT_SUBNET_POOL, setLabAddressPool } from "./host-firewall";
import { LABEL_ENVIRONMENT, LABEL_SCOPE, assertNoReservedLabels, scopeOf, type EnvironmentLabelInput } from "./labels";
import { generateEnvironmentId, generateParams } from "./params";
import { planReap, reapIntervalMs, startReaper } from "./reaper";
import { SubnetPool } from "./subnet-pool";
import { WarmPool } from "./warm-pool";

/** Default learner-facing creates at once: on 2 cores, 4 in parallel keep the engine busy while the first in line stay fast. */
const MAX_PARALLEL_CREATES = 4;
const DEFAULT_IDLE_STOP_MS = 30 * 60_000;
const DEFAULT_TTL_MS = 14 * 24 * 60 * 60_000;
/** Reaper stops/destroys at once: each docker stop waits for the services' shutdown (machine-spec stopTimeoutS). */
const REAP_PARALLEL = 4;
/** After a resume from a disk-limit stop, the time to find and delete the big files before the watchdog
 * stops the machines again... */
export const DISK_CLEANUP_GRACE_MS = 5 * 60_000;
/** ...provided they grow by no more than this meanwhile (logs, an editor's swap file), so a resume is
 * no way around the limit. */
const DISK_CLEANUP_SLACK_BYTES = 64 * 1024 * 1024;
/** waitReady default: the image's init starts syslog and Postfix in ~1-3 s; 60 s covers a loaded engine. */
const DEFAULT_READY_TIMEOUT_MS = 60_000;

/** A machine as a runtime keeps it: at least whether it runs. */
export interface BaseMachine {
  state: "running" | "stopped" | "missing";
  /** Docker said "oom" for it since it last started (its next "die" was the kernel's OOM kill). */
  oom?: boolean;
}

/**
 * What happened to the machines that their users should be told: every runtime's notices include
 * EnvironmentNotice's (disk-limit, machine-exited, machine-removed), which this module sets; Swarm mode
 * adds NodeNotice's.
 */
export type BaseNotice = EnvironmentNotice | { kind: string; at: number };

/** An EnvironmentNotice as the runtime's notice type (which includes it, see BaseNotice). */
function asNotice<N extends BaseNotice>(notice: EnvironmentNotice): N {
  return notice as unknown as N;
}

export interface BaseRecord<M extends BaseMachine, N extends BaseNotice> extends Lockable {
  id: string;
  params: EnvironmentParams;
  extra: Record<string, string>;
  createdAt: number;
  lastActiveAt: number;
  /** Born in the warm pool (its Docker objects carry maillab.pool=1). */
  bornInPool: boolean;
  /** Waiting unclaimed in the pool. */
  pooled: boolean;
  status: EnvironmentStatus;
  machines: Partial<Record<EnvironmentMachine, M>>;
  timings: EnvironmentTimings;
  error?: string;
  /** Every machine has reported ready since it last started: waitReady() needs no exec. */
  ready: boolean;
  notice?: N;
}

/** An environment as its runtime tells it (EnvironmentInfo, RuntimeEnvironmentInfo). */
export interface InfoOf<N> {
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
  /** What happened to the machines that their users should be told (see EnvironmentNotice, NodeNotice). */
  notice?: N;
}

export interface ChangeOf<N> {
  id: string;
  status: EnvironmentStatus;
  previous: EnvironmentStatus;
  notice?: N;
}

export interface BaseOptions {
  /** IPv4 pool the environments' /28 networks come from. Default 10.213.0.0/16. */
  subnetPool?: string;
  /** The manager guarding the hosts also tells isLabAddress() its pool (test managers opt out of both). */
  hostFirewall?: boolean;
  idleStopMs?: number;
  ttlMs?: number;
  mayReap?: (id: string, action: "stop" | "destroy") => boolean;
  onReaped?: (id: string) => void;
  /**
   * A warm-pool member is ready to be handed out (built, or adopted at start-up), or gone without
   * being handed out (trimmed, broken). The app starts the members' shells ahead of time
   * (server/terminals prestart), so a learner who gets one finds prompts waiting.
   */
  onPoolMember?: (id: string, event: "ready" | "gone") => void;
  labels?: Record<string, string>;
  maxParallelCreates?: number;
  /** Disk limit per environment (./disk-limits.ts); none when absent. The watchdog's intervals are for tests. */
  disk?: DiskLimitOptions & { tickMs?: number; layerIntervalMinMs?: number; layerDutyFactor?: number };
  log?: (line: string) => void;
}

export interface BuildRequest {
  pool: boolean;
  extra: Record<string, string>;
  requestedAt?: number;
  id?: string;
  /** With its subnet already taken from the pool. */
  params?: EnvironmentParams;
}

export abstract class EnvironmentBase<M extends BaseMachine, N extends BaseNotice, R extends BaseRecord<M, N>> {
  protected readonly envs = new Map<string, R>();
  protected readonly listeners = new Set<(change: ChangeOf<N>) => void>();
  protected readonly pool: WarmPool;
  protected readonly slots: CreateSlots;
  protected readonly idleStopMs: number;
  protected readonly ttlMs: number;
  protected readonly log: (line: string) => void;
  protected readonly scope: string;
  protected readonly subnetPool: string;
  protected readonly subnets: SubnetPool;
  /** Check channels by `<id>/<machine>` (./check-channel.ts), opened on first use. */
  protected readonly channels = new Map<string, CheckChannel>();
  /** Engine round trips for commands: one-shot execs and channel opens (the bench reports them). */
  protected readonly counters = { execs: 0, channelOpens: 0, scripts: 0 };
  protected disposed = false;
  private reaper: { stop(): void } | undefined;
  private disk: Promise<DiskEnforcement> | undefined;
  private diskOutcome: DiskStatus | undefined;
  private watchdog: DiskWatchdog | undefined;

  constructor(private readonly base: BaseOptions) {
    this.subnetPool = base.subnetPool ?? DEFAULT_SUBNET_POOL;
    this.subnets = new SubnetPool(this.subnetPool);
    if (base.hostFirewall !== false) setLabAddressPool(this.subnetPool);
    this.idleStopMs = base.idleStopMs ?? DEFAULT_IDLE_STOP_MS;
    this.ttlMs = base.ttlMs ?? DEFAULT_TTL_MS;
    this.slots = new CreateSlots(base.maxParallelCreates ?? MAX_PARALLEL_CREATES);
    this.log = base.log ?? ((line) => console.log(`[environments] ${line}`));
    if (base.labels) assertNoReservedLabels(base.labels);
    this.scope = scopeOf(base.labels);
    this.pool = new WarmPool({
      createMember: async () => {
        await this.init(); // subnets seeded and adoption done before the first member
        const { id } = await this.build({ pool: true, extra: {} });
        this.notifyPoolMember(id, "ready");
        return id;
      },
      destroyMember: (id) => this.destroy(id),
      whenQuiet: () => this.slots.whenQuiet(),
      log: this.log,
    });
  }

  abstract init(options?: InitOptions): Promise<InitReport>;

  /** Adds an adopted, running pool member to the pool and says so. */
  protected adoptPoolMember(id: string): void {
    this.pool.add(id);
    this.notifyPoolMember(id, "ready");
  }

  private notifyPoolMember(id: string, event: "ready" | "gone"): void {
    try {
      this.base.onPoolMember?.(id, event);
    } catch (error) {
      this.log(`pool member listener failed: ${message(error)}`);
    }
  }
  abstract stop(id: string): Promise<void>;
  /** Creates a new environment's Docker objects and starts its machines (the record is locked meanwhile). */
  protected abstract createEnvironment(record: R, pool: boolean): Promise<void>;
  /** Removes what a failed build may have left. */
  protected abstract removeFailedBuild(record: R, pool: boolean): Promise<void>;
  /** Records in Docker that a pool member was handed out. */
  protected abstract markClaimed(record: R): Promise<void>;
  /** How a hard disk limit can be had here, or the watchdog (the limit is configured, > 0). */
  protected abstract findDiskEnforcement(options: DiskLimitOptions): Promise<DiskEnforcement>;
  /** The engine the disk watchdog asks for a container's size (./disk-watchdog.ts). */
  protected abstract watchdogEngine(): Dockerode;
  /** What the disk watchdog looks at: running environments handed out, with no operation in progress. */
  protected abstract watchedEnvironments(): WatchedEnvironment[];
  /** Reset: the machines removed and made anew, for the same environment (its network kept or made again). */
  protected abstract replaceMachines(record: R): Promise<void>;
  /** A rebuild's params in the subnet it got (its own, or another when that was taken meanwhile). */
  protected abstract placeParams(params: EnvironmentParams, subnet: string): EnvironmentParams;
  /** The Docker objects of an environment this manager has. */
  protected abstract removeEnvironment(record: R): Promise<void>;
  /** The Docker objects of an environment it does not have, by their names (a destroy must be idempotent). */
  protected abstract removeByName(id: string): Promise<void>;
  /** Where a machine's commands and check channel exec (its engine; its container, asked at each use), if anywhere. */
  protected abstract machineTarget(record: R, machine: EnvironmentMachine): { docker: Dockerode; container: () => string } | undefined;

  /** Stops timers, event watches and the pool; the environments stay as they are (adopted at the next start). */
  dispose(): void {
    this.disposed = true;
    for (const channel of this.channels.values()) channel.close();
    this.channels.clear();
    this.reaper?.stop();
    this.watchdog?.stop();
    this.pool.dispose();
    this.listeners.clear();
  }

  /** Idle stop and TTL from now on (./reaper.ts), once adoption is done. */
  protected startReaping(): void {
    this.reaper = startReaper(() => this.reap(), reapIntervalMs({ idleStopMs: this.idleStopMs, ttlMs: this.ttlMs }));
  }

  /** Every subnet the engine (or the Swarm) uses, ours or not, is off limits. */
  protected markSubnetsUsed(networks: ReadonlyArray<{ IPAM?: { Config?: Array<{ Subnet?: string }> } }>): void {
    for (const network of networks) for (const config of network.IPAM?.Config ?? []) if (config.Subnet) this.subnets.markUsed(config.Subnet);
  }

  /** Docker filter for this manager's containers (see LABEL_SCOPE). */
  protected ownLabelFilter(): string[] {
    return [LABEL_ENVIRONMENT, `${LABEL_SCOPE}=${this.scope}`];
  }

  // ---------------------------------------------------------------- disk

  /**
   * How this manager limits each environment's disk (./disk-limits.ts), found once (the engine needs
   * the lab images for it: the app asks when they are ready, and every create waits for it); starts the
   * disk watchdog. Rejects when the limit cannot be had as configured (creates fail with the reason).
   */
  diskEnforcement(): Promise<DiskEnforcement> {
    const options = this.base.disk;
    if (!options || options.limitBytes <= 0) {
      this.diskOutcome = { kind: "none", limitBytes: 0, reason: "no limit configured (MAILLAB_DISK_LIMIT_MB=0)" };
      return Promise.resolve({ kind: "none", limitBytes: 0, reason: this.diskOutcome.reason! });
    }
    this.disk ??= this.findDiskEnforcement(options).then(
      (enforcement) => {
        this.log(describeEnforcement(enforcement));
        this.diskOutcome = { kind: enforcement.kind, limitBytes: enforcement.limitBytes, reason: enforcement.reason };
        if (!this.disposed && !this.watchdog) {
          this.watchdog = new DiskWatchdog({
            docker: this.watchdogEngine(),
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

  // ---------------------------------------------------------------- queries

  get(id: string): InfoOf<N> | undefined {
    const record = this.envs.get(id);
    return record && !record.pooled ? this.info(record) : undefined;
  }

  /** Every environment handed out (warm-pool members waiting to be claimed are not listed). */
  list(): InfoOf<N>[] {
    return [...this.envs.values()].filter((r) => !r.pooled).map((r) => this.info(r));
  }

  status(id: string): EnvironmentStatus {
    const record = this.envs.get(id);
    return record && !record.pooled ? record.status : "missing";
  }

  /** What happened to the environment's machines that its users should be told, if anything. */
  notice(id: string): N | undefined {
    const record = this.envs.get(id);
    return record && !record.pooled ? record.notice : undefined;
  }

  /** Marks activity: resets the idle-stop and TTL clocks. */
  touch(id: string): void {
    const record = this.envs.get(id);
    if (record) record.lastActiveAt = Date.now();
  }

  onChange(listener: (change: ChangeOf<N>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Learner-facing creates in progress and in line (a class joining without pre-warm). */
  createQueue(): { running: number; waiting: number } {
    return this.slots.status();
  }

  poolStatus(): { ready: number; target: number } {
    const { ready, target } = this.pool.status();
    return { ready, target };
  }

  /**
   * Keeps `n` ready environments in the warm pool (built one at a time in the background).
   * `trim: false` keeps members above the new target (one is about to be claimed).
   */
  fillPool(n: number, options?: { trim?: boolean }): void {
    this.pool.setTarget(n, options);
  }

  /** Resolves when the pool has reached its target (benchmarks, tests, pre-warming before class). */
  poolSettled(): Promise<void> {
    return this.pool.settled();
  }

  // ---------------------------------------------------------------- lifecycle

  /** A new environment, running and attachable; from the warm pool when one is ready. */
  async create(options: CreateOptions = {}): Promise<InfoOf<N>> {
    const requestedAt = now();
    await this.init();
    const extra = options.labels ?? {};
    assertNoReservedLabels(extra);
    if (options.usePool !== false && Object.keys(extra).length === 0) {
      const claimed = await this.claimFromPool(requestedAt);
      if (claimed) return claimed;
    }
    await this.slots.acquire();
    try {
      return this.info(await this.build({ pool: false, extra, requestedAt }));
    } finally {
      this.slots.release();
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
    const target = record.machines[machine]?.state === "running" ? this.machineTarget(record, machine) : undefined;
    if (!target) throw new EnvironmentError(`environment ${id} is ${record.status}: ${machine} is not running`, "not-running");
    this.counters.execs++;
    try {
      return await execInContainer(target.docker, target.docker.getContainer(target.container()), cmd, options);
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
    const target = record && record.machines[machine]?.state === "running" ? this.machineTarget(record, machine) : undefined;
    if (!target) return { exitCode: -1, output: `maillab: ${machine} is not running\n`, durationMs: 0, timedOut: false };
    const key = `${id}/${machine}`;
    let channel = this.channels.get(key);
    if (!channel) {
      channel = new CheckChannel(target.docker, target.container, this.log, () => this.counters.channelOpens++);
      this.channels.set(key, channel);
    }
    this.counters.scripts++;
    return channel.run(job);
  }

  /** Engine round trips so far: one-shot execs, channel opens, and scripts run over channels. */
  commandStats(): { execs: number; channelOpens: number; scripts: number } {
    return { ...this.counters };
  }

  /**
   * Fresh machines with the same id, params and network: the learner's task text stays valid (in
   * Swarm mode the addresses are the new machines'). An environment whose Docker objects are all gone
   * (engine wiped, removed by hand) is rebuilt when the caller still has its `params` (e.g. from the
   * database); if its subnet has been taken in the meantime it gets another one (domain, users and
   * passwords stay). Resolves with the environment.
   */
  async reset(id: string, { params }: { params?: EnvironmentParams } = {}): Promise<InfoOf<N>> {
    if (!this.envs.has(id) && params) {
      const rebuilt = await this.rebuild(id, params);
      if (rebuilt) return rebuilt;
    }
    await this.operate(id, async (record) => {
      this.closeChannels(id);
      this.setStatus(record, "creating");
      try {
        await this.replaceMachines(record);
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

  /** Removes the environment's Docker objects. Unknown ids are removed by name too (idempotent). */
  async destroy(id: string): Promise<void> {
    const record = this.envs.get(id);
    if (!record) return this.removeByName(id);
    await withLock(record, async () => {
      if (this.envs.get(id) !== record) return;
      this.pool.remove(id);
      if (record.pooled) this.notifyPoolMember(id, "gone");
      this.closeChannels(id);
      await this.removeEnvironment(record);
      this.subnets.release(record.params.subnet);
      this.envs.delete(id);
      this.setStatus(record, "missing");
    });
  }

  // ---------------------------------------------------------------- internals

  protected closeChannel(id: string, machine: EnvironmentMachine): void {
    this.channels.get(`${id}/${machine}`)?.close();
    this.channels.delete(`${id}/${machine}`);
  }

  protected closeChannels(id: string): void {
    for (const machine of ENVIRONMENT_MACHINES) this.closeChannel(id, machine);
  }

  /** Reset of an environment this manager does not have (see reset); undefined when it has it after all. */
  private async rebuild(id: string, params: EnvironmentParams): Promise<InfoOf<N> | undefined> {
    if (!environmentIdSchema.safeParse(id).success) throw new EnvironmentError(`not an environment id: ${id}`, "not-found");
    await this.init();
    await this.slots.acquire();
    try {
      // Checked again after the waits: a concurrent rebuild of the same id must not build twice.
      if (this.envs.has(id)) return undefined;
      const subnet = this.subnets.take(params.subnet) ? params.subnet : this.subnets.allocate();
      return this.info(await this.build({ pool: false, extra: {}, id, params: this.placeParams(params, subnet) }));
    } finally {
      this.slots.release();
    }
  }

  /**
   * A machine changed outside the manager's own operations (OOM, an operator, the engine): its state,
   * and the notice its users get. False for an action that changes nothing (yet: "oom" comes before "die").
   */
  protected applyMachineEvent(record: R, machine: EnvironmentMachine, current: M, action: string, attributes: Record<string, string>): boolean {
    if (action === "oom") {
      current.oom = true; // "die" follows
      return false;
    }
    if (action === "die" || action === "stop") {
      // Running in our books: nobody here stopped it (our own stops mark it stopped before the event comes).
      if (current.state === "running" && action === "die" && !record.pooled) {
        const exitCode = Number(attributes.exitCode);
        record.notice = asNotice<N>({ kind: "machine-exited", at: Date.now(), machine, exitCode: Number.isFinite(exitCode) ? exitCode : null, oom: Boolean(current.oom) });
        this.log(`${record.id}: ${machine} exited (${attributes.exitCode ?? "?"}${current.oom ? ", out of memory" : ""}) outside maillab`);
      }
      current.state = "stopped";
      record.ready = false;
      this.closeChannel(record.id, machine);
    } else if (action === "start") {
      current.state = "running";
      current.oom = false;
    } else if (action === "destroy") {
      current.state = "missing";
      if (!record.pooled) {
        record.notice = asNotice<N>({ kind: "machine-removed", at: Date.now(), machine });
        this.log(`${record.id}: ${machine}'s container was removed outside maillab`);
      }
    } else return false;
    return true;
  }

  /** After a machine event: the environment's status from its machines, and its users told of a new notice. */
  protected settleMachineEvent(record: R, before: { notice?: N; status: EnvironmentStatus }): void {
    this.updateStatusFromMachines(record);
    if (record.notice !== before.notice && record.status === before.status) this.emit(record, before.status);
  }

  /** The environment's status from its machines' (`quiet`: without telling anyone, at adoption). */
  protected updateStatusFromMachines(record: R, { quiet = false }: { quiet?: boolean } = {}): void {
    // Machines never created (the probe of an adopted older environment, until it is added) don't count.
    const states = ENVIRONMENT_MACHINES.filter((m) => record.machines[m]).map((m) => record.machines[m]!.state);
    const set = (status: EnvironmentStatus, error?: string) => {
      if (!quiet) return this.setStatus(record, status, error);
      record.status = status;
      record.error = error;
    };
    if (states.includes("missing")) {
      if (record.pooled && !quiet) {
        this.pool.remove(record.id);
        void this.destroy(record.id).catch(() => undefined);
        return;
      }
      set("error", "a machine's container was removed outside maillab: reset the environment");
    } else if (states.every((s) => s === "running")) set("running");
    else set("stopped");
  }

  /** A new id and params unless given (rebuild). Cleans up after itself on failure. */
  protected async build({ pool, extra, requestedAt = now(), id = generateEnvironmentId(), params }: BuildRequest): Promise<R> {
    if (this.disposed) {
      if (params) this.subnets.release(params.subnet);
      throw new EnvironmentError("the environment manager is disposed", "failed");
    }
    const record = this.newRecord(id, params ?? generateParams(this.subnets.allocate()), { ...this.base.labels, ...extra }, Date.now(), pool, pool);
    record.timings.requestedAt = requestedAt;
    this.envs.set(id, record);
    if (!pool) this.emit(record, "missing");
    // Hold the record's lock while building: a stop/reset/destroy arriving meanwhile waits for it.
    let unlock!: () => void;
    record.lock = new Promise((resolve) => (unlock = resolve));
    record.busy++;
    try {
      await this.createEnvironment(record, pool);
      record.timings.attachableAt = now();
      record.timings.createMs = record.timings.attachableAt - requestedAt;
      this.setStatus(record, "running");
      return record;
    } catch (error) {
      this.log(`creating ${id} failed: ${message(error)}`);
      await this.removeFailedBuild(record, pool).catch(() => undefined);
      this.subnets.release(record.params.subnet);
      this.envs.delete(id);
      this.setStatus(record, "missing");
      throw new EnvironmentError(`creating an environment failed: ${message(error)}`, "failed");
    } finally {
      record.busy--;
      unlock();
    }
  }

  /** What labels.ts writes on the environment's Docker objects. */
  protected labelInput(record: R): EnvironmentLabelInput {
    return { id: record.id, scope: this.scope, params: record.params, createdAt: record.createdAt, pool: record.bornInPool, extra: record.extra };
  }

  protected newRecord(id: string, params: EnvironmentParams, extra: Record<string, string>, createdAt: number, bornInPool: boolean, pooled: boolean): R {
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
    } as unknown as R;
  }

  protected async claimFromPool(requestedAt: number): Promise<InfoOf<N> | undefined> {
    try {
      for (let id = this.pool.take(); id !== undefined; id = this.pool.take()) {
        const record = this.envs.get(id);
        if (!record) continue;
        try {
          if (record.status !== "running") throw new Error(`it is ${record.status}`);
          await withLock(record, () => this.markClaimed(record));
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

  protected info(record: R): InfoOf<N> {
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

  protected setStatus(record: R, status: EnvironmentStatus, error?: string): void {
    const previous = record.status;
    record.status = status;
    if (status !== "running") record.ready = false;
    record.error = status === "error" ? error : undefined;
    if (previous !== status) this.emit(record, previous);
  }

  protected emit(record: R, previous: EnvironmentStatus): void {
    if (record.pooled) return; // nobody is interested in pool members' states
    const change: ChangeOf<N> = { id: record.id, status: this.envs.get(record.id) === record ? record.status : "missing", previous, ...(record.notice ? { notice: record.notice } : {}) };
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (error) {
        this.log(`status listener failed: ${message(error)}`);
      }
    }
  }

  protected operate(id: string, fn: (record: R) => Promise<void>): Promise<void> {
    const record = this.envs.get(id);
    if (!record || record.pooled) return Promise.reject(new EnvironmentError(`no environment ${id}`, "not-found"));
    return withLock(record, async () => {
      if (this.envs.get(id) !== record) throw new EnvironmentError(`environment ${id} was destroyed`, "not-found");
      await fn(record);
    });
  }

  /** The disk watchdog found an environment over its limit: stop it, with a notice (docs/security.md "Disk"). */
  protected async onDiskOver(id: string, usage: DiskUsage): Promise<void> {
    const record = this.envs.get(id);
    const limitBytes = this.base.disk?.limitBytes ?? 0;
    if (!record || record.pooled || record.busy > 0 || record.status !== "running") return;
    const earlier = record.notice?.kind === "disk-limit" ? (record.notice as Extract<EnvironmentNotice, { kind: "disk-limit" }>) : undefined;
    const cleaningUp = earlier?.resumedAt !== undefined && Date.now() - earlier.resumedAt < DISK_CLEANUP_GRACE_MS;
    if (cleaningUp && usedBytes(usage) <= earlier.usedBytes + DISK_CLEANUP_SLACK_BYTES) return;
    const mib = (n: number) => (n / 2 ** 20).toFixed(0);
    this.log(
      `stopping ${id}: its machines wrote ${mib(usedBytes(usage))} MiB (Docker's /etc/hosts, resolv.conf, hostname: ${mib(usage.dockerFilesBytes)} MiB), over its limit of ${mib(limitBytes)} MiB`,
    );
    record.notice = asNotice<N>({ kind: "disk-limit", at: Date.now(), usedBytes: usedBytes(usage), limitBytes });
    await this.stop(id).catch((error: unknown) => this.log(`stopping ${id} (disk limit) failed: ${message(error)}`));
  }

  /** Back under the limit (the learner deleted files, or a restart rewrote Docker's files): all clear. */
  protected onDiskUnder(id: string): void {
    const record = this.envs.get(id);
    if (record?.notice?.kind !== "disk-limit" || record.status !== "running") return;
    record.notice = undefined;
    this.emit(record, record.status);
  }

  protected async reap(): Promise<void> {
    const plan = planReap(
      [...this.envs.values()].map((r) => ({ id: r.id, status: r.status, lastActiveAt: r.lastActiveAt, pooled: r.pooled, busy: r.busy > 0 })),
      { idleStopMs: this.idleStopMs, ttlMs: this.ttlMs },
      Date.now(),
    );
    const mayReap = this.base.mayReap ?? (() => true);
    const jobs = [
      ...plan.destroy.filter((id) => mayReap(id, "destroy")).map((id) => () => {
        this.log(`destroying ${id}: no activity for ${Math.round(this.ttlMs / 60_000)} min`);
        return this.destroy(id).then(() => this.base.onReaped?.(id));
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
}

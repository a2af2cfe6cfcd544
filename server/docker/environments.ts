// The environments of docs/design.md §3: per learner, one internal Docker network with its own /28 and
// two containers, `mail` and `partner`. This module owns their whole lifecycle (create, stop, resume,
// reset, destroy), adopts them again after an app restart (everything needed is in Docker labels),
// stops idle ones, destroys expired ones and keeps a warm pool.
//
// Speed (docs/design.md §7: create → attachable ≤ 0.8 s cold, ≤ 0.2 s warm): the network and both
// containers are created at once, then both containers started at once, with no inspect round trips
// on the way; a warm pool member is claimed by renaming its two containers (in parallel, ~30 ms).
import Dockerode from "dockerode";
import { ENVIRONMENT_MACHINES, type EnvironmentMachine, type EnvironmentParams } from "@/lib/machines";
import { classifyListing } from "./adoption";
import { buildContainerOptions, machineImage, stopTimeoutS } from "./container-config";
import { watchContainerEvents, type ContainerEvent } from "./docker-events";
import { detectDiskEnforcement, type DiskEnforcement, type DiskLimitOptions } from "./disk-limits";
import type { WatchedEnvironment } from "./disk-watchdog";
import { EnvironmentBase, type BaseMachine, type BaseRecord, type ChangeOf, type InfoOf } from "./environment-base";
import { EnvironmentError, message, settleAll, statusCode, tolerate } from "./env-support";
import { installHostFirewall, type HostFirewallResult } from "./host-firewall";
import {
  LABEL_DISK_LIMIT,
  LABEL_ENVIRONMENT,
  LABEL_MACHINE,
  LABEL_SCOPE,
  containerLabels,
  containerName,
  networkLabels,
  networkName,
  poolContainerName,
} from "./labels";
import { hostAddress } from "./subnet-pool";

export { EnvironmentError } from "./env-support";

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

export type EnvironmentInfo = InfoOf<EnvironmentNotice>;

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

export type StatusChange = ChangeOf<EnvironmentNotice>;

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
  /** Learner-facing creates running at once; more wait in line (see MAX_PARALLEL_CREATES in ./environment-base.ts). */
  maxParallelCreates?: number;
  /** Disk limit per environment (./disk-limits.ts); none when absent. The watchdog's intervals are for tests. */
  disk?: DiskLimitOptions & { tickMs?: number; layerIntervalMinMs?: number; layerDutyFactor?: number };
  /** OCI runtime of the machines: "default" (the engine's), or a runtime the engine lists (else creating fails with a clear error). */
  ociRuntime?: string;
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

/** Docker answers "Pool overlaps" when a subnet is taken by a network we did not see; try this many others. */
const SUBNET_ATTEMPTS = 8;

interface MachineState extends BaseMachine {
  containerId: string;
  /** Created with a hard disk limit: the watchdog need not measure its writable layer. */
  diskLimited: boolean;
}

/** Born in the warm pool: its Docker objects carry maillab.pool=1; waiting unclaimed: its containers still have pool names. */
type EnvRecord = BaseRecord<MachineState, EnvironmentNotice>;

export class EnvironmentManager extends EnvironmentBase<MachineState, EnvironmentNotice, EnvRecord> {
  readonly docker: Dockerode;
  private initPromise: Promise<InitReport> | undefined;
  private runtimeChoice: Promise<string | undefined> | undefined;
  private events: ReturnType<typeof watchContainerEvents> | undefined;

  constructor(private readonly options: EnvironmentManagerOptions = {}) {
    super(options);
    this.docker = new Dockerode(options.dockerOptions);
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
      if (found.pooled) this.adoptPoolMember(found.id);
      // A crash between the two renames of a claim: finish it, so containerName() is right for both.
      if (found.halfClaimed) removals.push(this.markClaimed(record).catch((e) => this.log(`finishing claim of ${found.id}: ${message(e)}`)));
    }
    const adopted = adopt.filter((e) => !e.pooled).map((e) => e.id);
    const removed = remove.map((e) => e.id);
    await Promise.all(removals);

    this.startReaping();
    this.pool.setTarget(this.options.poolSize ?? 0, { trim: false });
    if (adopted.length || removed.length) this.log(`adopted ${adopted.length}, removed ${removed.length}, pool ${this.pool.status().ready}`);
    return { adopted, removed, pool: this.pool.status().ready, firewall: await firewall };
  }

  /** Every subnet Docker uses, ours or not, is off limits. Returns the listing. */
  private async markEngineSubnetsUsed(): Promise<Dockerode.NetworkInspectInfo[]> {
    const networks = await this.docker.listNetworks();
    this.markSubnetsUsed(networks);
    return networks;
  }

  /** Stops timers, the event watch and the pool; environments stay as they are (adopted at next start). */
  override dispose(): void {
    super.dispose();
    this.events?.close();
  }

  // ---------------------------------------------------------------- queries

  /** A hard limit where a probe container shows the engine enforces one, else the watchdog (./disk-limits.ts). */
  protected findDiskEnforcement(options: DiskLimitOptions): Promise<DiskEnforcement> {
    return detectDiskEnforcement(this.docker, {
      ...options,
      images: Object.fromEntries(ENVIRONMENT_MACHINES.map((m) => [m, this.options.images?.[m] ?? machineImage(m)])) as Record<EnvironmentMachine, string>,
      labels: { ...this.options.labels, [LABEL_SCOPE]: this.scope }, // the caller's labels: a test run removes its probes too
    });
  }

  protected watchdogEngine(): Dockerode {
    return this.docker;
  }

  /** Container name for `docker exec -it <name> …` (terminals). */
  containerName(id: string, machine: EnvironmentMachine): string {
    return this.envs.get(id)?.pooled ? poolContainerName(id, machine) : containerName(id, machine);
  }

  // ---------------------------------------------------------------- lifecycle

  protected machineTarget(record: EnvRecord, machine: EnvironmentMachine): { docker: Dockerode; container: () => string } {
    // Asked at each open: a warm-pool member is renamed when it is claimed.
    return { docker: this.docker, container: () => this.containerName(record.id, machine) };
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

  // ---------------------------------------------------------------- internals: building

  /** Reset: fresh containers on the same network (made again, same subnet, if someone removed it). */
  protected async replaceMachines(record: EnvRecord): Promise<void> {
    await Promise.all(ENVIRONMENT_MACHINES.map((machine) => tolerate(this.docker.getContainer(this.containerName(record.id, machine)).remove({ force: true }), [404])));
    await this.ensureNetwork(record);
    await this.startMachines(record, false);
  }

  /** A rebuild in another subnet: mail and partner at their hosts of it. */
  protected placeParams(params: EnvironmentParams, subnet: string): EnvironmentParams {
    return { ...params, subnet, mailIp: hostAddress(subnet, 2), partnerIp: hostAddress(subnet, 3) };
  }

  protected async removeEnvironment(record: EnvRecord): Promise<void> {
    await this.removeObjects(ENVIRONMENT_MACHINES.map((m) => this.containerName(record.id, m)), [networkName(record.id)]);
  }

  protected async removeByName(id: string): Promise<void> {
    await this.removeObjects(ENVIRONMENT_MACHINES.flatMap((m) => [containerName(id, m), poolContainerName(id, m)]), [networkName(id)]);
  }

  /** Network, then both containers in parallel. */
  protected async createEnvironment(record: EnvRecord, pool: boolean): Promise<void> {
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
  }

  protected async removeFailedBuild(record: EnvRecord, pool: boolean): Promise<void> {
    await this.removeObjects(ENVIRONMENT_MACHINES.map((m) => (pool ? poolContainerName(record.id, m) : containerName(record.id, m))), [networkName(record.id)]);
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

  /** The runtime the machines run with (undefined: the engine's default); asked once. */
  private ociRuntime(): Promise<string | undefined> {
    this.runtimeChoice ??= chooseOciRuntime(this.docker, this.options.ociRuntime ?? "default").then(
      (runtime) => {
        this.log(`machines run with ${runtime ?? "the engine's default runtime"}`);
        return runtime;
      },
      (error: unknown) => {
        this.runtimeChoice = undefined; // the engine was not answering: ask again next time
        throw error;
      },
    );
    return this.runtimeChoice;
  }

  private async createMachine(record: EnvRecord, machine: EnvironmentMachine, pool: boolean): Promise<Dockerode.Container> {
    const [disk, runtime] = await Promise.all([this.diskEnforcement(), this.ociRuntime()]);
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
        runtime,
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

  /** Labels can't change, so a claim is recorded in Docker by renaming the containers out of the pool namespace. */
  protected async markClaimed(record: EnvRecord): Promise<void> {
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

  private setMachine(record: EnvRecord, machine: EnvironmentMachine, state: MachineState["state"]): void {
    const current = record.machines[machine];
    if (current) current.state = state;
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
    if (this.applyMachineEvent(record, machine, current, event.action, event.attributes)) this.settleMachineEvent(record, before);
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

  protected watchedEnvironments(): WatchedEnvironment[] {
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

}

/**
 * Resolves MAILLAB_OCI_RUNTIME against the engine's runtimes (`docker info`): a name must be one the
 * engine lists; undefined means the engine's default.
 */
export async function chooseOciRuntime(docker: Dockerode, wanted: string): Promise<string | undefined> {
  if (wanted === "default") return undefined;
  const info = (await docker.info()) as { Runtimes?: Record<string, unknown> };
  const available = Object.keys(info.Runtimes ?? {});
  if (!available.includes(wanted)) {
    throw new EnvironmentError(`MAILLAB_OCI_RUNTIME=${wanted}, but the engine offers only: ${available.join(", ") || "its default"}`, "failed");
  }
  return wanted;
}

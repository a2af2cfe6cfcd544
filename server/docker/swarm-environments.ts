// Swarm mode (MAILLAB_RUNTIME=swarm, docs/operations.md): the environments of docs/design.md §3 as Swarm
// objects — per learner an internal overlay network with its /28 from the subnet pool and one service
// per machine (./swarm-spec.ts). Swarm places the services on its lab nodes; maillab only reads where
// each task runs (node, container, address) and reaches the container through that node's Docker API
// (./swarm-cluster.ts): terminals, checks, readiness, idle stop. The lifecycle and its rules are those
// of ./environments.ts; what differs:
// - idle stop freezes the machines (`docker pause` on their node) instead of stopping them: a stopped
//   task is over for Swarm (it would give its address away and never start it again), a paused one
//   keeps running as far as Swarm knows, with its files, address and memory;
// - a machine that dies (killed, out of memory) is started again on its node by a resume, as the engine
//   does; Swarm never replaces it on its own (restart condition none: a fresh one would have lost the
//   learner's files);
// - a node that is drained or lost takes its machines with it: the learner is told (NodeNotice), and a
//   reset removes the services and creates them again, which Swarm places on the nodes that are left —
//   same domain, users, passwords and subnet; the addresses are the new tasks' (the params say which);
// - the warm pool's claim is a label on the services (a service's labels change without touching its
//   task), where the engine renames containers;
// - disk limits are the watchdog's (Swarm services have no StorageOpt), reading each container's size on
//   its node; the host firewall is installed on every node (./swarm-firewall.ts).
import type Dockerode from "dockerode";
import { ENVIRONMENT_MACHINES, environmentIdSchema, type EnvironmentMachine, type EnvironmentParams } from "@/lib/machines";
import { CheckChannel, type ScriptJob, type ScriptRun } from "./check-channel";
import { READY_FILE } from "./container-config";
import { watchContainerEvents, type ContainerEvent } from "./docker-events";
import { describeEnforcement, type DiskEnforcement, type DiskLimitOptions, type DiskStatus } from "./disk-limits";
import { DiskWatchdog, usedBytes, type DiskUsage, type WatchedEnvironment } from "./disk-watchdog";
import { CreateSlots, message, now, settleAll, sleep, statusCode, tolerate, withLock, type Lockable } from "./env-support";
import { EnvironmentError, type CreateOptions, type EnvironmentStatus, type EnvironmentTimings, type InitOptions, type InitReport } from "./environments";
import { execInContainer, type ExecOptions, type ExecResult } from "./exec";
import { DEFAULT_SUBNET_POOL, setLabAddressPool } from "./host-firewall";
import { LABEL_CLAIMED, LABEL_ENVIRONMENT, LABEL_MACHINE, LABEL_SCOPE, assertNoReservedLabels, containerLabels, containerName, networkLabels, networkName, scopeOf, type EnvironmentLabelInput } from "./labels";
import { generateEnvironmentId, generateParams } from "./params";
import { planReap, reapIntervalMs, startReaper } from "./reaper";
import { labImageRefs, toolsImageRef } from "./registry";
import type { EnvironmentRuntime, NodeHealth, RuntimeEnvironmentInfo, RuntimeHealth, RuntimeNotice, RuntimeStatusChange, TerminalTarget } from "./runtime";
import { classifySwarmListing, currentTasks, parseTasks, type TaskView } from "./swarm-adoption";
import { SwarmCluster, type SwarmNode, type SwarmOptions } from "./swarm-cluster";
import { ensureImageOnNode, installNodeFirewall } from "./swarm-firewall";
import { mailHosts, networkSpec, serviceSpec } from "./swarm-spec";
import { SubnetPool, hostAddress } from "./subnet-pool";
import { WarmPool } from "./warm-pool";

export interface SwarmManagerOptions {
  swarm: SwarmOptions;
  /** IPv4 pool of the overlay networks' /28s. Default 10.213.0.0/16. */
  subnetPool?: string;
  /** As in ./environments.ts: idle stop (here a freeze), TTL, warm pool, reaping, labels/scope. */
  idleStopMs?: number;
  ttlMs?: number;
  poolSize?: number;
  mayReap?: (id: string, action: "stop" | "destroy") => boolean;
  labels?: Record<string, string>;
  /** Install the host firewall on every node. Default true. */
  hostFirewall?: boolean;
  /** Image reference per machine, overriding the registry's (development). */
  images?: Partial<Record<EnvironmentMachine, string>>;
  commands?: Partial<Record<EnvironmentMachine, string[]>>;
  maxParallelCreates?: number;
  disk?: DiskLimitOptions & { tickMs?: number; layerIntervalMinMs?: number; layerDutyFactor?: number };
  log?: (line: string) => void;
  /** How often the node list is read (drained and lost nodes, new nodes). Default 5 s. */
  nodePollMs?: number;
  /** How long a machine may take to be placed and start (a node pulling the images). Default 180 s. */
  startTimeoutMs?: number;
}

/** A machine as a Swarm service and its current task. */
interface SwarmMachine {
  serviceId: string;
  taskId?: string;
  nodeId?: string;
  containerId?: string;
  /** Its address in the environment's network. */
  address?: string;
  state: "running" | "stopped" | "missing";
  /** Frozen by an idle stop (resume unpauses it); a stopped machine that is not paused has exited. */
  paused: boolean;
  oom?: boolean;
}

interface SwarmRecord extends Lockable {
  id: string;
  params: EnvironmentParams;
  extra: Record<string, string>;
  createdAt: number;
  lastActiveAt: number;
  bornInPool: boolean;
  pooled: boolean;
  status: EnvironmentStatus;
  machines: Partial<Record<EnvironmentMachine, SwarmMachine>>;
  timings: EnvironmentTimings;
  error?: string;
  ready: boolean;
  notice?: RuntimeNotice;
  networkId?: string;
}

const MAX_PARALLEL_CREATES = 4;
const SUBNET_ATTEMPTS = 8;
const DEFAULT_IDLE_STOP_MS = 30 * 60_000;
const DEFAULT_TTL_MS = 14 * 24 * 60 * 60_000;
const REAP_PARALLEL = 4;
const DEFAULT_READY_TIMEOUT_MS = 60_000;
const DISK_CLEANUP_GRACE_MS = 5 * 60_000;
const DISK_CLEANUP_SLACK_BYTES = 64 * 1024 * 1024;
/** Swarm's heartbeat marks a lost node down after ~15 s; reading the list every 5 s adds little to that. */
const DEFAULT_NODE_POLL_MS = 5_000;
/** A node that has not got the images yet pulls ~0.8 GB from the registry first. */
const DEFAULT_START_TIMEOUT_MS = 180_000;
/** Task states polled for while a machine is placed and started: every 100 ms costs the manager little. */
const TASK_POLL_MS = 100;
/** After a failed node preparation (firewall, images) try again this much later. */
const NODE_RETRY_MS = 60_000;
/** Removing a network waits for its services' tasks to go; a destroy gives up waiting after this. */
const NETWORK_REMOVE_MS = 30_000;
const TERMINAL_TASK_STATES = new Set(["complete", "shutdown", "failed", "rejected", "orphaned", "remove"]);

export class SwarmEnvironmentManager implements EnvironmentRuntime {
  readonly kind = "swarm" as const;
  readonly cluster: SwarmCluster;
  private readonly subnets: SubnetPool;
  private readonly subnetPool: string;
  private readonly envs = new Map<string, SwarmRecord>();
  private readonly listeners = new Set<(change: RuntimeStatusChange) => void>();
  private readonly channels = new Map<string, CheckChannel>();
  private readonly counters = { execs: 0, channelOpens: 0, scripts: 0 };
  private readonly pool: WarmPool;
  private readonly slots: CreateSlots;
  private readonly idleStopMs: number;
  private readonly ttlMs: number;
  private readonly log: (line: string) => void;
  private readonly scope: string;
  private initPromise: Promise<InitReport> | undefined;
  private reaper: { stop(): void } | undefined;
  private nodeTimer: NodeJS.Timeout | undefined;
  private nodeCheck: Promise<void> | undefined;
  /** Container event watches, one per node. */
  private readonly watches = new Map<string, ReturnType<typeof watchContainerEvents>>();
  /** Per node: firewall installed and images pulled (or when to try again). */
  private readonly prepared = new Map<string, { firewall: boolean; images: boolean; retryAt: number; running?: Promise<void> }>();
  private disk: Promise<DiskEnforcement> | undefined;
  private diskOutcome: DiskStatus | undefined;
  private watchdog: DiskWatchdog | undefined;
  private disposed = false;

  constructor(private readonly options: SwarmManagerOptions) {
    this.cluster = new SwarmCluster(options.swarm);
    this.subnetPool = options.subnetPool ?? DEFAULT_SUBNET_POOL;
    this.subnets = new SubnetPool(this.subnetPool);
    if (options.hostFirewall !== false) setLabAddressPool(this.subnetPool);
    this.idleStopMs = options.idleStopMs ?? DEFAULT_IDLE_STOP_MS;
    this.ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
    this.slots = new CreateSlots(options.maxParallelCreates ?? MAX_PARALLEL_CREATES);
    this.log = options.log ?? ((line) => console.log(`[environments] ${line}`));
    if (options.labels) assertNoReservedLabels(options.labels);
    this.scope = scopeOf(options.labels);
    this.pool = new WarmPool({
      createMember: async () => {
        await this.init();
        return (await this.build({ pool: true, extra: {} })).id;
      },
      destroyMember: (id) => this.destroy(id),
      whenQuiet: () => this.slots.whenQuiet(),
      log: this.log,
    });
  }

  // ---------------------------------------------------------------- start-up

  /** Adopts this scope's environments, removes leftovers, then follows the nodes. Idempotent. */
  init(options: InitOptions = {}): Promise<InitReport> {
    this.initPromise ??= this.adopt(options).catch((error: unknown) => {
      this.initPromise = undefined; // the manager not answering yet: the next call tries again
      throw error;
    });
    return this.initPromise;
  }

  private async adopt({ isKnown }: InitOptions): Promise<InitReport> {
    const nodes = await this.cluster.refreshNodes();
    for (const node of nodes) this.followNode(node);
    const [networks, services] = await Promise.all([
      this.markSwarmSubnetsUsed(),
      this.cluster.manager.listServices({ filters: { label: [LABEL_ENVIRONMENT, `${LABEL_SCOPE}=${this.scope}`] } }),
    ]);
    const rawTasks = services.length ? await this.cluster.manager.listTasks({ filters: { service: services.map((s) => s.ID) } }) : [];
    const networkOfService = new Map<string, string>();
    for (const service of services) {
      const target = service.Spec?.TaskTemplate?.Networks?.[0]?.Target;
      if (target) networkOfService.set(service.ID, target);
    }
    const tasks = currentTasks(parseTasks(rawTasks, (serviceId) => networkOfService.get(serviceId)));
    const { adopt, remove } = classifySwarmListing(
      networks.map((n) => ({ Id: n.Id, Labels: n.Labels })),
      services,
      tasks,
      { scope: this.scope, isKnown },
    );
    const removals: Promise<unknown>[] = remove.map((leftover) => {
      this.log(`removing ${leftover.reason} environment ${leftover.id}`);
      return this.removeObjects(leftover.serviceIds, leftover.networkIds);
    });
    const containerStates = await this.listContainerStates();
    for (const found of adopt) {
      const record = this.newRecord(found.id, found.params, found.extra, found.createdAt, found.bornInPool, found.pooled);
      record.networkId = found.networkId;
      for (const machine of ENVIRONMENT_MACHINES) {
        const { serviceId, task } = found.machines[machine];
        const container = task?.containerId ? containerStates.get(task.containerId) : undefined;
        record.machines[machine] = {
          serviceId,
          ...this.taskPlacement(task),
          state: container === "running" ? "running" : container === "paused" || container === "exited" || container === "created" ? "stopped" : "missing",
          paused: container === "paused",
        };
      }
      this.applyAddresses(record);
      record.timings.fromPool = found.bornInPool;
      this.envs.set(found.id, record);
      this.updateStatusFromMachines(record, { quiet: true });
      this.noticeNodeProblems(record);
      if (found.pooled && record.status === "running") this.pool.add(found.id);
      else if (found.pooled) removals.push(this.destroy(found.id).catch(() => undefined));
      if (found.halfClaimed) removals.push(this.markClaimed(record).catch((e: unknown) => this.log(`finishing claim of ${found.id}: ${message(e)}`)));
    }
    await Promise.all(removals);
    const adopted = adopt.filter((e) => !e.pooled).map((e) => e.id);
    this.reaper = startReaper(() => this.reap(), reapIntervalMs({ idleStopMs: this.idleStopMs, ttlMs: this.ttlMs }));
    this.nodeTimer = setInterval(() => void this.checkNodes(), this.options.nodePollMs ?? DEFAULT_NODE_POLL_MS);
    this.nodeTimer.unref();
    this.pool.setTarget(this.options.poolSize ?? 0, { trim: false });
    if (adopted.length || remove.length) this.log(`adopted ${adopted.length}, removed ${remove.length}, pool ${this.pool.status().ready}`);
    return { adopted, removed: remove.map((e) => e.id), pool: this.pool.status().ready, firewall: null };
  }

  /** Every subnet the Swarm (or the manager's engine) uses is off limits. */
  private async markSwarmSubnetsUsed(): Promise<Dockerode.NetworkInspectInfo[]> {
    const networks = await this.cluster.manager.listNetworks();
    for (const network of networks) for (const config of network.IPAM?.Config ?? []) if (config.Subnet) this.subnets.markUsed(config.Subnet);
    return networks.filter((n) => n.Labels?.[LABEL_ENVIRONMENT]);
  }

  /** State of this scope's containers on every ready node (nodes that do not answer are left out). */
  private async listContainerStates(nodeIds?: string[]): Promise<Map<string, string>> {
    const states = new Map<string, string>();
    const nodes = this.cluster.listedNodes().filter((n) => n.state === "ready" && (!nodeIds || nodeIds.includes(n.id)));
    await Promise.all(
      nodes.map(async (node) => {
        try {
          const containers = await this.cluster.nodeEngine(node.id).listContainers({ all: true, filters: { label: this.ownLabelFilter() } });
          for (const c of containers) states.set(c.Id, c.State);
        } catch (error) {
          this.log(`node ${node.hostname}: listing containers failed: ${message(error)}`);
        }
      }),
    );
    return states;
  }

  private ownLabelFilter(): string[] {
    return [LABEL_ENVIRONMENT, `${LABEL_SCOPE}=${this.scope}`];
  }

  /** Stops timers, event watches and the pool; the Swarm objects stay (adopted at the next start). */
  dispose(): void {
    this.disposed = true;
    for (const channel of this.channels.values()) channel.close();
    this.channels.clear();
    this.reaper?.stop();
    clearInterval(this.nodeTimer);
    for (const watch of this.watches.values()) watch.close();
    this.watches.clear();
    this.watchdog?.stop();
    this.pool.dispose();
    this.listeners.clear();
  }

  // ---------------------------------------------------------------- nodes

  /** Follows a node's container events and prepares it (firewall, images) once it is ready. */
  private followNode(node: SwarmNode): void {
    if (this.disposed || node.state !== "ready" || !node.address) return;
    if (!this.watches.has(node.id)) {
      this.watches.set(
        node.id,
        watchContainerEvents(this.cluster.nodeEngine(node.id), (event) => this.onContainerEvent(node.id, event), {
          onReconnect: () => void this.reconcile([node.id]),
          log: (line) => this.log(`node ${node.hostname}: ${line}`),
        }),
      );
    }
    void this.prepareNode(node);
  }

  /** The host firewall and, on lab nodes, the lab images ahead of the first environment there. */
  private prepareNode(node: SwarmNode): Promise<void> {
    const state = this.prepared.get(node.id) ?? { firewall: false, images: false, retryAt: 0 };
    this.prepared.set(node.id, state);
    const wantsImages = node.lab && node.availability === "active";
    const firewallWanted = this.options.hostFirewall !== false;
    if (state.running || Date.now() < state.retryAt || ((state.firewall || !firewallWanted) && (state.images || !wantsImages))) return state.running ?? Promise.resolve();
    const docker = this.cluster.nodeEngine(node.id);
    state.running = (async () => {
      let failed = false;
      if (firewallWanted && !state.firewall) {
        const result = await installNodeFirewall(docker, toolsImageRef(this.options.swarm.registry), this.subnetPool, { [LABEL_SCOPE]: this.scope });
        state.firewall = result.installed;
        failed ||= !result.installed;
        this.log(`node ${node.hostname}: host firewall ${result.installed ? "installed" : "NOT installed"} (${result.detail})`);
      }
      if (wantsImages && !state.images) {
        try {
          for (const image of new Set(ENVIRONMENT_MACHINES.map((m) => this.image(m)))) await ensureImageOnNode(docker, image);
          state.images = true;
        } catch (error) {
          failed = true;
          this.log(`node ${node.hostname}: pulling the lab images failed: ${message(error)}`);
        }
      }
      if (failed) state.retryAt = Date.now() + NODE_RETRY_MS;
    })().finally(() => (state.running = undefined));
    return state.running;
  }

  /** Resolves when every ready node has been prepared (tests, benchmarks). */
  async nodesPrepared(): Promise<void> {
    await Promise.all(this.cluster.listedNodes().map((n) => this.prepared.get(n.id)?.running));
  }

  /** Reads the node list: new nodes are followed, drained and lost ones tell their environments. */
  private checkNodes(): Promise<void> {
    this.nodeCheck ??= (async () => {
      try {
        const nodes = await this.cluster.refreshNodes();
        for (const node of nodes) this.followNode(node);
        for (const [id, watch] of this.watches) {
          if (!nodes.some((n) => n.id === id && n.state === "ready")) {
            watch.close();
            this.watches.delete(id);
          }
        }
        for (const record of this.envs.values()) if (record.busy === 0) this.noticeNodeProblems(record);
      } catch (error) {
        this.log(`reading the Swarm's nodes failed: ${message(error)}`);
      }
    })().finally(() => (this.nodeCheck = undefined));
    return this.nodeCheck;
  }

  /** What is wrong with a node for the machines on it, if anything. */
  private nodeProblem(nodeId: string | undefined): { kind: "node-drained" | "node-lost"; node: string } | undefined {
    if (!nodeId) return undefined;
    const node = this.cluster.node(nodeId);
    if (!node) return { kind: "node-lost", node: nodeId.slice(0, 12) };
    if (node.state !== "ready") return { kind: "node-lost", node: node.hostname };
    if (node.availability === "drain") return { kind: "node-drained", node: node.hostname };
    return undefined;
  }

  /** Machines on a drained or lost node are gone for their learner: say so (a reset brings new ones). */
  private noticeNodeProblems(record: SwarmRecord): void {
    for (const machine of ENVIRONMENT_MACHINES) {
      const state = record.machines[machine];
      const problem = this.nodeProblem(state?.nodeId);
      if (!state || !problem) continue;
      if (record.pooled) {
        this.pool.remove(record.id);
        void this.destroy(record.id).catch(() => undefined);
        return;
      }
      const before = record.notice;
      if (before?.kind !== problem.kind) {
        record.notice = { kind: problem.kind, at: Date.now(), machine, node: problem.node };
        this.log(`${record.id}: ${machine} was on node ${problem.node}, which is ${problem.kind === "node-drained" ? "drained" : "lost"}: a reset brings it back elsewhere`);
      }
      state.state = "missing";
      this.closeChannel(record.id, machine);
      const previous = record.status;
      this.setStatus(record, "error", `node ${problem.node} is ${problem.kind === "node-drained" ? "drained" : "lost"}: reset the environment`);
      if (previous === "error" && before !== record.notice) this.emit(record, previous);
    }
  }

  // ---------------------------------------------------------------- queries

  get(id: string): RuntimeEnvironmentInfo | undefined {
    const record = this.envs.get(id);
    return record && !record.pooled ? this.info(record) : undefined;
  }

  list(): RuntimeEnvironmentInfo[] {
    return [...this.envs.values()].filter((r) => !r.pooled).map((r) => this.info(r));
  }

  status(id: string): EnvironmentStatus {
    const record = this.envs.get(id);
    return record && !record.pooled ? record.status : "missing";
  }

  notice(id: string): RuntimeNotice | undefined {
    const record = this.envs.get(id);
    return record && !record.pooled ? record.notice : undefined;
  }

  /** Where each machine runs (node hostname), for tests and the instructor's eyes. */
  placement(id: string): Partial<Record<EnvironmentMachine, { node: string; nodeId: string; container: string; address?: string }>> {
    const record = this.envs.get(id);
    const out: Partial<Record<EnvironmentMachine, { node: string; nodeId: string; container: string; address?: string }>> = {};
    for (const machine of ENVIRONMENT_MACHINES) {
      const m = record?.machines[machine];
      if (m?.nodeId && m.containerId) out[machine] = { node: this.cluster.node(m.nodeId)?.hostname ?? m.nodeId, nodeId: m.nodeId, container: m.containerId, ...(m.address ? { address: m.address } : {}) };
    }
    return out;
  }

  touch(id: string): void {
    const record = this.envs.get(id);
    if (record) record.lastActiveAt = Date.now();
  }

  onChange(listener: (change: RuntimeStatusChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  poolStatus(): { ready: number; target: number } {
    const { ready, target } = this.pool.status();
    return { ready, target };
  }

  fillPool(n: number): void {
    this.pool.setTarget(n);
  }

  poolSettled(): Promise<void> {
    return this.pool.settled();
  }

  commandStats(): { execs: number; channelOpens: number; scripts: number } {
    return { ...this.counters };
  }

  async terminalTarget(id: string, machine: EnvironmentMachine): Promise<TerminalTarget> {
    const m = this.envs.get(id)?.machines[machine];
    if (!m?.containerId || !m.nodeId || m.state === "missing") throw new EnvironmentError(`environment ${id}: ${machine} has no container to attach to`, "not-running");
    return { container: m.containerId, cliEnv: this.cluster.cliEnv(m.nodeId) };
  }

  // ---------------------------------------------------------------- disk

  /** Swarm services have no StorageOpt: the watchdog measures each container's writable layer on its node. */
  diskEnforcement(): Promise<DiskEnforcement> {
    const options = this.options.disk;
    if (!options || options.limitBytes <= 0) {
      this.diskOutcome = { kind: "none", limitBytes: 0, reason: "no limit configured (MAILLAB_DISK_LIMIT_MB=0)" };
      return Promise.resolve({ kind: "none", limitBytes: 0, reason: this.diskOutcome.reason! });
    }
    if (options.mode === "hard") {
      const error = "MAILLAB_DISK_LIMIT_MODE=hard: Swarm services have no per-container disk limit (StorageOpt); use auto or watchdog";
      this.diskOutcome = { error };
      return Promise.reject(new EnvironmentError(`disk limits: ${error}`, "failed"));
    }
    const enforcement: DiskEnforcement = { kind: "watchdog", limitBytes: options.limitBytes, reason: "Swarm services have no per-container disk limit: each node's containers are measured" };
    if (!this.disk) {
      this.log(describeEnforcement(enforcement));
      this.diskOutcome = { kind: "watchdog", limitBytes: options.limitBytes, reason: enforcement.reason };
      // The watchdog asks one engine for sizes: route each container to its node's.
      const router = { getContainer: (containerId: string) => this.engineOfContainer(containerId).getContainer(containerId) } as unknown as Dockerode;
      this.watchdog = new DiskWatchdog({
        docker: router,
        limitBytes: options.limitBytes,
        environments: () => this.watchedEnvironments(),
        onOver: (id, usage) => void this.onDiskOver(id, usage),
        onUnder: (id) => this.onDiskUnder(id),
        log: this.log,
        tickMs: options.tickMs,
        layerIntervalMinMs: options.layerIntervalMinMs,
        layerDutyFactor: options.layerDutyFactor,
      });
      if (!this.disposed) this.watchdog.start();
      this.disk = Promise.resolve(enforcement);
    }
    return this.disk;
  }

  diskStatus(): DiskStatus | undefined {
    return this.diskOutcome;
  }

  private engineOfContainer(containerId: string): Dockerode {
    for (const record of this.envs.values()) {
      for (const m of Object.values(record.machines)) if (m?.containerId === containerId && m.nodeId) return this.cluster.nodeEngine(m.nodeId);
    }
    throw new Error(`no node runs container ${containerId}`);
  }

  private watchedEnvironments(): WatchedEnvironment[] {
    return [...this.envs.values()]
      .filter((r) => !r.pooled && r.busy === 0 && r.status === "running")
      .map((r) => ({ id: r.id, machines: ENVIRONMENT_MACHINES.flatMap((m) => (r.machines[m]?.containerId ? [{ containerId: r.machines[m]!.containerId!, measureLayer: true }] : [])) }));
  }

  private async onDiskOver(id: string, usage: DiskUsage): Promise<void> {
    const record = this.envs.get(id);
    const limitBytes = this.options.disk?.limitBytes ?? 0;
    if (!record || record.pooled || record.busy > 0 || record.status !== "running") return;
    const earlier = record.notice?.kind === "disk-limit" ? record.notice : undefined;
    const cleaningUp = earlier?.resumedAt !== undefined && Date.now() - earlier.resumedAt < DISK_CLEANUP_GRACE_MS;
    if (cleaningUp && usedBytes(usage) <= earlier.usedBytes + DISK_CLEANUP_SLACK_BYTES) return;
    this.log(`stopping ${id}: its machines wrote ${Math.round(usedBytes(usage) / 2 ** 20)} MiB, over its limit of ${Math.round(limitBytes / 2 ** 20)} MiB`);
    record.notice = { kind: "disk-limit", at: Date.now(), usedBytes: usedBytes(usage), limitBytes };
    await this.stop(id).catch((error: unknown) => this.log(`stopping ${id} (disk limit) failed: ${message(error)}`));
  }

  private onDiskUnder(id: string): void {
    const record = this.envs.get(id);
    if (record?.notice?.kind !== "disk-limit" || record.status !== "running") return;
    record.notice = undefined;
    this.emit(record, record.status);
  }

  // ---------------------------------------------------------------- lifecycle

  async create(options: CreateOptions = {}): Promise<RuntimeEnvironmentInfo> {
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

  async waitReady(id: string, { timeoutMs = DEFAULT_READY_TIMEOUT_MS, machines = ENVIRONMENT_MACHINES }: { timeoutMs?: number; machines?: readonly EnvironmentMachine[] } = {}): Promise<void> {
    const record = this.envs.get(id);
    if (record?.ready && record.status === "running") return;
    const poll = `while [ ! -e ${READY_FILE} ]; do sleep 0.05; done`;
    await Promise.all(
      machines.map(async (machine) => {
        const result = await this.exec(id, machine, ["sh", "-c", poll], { timeoutMs });
        if (result.exitCode !== 0) throw new EnvironmentError(`environment ${id}: ${machine} not ready after ${timeoutMs / 1000} s (${result.timedOut ? "timed out" : `exit ${result.exitCode}`})`, "failed");
      }),
    );
    if (record && machines.length === ENVIRONMENT_MACHINES.length && record.status === "running") record.ready = true;
  }

  async exec(id: string, machine: EnvironmentMachine, cmd: string[], options?: ExecOptions): Promise<ExecResult> {
    const record = this.envs.get(id);
    if (!record) throw new EnvironmentError(`no environment ${id}`, "not-found");
    const m = record.machines[machine];
    if (m?.state !== "running" || !m.containerId || !m.nodeId) throw new EnvironmentError(`environment ${id} is ${record.status}: ${machine} is not running`, "not-running");
    this.counters.execs++;
    const docker = this.cluster.nodeEngine(m.nodeId);
    try {
      return await execInContainer(docker, docker.getContainer(m.containerId), cmd, options);
    } catch (error) {
      if (statusCode(error) === 409 || statusCode(error) === 404) throw new EnvironmentError(`environment ${id}: ${machine} is not running`, "not-running");
      throw error;
    }
  }

  async runScript(id: string, machine: EnvironmentMachine, job: ScriptJob): Promise<ScriptRun> {
    const m = this.envs.get(id)?.machines[machine];
    if (m?.state !== "running" || !m.containerId || !m.nodeId) return { exitCode: -1, output: `maillab: ${machine} is not running\n`, durationMs: 0, timedOut: false };
    const key = `${id}/${machine}`;
    let channel = this.channels.get(key);
    if (!channel) {
      const containerId = m.containerId;
      channel = new CheckChannel(this.cluster.nodeEngine(m.nodeId), () => containerId, this.log, () => this.counters.channelOpens++);
      this.channels.set(key, channel);
    }
    this.counters.scripts++;
    return channel.run(job);
  }

  private closeChannel(id: string, machine: EnvironmentMachine): void {
    this.channels.get(`${id}/${machine}`)?.close();
    this.channels.delete(`${id}/${machine}`);
  }

  private closeChannels(id: string): void {
    for (const machine of ENVIRONMENT_MACHINES) this.closeChannel(id, machine);
  }

  /** Idle stop: the machines are frozen on their nodes (see the top of this file for why not stopped). */
  stop(id: string): Promise<void> {
    return this.operate(id, async (record) => {
      if (ENVIRONMENT_MACHINES.every((m) => record.machines[m]?.state !== "running")) return;
      this.closeChannels(id);
      await Promise.all(
        ENVIRONMENT_MACHINES.map(async (machine) => {
          const m = record.machines[machine];
          if (m?.state !== "running" || !m.nodeId || !m.containerId) return;
          await tolerate(this.cluster.nodeEngine(m.nodeId).getContainer(m.containerId).pause(), [304, 404, 409]);
          m.state = "stopped";
          m.paused = true;
        }),
      );
      this.setStatus(record, "stopped");
    });
  }

  /** Unfreezes the machines (or starts one that exited); machines on a drained or lost node need a reset. */
  resume(id: string): Promise<void> {
    return this.operate(id, async (record) => {
      record.lastActiveAt = Date.now();
      if (ENVIRONMENT_MACHINES.every((m) => record.machines[m]?.state === "running")) return;
      for (const machine of ENVIRONMENT_MACHINES) {
        const m = record.machines[machine];
        const problem = this.nodeProblem(m?.nodeId);
        if (!m?.containerId || !m.nodeId || problem || m.state === "missing") {
          this.setStatus(record, "error", problem ? `node ${problem.node} is ${problem.kind === "node-drained" ? "drained" : "lost"}: reset the environment` : "a machine is gone: reset the environment");
          throw new EnvironmentError(`environment ${id}: ${machine} is gone${problem ? ` with node ${problem.node}` : ""}, reset it`, "failed");
        }
      }
      try {
        await Promise.all(
          ENVIRONMENT_MACHINES.map(async (machine) => {
            const m = record.machines[machine]!;
            if (m.state === "running") return;
            const container = this.cluster.nodeEngine(m.nodeId!).getContainer(m.containerId!);
            const info = await container.inspect();
            if (info.State.Paused) await tolerate(container.unpause(), [304, 409]);
            else if (!info.State.Running) await tolerate(container.start(), [304]);
            m.state = "running";
            m.paused = false;
            m.oom = false;
          }),
        );
      } catch (error) {
        if (statusCode(error) === 404) {
          this.setStatus(record, "error", "a machine's container is gone: reset the environment");
          throw new EnvironmentError(`environment ${id}: a machine is missing, reset it`, "failed");
        }
        throw error;
      }
      if (record.notice?.kind === "machine-exited") record.notice = undefined;
      if (record.notice?.kind === "disk-limit") record.notice = { ...record.notice, resumedAt: Date.now() };
      this.setStatus(record, "running");
    });
  }

  /**
   * Fresh machines for the same environment: its services are removed and created again, and Swarm
   * places them on the nodes that are there now. Same domain, users, passwords and subnet; the
   * addresses are the new tasks' (in the returned params). Rebuilds an environment whose objects are
   * all gone when the caller still has its params.
   */
  async reset(id: string, { params }: { params?: EnvironmentParams } = {}): Promise<RuntimeEnvironmentInfo> {
    if (!this.envs.has(id) && params) {
      if (!environmentIdSchema.safeParse(id).success) throw new EnvironmentError(`not an environment id: ${id}`, "not-found");
      await this.init();
      await this.slots.acquire();
      try {
        if (!this.envs.has(id)) {
          const subnet = this.subnets.take(params.subnet) ? params.subnet : this.subnets.allocate();
          return this.info(await this.build({ pool: false, extra: {}, id, params: { ...params, subnet } }));
        }
      } finally {
        this.slots.release();
      }
    }
    await this.operate(id, async (record) => {
      this.closeChannels(id);
      this.setStatus(record, "creating");
      try {
        await this.removeServices(record);
        await this.ensureNetwork(record);
        await this.createMachines(record, Date.now() + (this.options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS));
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

  /** Removes the services and the network. Unknown ids are removed by name too (idempotent). */
  async destroy(id: string): Promise<void> {
    const record = this.envs.get(id);
    if (!record) {
      await this.removeObjects(ENVIRONMENT_MACHINES.map((m) => containerName(id, m)), [networkName(id)]);
      return;
    }
    await withLock(record, async () => {
      if (this.envs.get(id) !== record) return;
      this.pool.remove(id);
      this.closeChannels(id);
      await this.removeObjects(ENVIRONMENT_MACHINES.map((m) => record.machines[m]?.serviceId ?? containerName(id, m)), [record.networkId ?? networkName(id)]);
      this.subnets.release(record.params.subnet);
      this.envs.delete(id);
      this.setStatus(record, "missing");
    });
  }

  // ---------------------------------------------------------------- health

  /** The manager, the nodes (ready, environments per node, firewall) and the disk limits, for /api/health. */
  async health(): Promise<RuntimeHealth> {
    const disk = this.diskOutcome;
    try {
      const [version, nodes] = await Promise.race([
        Promise.all([this.cluster.manager.version(), this.cluster.refreshNodes()]),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error("the Swarm manager did not answer within 2 s")), 2000).unref()),
      ]);
      const perNode = new Map<string, Set<string>>();
      for (const record of this.envs.values()) {
        for (const m of Object.values(record.machines)) {
          if (m?.nodeId && m.state !== "missing") perNode.set(m.nodeId, (perNode.get(m.nodeId) ?? new Set()).add(record.id));
        }
      }
      const nodeHealth: NodeHealth[] = nodes.map((n) => ({
        id: n.id,
        hostname: n.hostname,
        address: n.address,
        role: n.role,
        availability: n.availability,
        state: n.state,
        ready: n.state === "ready" && n.availability === "active" && n.lab,
        lab: n.lab,
        environments: perNode.get(n.id)?.size ?? 0,
        firewall: this.prepared.get(n.id)?.firewall ?? false,
      }));
      const ok = nodeHealth.some((n) => n.ready) && !disk?.error;
      return {
        ok,
        runtime: "swarm",
        version: version.Version,
        nodes: nodeHealth,
        ...(ok ? {} : { error: disk?.error ?? "no node is ready for environments (state ready, availability active, label maillab.lab=true)" }),
        ...(disk ? { disk } : {}),
      };
    } catch (error) {
      return { ok: false, runtime: "swarm", error: message(error), ...(disk ? { disk } : {}) };
    }
  }

  // ---------------------------------------------------------------- internals: building

  private newRecord(id: string, params: EnvironmentParams, extra: Record<string, string>, createdAt: number, bornInPool: boolean, pooled: boolean): SwarmRecord {
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

  private image(machine: EnvironmentMachine): string {
    return this.options.images?.[machine] ?? labImageRefs(this.options.swarm.registry)[machine === "probe" ? "partner" : machine];
  }

  private labelInput(record: SwarmRecord): EnvironmentLabelInput {
    return { id: record.id, scope: this.scope, params: record.params, createdAt: record.createdAt, pool: record.bornInPool, extra: record.extra };
  }

  /** Network, then the machines (partner and the probe first: mail's /etc/hosts needs their addresses). */
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
    params?: EnvironmentParams;
  }): Promise<SwarmRecord> {
    if (this.disposed) {
      if (params) this.subnets.release(params.subnet);
      throw new EnvironmentError("the environment manager is disposed", "failed");
    }
    const record = this.newRecord(id, params ?? generateParams(this.subnets.allocate()), { ...this.options.labels, ...extra }, Date.now(), pool, pool);
    record.timings.requestedAt = requestedAt;
    this.envs.set(id, record);
    if (!pool) this.emit(record, "missing");
    let unlock!: () => void;
    record.lock = new Promise((resolve) => (unlock = resolve));
    record.busy++;
    try {
      const deadline = Date.now() + (this.options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);
      for (let attempt = 1; ; attempt++) {
        await this.createNetwork(record, { mayMoveSubnet: true });
        try {
          await this.createMachines(record, deadline);
          break;
        } catch (error) {
          // A node still holds a network with this subnet (one just removed: its tasks are still being
          // cleaned up there, or the node was down meanwhile) and rejects the task. Move, as for a clash
          // at the manager; the subnet stays marked used here.
          if (!/overlap/i.test(message(error)) || attempt >= SUBNET_ATTEMPTS) throw error;
          this.log(`${id}: a node still uses ${record.params.subnet} (${message(error)}): moving to another subnet`);
          await this.removeObjects(ENVIRONMENT_MACHINES.map((m) => containerName(id, m)), [record.networkId ?? networkName(id)]);
          record.params = { ...record.params, subnet: this.subnets.allocate() };
        }
      }
      record.timings.attachableAt = now();
      record.timings.createMs = record.timings.attachableAt - requestedAt;
      this.setStatus(record, "running");
      return record;
    } catch (error) {
      this.log(`creating ${id} failed: ${message(error)}`);
      await this.removeObjects(ENVIRONMENT_MACHINES.map((m) => containerName(id, m)), [networkName(id)]).catch(() => undefined);
      this.subnets.release(record.params.subnet);
      this.envs.delete(id);
      this.setStatus(record, "missing");
      throw new EnvironmentError(`creating an environment failed: ${message(error)}`, "failed");
    } finally {
      record.busy--;
      unlock();
    }
  }

  /** The overlay network; on a subnet clash a new environment moves to another subnet (as the engine's does). */
  private async createNetwork(record: SwarmRecord, { mayMoveSubnet }: { mayMoveSubnet: boolean }): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const network = await this.cluster.manager.createNetwork(networkSpec(networkName(record.id), record.params, hostAddress(record.params.subnet, 1), networkLabels(this.labelInput(record))));
        record.networkId = network.id;
        return;
      } catch (error) {
        if (!mayMoveSubnet || !/overlap/i.test(message(error)) || attempt >= SUBNET_ATTEMPTS) throw error;
        await this.markSwarmSubnetsUsed().catch(() => undefined);
        const subnet = this.subnets.allocate();
        record.params = { ...record.params, subnet };
      }
    }
  }

  private async ensureNetwork(record: SwarmRecord): Promise<void> {
    try {
      const info = (await this.cluster.manager.getNetwork(record.networkId ?? networkName(record.id)).inspect()) as { Id: string };
      record.networkId = info.Id;
    } catch (error) {
      if (statusCode(error) !== 404) throw error;
      await this.createNetwork(record, { mayMoveSubnet: false });
    }
  }

  /** partner and the probe, then mail with their addresses in its /etc/hosts; resolves once all three run. */
  private async createMachines(record: SwarmRecord, deadline: number): Promise<void> {
    record.machines = {};
    record.ready = false;
    await settleAll([this.createService(record, "partner"), this.createService(record, "probe")]);
    await this.waitForTasks(record, ["partner", "probe"], "address", deadline);
    await this.createService(record, "mail", mailHosts(record.machines.partner!.address!, record.machines.probe!.address!));
    await this.waitForTasks(record, ENVIRONMENT_MACHINES, "running", deadline);
    this.applyAddresses(record);
    for (const node of new Set(ENVIRONMENT_MACHINES.map((m) => record.machines[m]!.nodeId!))) {
      const listed = this.cluster.node(node) ?? (await this.cluster.refreshNodes(), this.cluster.node(node));
      if (listed) this.followNode(listed);
    }
  }

  private async createService(record: SwarmRecord, machine: EnvironmentMachine, hosts?: string[]): Promise<void> {
    const labels = containerLabels(this.labelInput(record), machine);
    if (record.bornInPool && !record.pooled) labels[LABEL_CLAIMED] = "1";
    const service = await this.cluster.manager.createService(
      serviceSpec({
        machine,
        name: containerName(record.id, machine),
        network: record.networkId ?? networkName(record.id),
        params: record.params,
        labels,
        image: this.image(machine),
        hosts,
        fileSizeLimitBytes: this.options.disk?.limitBytes || undefined,
        command: this.options.commands?.[machine],
      }),
    );
    record.machines[machine] = { serviceId: service.id, state: "missing", paused: false };
  }

  /** Polls the machines' tasks until each has an address (or runs); a task Swarm gave up on fails the wait. */
  private async waitForTasks(record: SwarmRecord, machines: readonly EnvironmentMachine[], until: "address" | "running", deadline: number): Promise<void> {
    for (;;) {
      const services = machines.map((m) => record.machines[m]!.serviceId);
      const tasks = currentTasks(parseTasks(await this.cluster.manager.listTasks({ filters: { service: services } }), () => record.networkId));
      const waiting: string[] = [];
      for (const machine of machines) {
        const m = record.machines[machine]!;
        const task = tasks.get(m.serviceId);
        if (task && TERMINAL_TASK_STATES.has(task.state)) throw new Error(`${machine}: Swarm's task is ${task.state}${task.error ? ` (${task.error})` : ""}`);
        Object.assign(m, this.taskPlacement(task));
        const done = until === "address" ? Boolean(task?.address) : task?.state === "running" && Boolean(task.containerId && task.nodeId);
        if (done && until === "running") m.state = "running";
        if (!done) waiting.push(`${machine} ${task ? `${task.state}${task.error ? ` (${task.error})` : ""}` : "without a task"}`);
      }
      if (waiting.length === 0) return;
      if (Date.now() > deadline) throw new Error(`not ${until === "address" ? "placed" : "running"} in time: ${waiting.join(", ")}`);
      await sleep(TASK_POLL_MS);
    }
  }

  private taskPlacement(task: TaskView | undefined): Pick<SwarmMachine, "taskId" | "nodeId" | "containerId" | "address"> {
    if (!task) return {};
    return {
      taskId: task.id,
      ...(task.nodeId ? { nodeId: task.nodeId } : {}),
      ...(task.containerId ? { containerId: task.containerId } : {}),
      ...(task.address ? { address: task.address } : {}),
    };
  }

  /** The params' addresses are the ones Swarm gave the tasks. */
  private applyAddresses(record: SwarmRecord): void {
    const { mail, partner, probe } = record.machines;
    if (mail?.address && partner?.address && probe?.address) {
      record.params = { ...record.params, mailIp: mail.address, partnerIp: partner.address, probeIp: probe.address };
    }
  }

  private async claimFromPool(requestedAt: number): Promise<RuntimeEnvironmentInfo | undefined> {
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

  /** A claim is a label on the services: their tasks are untouched (labels are not part of a task's spec). */
  private async markClaimed(record: SwarmRecord): Promise<void> {
    await Promise.all(
      ENVIRONMENT_MACHINES.map(async (machine) => {
        const service = this.cluster.manager.getService(record.machines[machine]!.serviceId);
        const info = (await service.inspect()) as { Version: { Index: number }; Spec: Dockerode.ServiceSpec };
        if (info.Spec.Labels?.[LABEL_CLAIMED] === "1") return;
        // docker-modem: `_query` becomes the query string, `_body` the JSON body.
        const update = { _query: { version: info.Version.Index }, _body: { ...info.Spec, Labels: { ...info.Spec.Labels, [LABEL_CLAIMED]: "1" } } };
        await service.update(update as unknown as Dockerode.ServiceSpec);
      }),
    );
  }

  private async removeServices(record: SwarmRecord): Promise<void> {
    await Promise.all(
      ENVIRONMENT_MACHINES.map((m) => tolerate(this.cluster.manager.getService(record.machines[m]?.serviceId ?? containerName(record.id, m)).remove(), [404])),
    );
  }

  /** Removes services (by id or name), then networks; a network waits for its tasks to go (in the background after a while). */
  private async removeObjects(services: string[], networks: string[]): Promise<void> {
    await Promise.all(services.map((s) => tolerate(this.cluster.manager.getService(s).remove(), [404])));
    const removeNetworks = async (deadline: number) => {
      for (const n of networks) {
        for (;;) {
          try {
            await tolerate(this.cluster.manager.getNetwork(n).remove(), [404]);
            break;
          } catch (error) {
            // "in use by task …": the agents are still removing the containers.
            if (Date.now() > deadline) throw error;
            await sleep(250);
          }
        }
      }
    };
    try {
      await removeNetworks(Date.now() + 5_000);
    } catch {
      void removeNetworks(Date.now() + NETWORK_REMOVE_MS).catch((error: unknown) => this.log(`removing network(s) ${networks.join(", ")}: ${message(error)} (removed at the next start)`));
    }
  }

  // ---------------------------------------------------------------- internals: state

  private info(record: SwarmRecord): RuntimeEnvironmentInfo {
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

  private setStatus(record: SwarmRecord, status: EnvironmentStatus, error?: string): void {
    const previous = record.status;
    record.status = status;
    if (status !== "running") record.ready = false;
    record.error = status === "error" ? error : undefined;
    if (previous !== status) this.emit(record, previous);
  }

  private emit(record: SwarmRecord, previous: EnvironmentStatus): void {
    if (record.pooled) return;
    const change: RuntimeStatusChange = { id: record.id, status: this.envs.get(record.id) === record ? record.status : "missing", previous, ...(record.notice ? { notice: record.notice } : {}) };
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (error) {
        this.log(`status listener failed: ${message(error)}`);
      }
    }
  }

  private operate(id: string, fn: (record: SwarmRecord) => Promise<void>): Promise<void> {
    const record = this.envs.get(id);
    if (!record || record.pooled) return Promise.reject(new EnvironmentError(`no environment ${id}`, "not-found"));
    return withLock(record, async () => {
      if (this.envs.get(id) !== record) throw new EnvironmentError(`environment ${id} was destroyed`, "not-found");
      await fn(record);
    });
  }

  /** A node told us a container changed outside our own operations (OOM, operator, a drain). */
  private onContainerEvent(nodeId: string, event: ContainerEvent): void {
    const id = event.attributes[LABEL_ENVIRONMENT];
    const machine = event.attributes[LABEL_MACHINE] as EnvironmentMachine | undefined;
    const record = id ? this.envs.get(id) : undefined;
    if (!record || !machine || record.busy > 0) return;
    const current = record.machines[machine];
    if (!current || current.containerId !== event.containerId || current.nodeId !== nodeId) return;
    const before = { notice: record.notice, status: record.status };
    switch (event.action) {
      case "oom":
        current.oom = true; // "die" follows
        return;
      case "die":
        if (current.state === "running" && !record.pooled) {
          const exitCode = Number(event.attributes.exitCode);
          record.notice = { kind: "machine-exited", at: Date.now(), machine, exitCode: Number.isFinite(exitCode) ? exitCode : null, oom: Boolean(current.oom) };
          this.log(`${id}: ${machine} exited (${event.attributes.exitCode ?? "?"}${current.oom ? ", out of memory" : ""}) outside maillab`);
        }
        current.state = "stopped";
        current.paused = false;
        record.ready = false;
        this.closeChannel(record.id, machine);
        // A drain stops the tasks: the node list says so (then the notice is the node's).
        void this.checkNodes();
        break;
      case "start":
      case "unpause":
        current.state = "running";
        current.paused = false;
        current.oom = false;
        break;
      case "pause":
        current.state = "stopped";
        current.paused = true;
        break;
      case "destroy":
        current.state = "missing";
        if (!record.pooled) {
          record.notice = { kind: "machine-removed", at: Date.now(), machine };
          this.log(`${id}: ${machine}'s container was removed outside maillab`);
        }
        break;
      default:
        return;
    }
    this.updateStatusFromMachines(record);
    if (record.notice !== before.notice && record.status === before.status) this.emit(record, before.status);
  }

  private updateStatusFromMachines(record: SwarmRecord, { quiet = false }: { quiet?: boolean } = {}): void {
    const states = ENVIRONMENT_MACHINES.map((m) => record.machines[m]?.state ?? "missing");
    const set = (status: EnvironmentStatus, error?: string) => (quiet ? ((record.status = status), (record.error = error)) : this.setStatus(record, status, error));
    if (states.includes("missing")) {
      if (record.pooled && !quiet) {
        this.pool.remove(record.id);
        void this.destroy(record.id).catch(() => undefined);
        return;
      }
      set("error", "a machine's container is gone: reset the environment");
    } else if (states.every((s) => s === "running")) set("running");
    else set("stopped");
  }

  /** After a node's event stream broke: read its containers' states again. */
  private async reconcile(nodeIds: string[]): Promise<void> {
    try {
      const states = await this.listContainerStates(nodeIds);
      for (const record of this.envs.values()) {
        if (record.busy > 0) continue;
        for (const machine of ENVIRONMENT_MACHINES) {
          const m = record.machines[machine];
          if (!m?.containerId || !m.nodeId || !nodeIds.includes(m.nodeId)) continue;
          const state = states.get(m.containerId);
          if (!state && m.state !== "missing" && !record.pooled) record.notice = { kind: "machine-removed", at: Date.now(), machine };
          m.state = state === "running" ? "running" : state ? "stopped" : "missing";
          m.paused = state === "paused";
        }
        this.updateStatusFromMachines(record);
        this.noticeNodeProblems(record);
      }
    } catch (error) {
      this.log(`reconcile failed: ${message(error)}`);
    }
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
        return this.destroy(id);
      }),
      ...plan.stop.filter((id) => mayReap(id, "stop")).map((id) => () => {
        this.log(`stopping idle ${id}`);
        return this.stop(id);
      }),
    ];
    const worker = async () => {
      for (let job = jobs.shift(); job; job = jobs.shift()) await job().catch((error: unknown) => this.log(`reaper: ${message(error)}`));
    };
    await Promise.all(Array.from({ length: REAP_PARALLEL }, worker));
  }
}

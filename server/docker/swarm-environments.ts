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
import { ENVIRONMENT_MACHINES, type EnvironmentMachine, type EnvironmentParams } from "@/lib/machines";
import { watchContainerEvents, type ContainerEvent } from "./docker-events";
import type { DiskEnforcement, DiskLimitOptions } from "./disk-limits";
import type { WatchedEnvironment } from "./disk-watchdog";
import { EnvironmentBase, type BaseMachine, type BaseOptions, type BaseRecord } from "./environment-base";
import { EnvironmentError, message, settleAll, sleep, statusCode, tolerate } from "./env-support";
import type { InitOptions, InitReport } from "./environments";
import { LABEL_CLAIMED, LABEL_ENVIRONMENT, LABEL_MACHINE, LABEL_SCOPE, containerLabels, containerName, networkLabels, networkName } from "./labels";
import { labImageRefs, toolsImageRef } from "./registry";
import type { EnvironmentRuntime, NodeHealth, RuntimeHealth, RuntimeNotice, TerminalTarget } from "./runtime";
import { classifySwarmListing, currentTasks, parseTasks, type TaskView } from "./swarm-adoption";
import { SwarmCluster, type SwarmNode, type SwarmOptions } from "./swarm-cluster";
import { ensureImageOnNode, installNodeFirewall } from "./swarm-firewall";
import { mailHosts, networkSpec, serviceSpec } from "./swarm-spec";
import { hostAddress } from "./subnet-pool";

/** As ./environments.ts's options (./environment-base.ts BaseOptions: pool, idle stop — here a freeze —,
 * TTL, reaping, labels/scope, disk, log; hostFirewall: on every node), and the Swarm's own. */
export interface SwarmManagerOptions extends BaseOptions {
  swarm: SwarmOptions;
  /** Warm pool size to keep from init() on (fillPool changes it). Default 0. */
  poolSize?: number;
  /** Image reference per machine, overriding the registry's (development). */
  images?: Partial<Record<EnvironmentMachine, string>>;
  commands?: Partial<Record<EnvironmentMachine, string[]>>;
  /** How often the node list is read (drained and lost nodes, new nodes). Default 5 s. */
  nodePollMs?: number;
  /** How long a machine may take to be placed and start (a node pulling the images). Default 180 s. */
  startTimeoutMs?: number;
}

/** A machine as a Swarm service and its current task. */
interface SwarmMachine extends BaseMachine {
  serviceId: string;
  taskId?: string;
  nodeId?: string;
  containerId?: string;
  /** Its address in the environment's network. */
  address?: string;
  /** Frozen by an idle stop (resume unpauses it); a stopped machine that is not paused has exited. */
  paused: boolean;
}

interface SwarmRecord extends BaseRecord<SwarmMachine, RuntimeNotice> {
  networkId?: string;
}

const SUBNET_ATTEMPTS = 8;
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

export class SwarmEnvironmentManager extends EnvironmentBase<SwarmMachine, RuntimeNotice, SwarmRecord> implements EnvironmentRuntime {
  readonly kind = "swarm" as const;
  readonly cluster: SwarmCluster;
  private initPromise: Promise<InitReport> | undefined;
  private nodeTimer: NodeJS.Timeout | undefined;
  private nodeCheck: Promise<void> | undefined;
  /** Container event watches, one per node. */
  private readonly watches = new Map<string, ReturnType<typeof watchContainerEvents>>();
  /** Per node: firewall installed and images pulled (or when to try again). */
  private readonly prepared = new Map<string, { firewall: boolean; images: boolean; retryAt: number; running?: Promise<void> }>();

  constructor(private readonly options: SwarmManagerOptions) {
    super(options);
    this.cluster = new SwarmCluster(options.swarm);
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
      if (found.pooled && record.status === "running") this.adoptPoolMember(found.id);
      else if (found.pooled) removals.push(this.destroy(found.id).catch(() => undefined));
      if (found.halfClaimed) removals.push(this.markClaimed(record).catch((e: unknown) => this.log(`finishing claim of ${found.id}: ${message(e)}`)));
    }
    await Promise.all(removals);
    const adopted = adopt.filter((e) => !e.pooled).map((e) => e.id);
    this.startReaping();
    this.nodeTimer = setInterval(() => void this.checkNodes(), this.options.nodePollMs ?? DEFAULT_NODE_POLL_MS);
    this.nodeTimer.unref();
    this.pool.setTarget(this.options.poolSize ?? 0, { trim: false });
    if (adopted.length || remove.length) this.log(`adopted ${adopted.length}, removed ${remove.length}, pool ${this.pool.status().ready}`);
    return { adopted, removed: remove.map((e) => e.id), pool: this.pool.status().ready, firewall: null };
  }

  /** Every subnet the Swarm (or the manager's engine) uses is off limits. */
  private async markSwarmSubnetsUsed(): Promise<Dockerode.NetworkInspectInfo[]> {
    const networks = await this.cluster.manager.listNetworks();
    this.markSubnetsUsed(networks);
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

  /** Stops timers, event watches and the pool; the Swarm objects stay (adopted at the next start). */
  override dispose(): void {
    super.dispose();
    clearInterval(this.nodeTimer);
    for (const watch of this.watches.values()) watch.close();
    this.watches.clear();
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

  async terminalTarget(id: string, machine: EnvironmentMachine): Promise<TerminalTarget> {
    const m = this.envs.get(id)?.machines[machine];
    if (!m?.containerId || !m.nodeId || m.state === "missing") throw new EnvironmentError(`environment ${id}: ${machine} has no container to attach to`, "not-running");
    return { container: m.containerId, cliEnv: this.cluster.cliEnv(m.nodeId) };
  }

  // ---------------------------------------------------------------- disk

  /** Swarm services have no StorageOpt: the watchdog measures each container's writable layer on its node. */
  protected findDiskEnforcement(options: DiskLimitOptions): Promise<DiskEnforcement> {
    if (options.mode === "hard") return Promise.reject(new Error("MAILLAB_DISK_LIMIT_MODE=hard: Swarm services have no per-container disk limit (StorageOpt); use auto or watchdog"));
    return Promise.resolve({ kind: "watchdog", limitBytes: options.limitBytes, reason: "Swarm services have no per-container disk limit: each node's containers are measured" });
  }

  /** The watchdog asks one engine for sizes: each container is routed to its node's. */
  protected watchdogEngine(): Dockerode {
    return { getContainer: (containerId: string) => this.engineOfContainer(containerId).getContainer(containerId) } as unknown as Dockerode;
  }

  private engineOfContainer(containerId: string): Dockerode {
    for (const record of this.envs.values()) {
      for (const m of Object.values(record.machines)) if (m?.containerId === containerId && m.nodeId) return this.cluster.nodeEngine(m.nodeId);
    }
    throw new Error(`no node runs container ${containerId}`);
  }

  protected watchedEnvironments(): WatchedEnvironment[] {
    return [...this.envs.values()]
      .filter((r) => !r.pooled && r.busy === 0 && r.status === "running")
      .map((r) => ({ id: r.id, machines: ENVIRONMENT_MACHINES.flatMap((m) => (r.machines[m]?.containerId ? [{ containerId: r.machines[m]!.containerId!, measureLayer: true }] : [])) }));
  }

  // ---------------------------------------------------------------- lifecycle

  protected machineTarget(record: SwarmRecord, machine: EnvironmentMachine): { docker: Dockerode; container: () => string } | undefined {
    const m = record.machines[machine];
    if (!m?.containerId || !m.nodeId) return undefined;
    const containerId = m.containerId;
    return { docker: this.cluster.nodeEngine(m.nodeId), container: () => containerId };
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

  // ---------------------------------------------------------------- health

  /** The manager, the nodes (ready, environments per node, firewall) and the disk limits, for /api/health. */
  async health(): Promise<RuntimeHealth> {
    const disk = this.diskStatus();
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

  /**
   * Reset: the services removed and created again; Swarm places them on the nodes there are now
   * (a drained or lost node's machines come back elsewhere). The addresses are the new tasks'.
   */
  protected async replaceMachines(record: SwarmRecord): Promise<void> {
    await this.removeServices(record);
    await this.ensureNetwork(record);
    await this.createMachines(record, Date.now() + (this.options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS));
  }

  /** A rebuild: the addresses will be Swarm's (the new tasks'), only the subnet may move. */
  protected placeParams(params: EnvironmentParams, subnet: string): EnvironmentParams {
    return { ...params, subnet };
  }

  protected async removeEnvironment(record: SwarmRecord): Promise<void> {
    await this.removeObjects(ENVIRONMENT_MACHINES.map((m) => record.machines[m]?.serviceId ?? containerName(record.id, m)), [record.networkId ?? networkName(record.id)]);
  }

  protected async removeByName(id: string): Promise<void> {
    await this.removeObjects(ENVIRONMENT_MACHINES.map((m) => containerName(id, m)), [networkName(id)]);
  }

  private image(machine: EnvironmentMachine): string {
    return this.options.images?.[machine] ?? labImageRefs(this.options.swarm.registry)[machine === "probe" ? "partner" : machine];
  }

  /** Network, then the machines (partner and the probe first: mail's /etc/hosts needs their addresses). */
  protected async createEnvironment(record: SwarmRecord): Promise<void> {
    const deadline = Date.now() + (this.options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);
    for (let attempt = 1; ; attempt++) {
      await this.createNetwork(record, { mayMoveSubnet: true });
      try {
        await this.createMachines(record, deadline);
        return;
      } catch (error) {
        // A node still holds a network with this subnet (one just removed: its tasks are still being
        // cleaned up there, or the node was down meanwhile) and rejects the task. Move, as for a clash
        // at the manager; the subnet stays marked used here.
        if (!/overlap/i.test(message(error)) || attempt >= SUBNET_ATTEMPTS) throw error;
        this.log(`${record.id}: a node still uses ${record.params.subnet} (${message(error)}): moving to another subnet`);
        await this.removeFailedBuild(record);
        record.params = { ...record.params, subnet: this.subnets.allocate() };
      }
    }
  }

  protected async removeFailedBuild(record: SwarmRecord): Promise<void> {
    await this.removeObjects(ENVIRONMENT_MACHINES.map((m) => containerName(record.id, m)), [record.networkId ?? networkName(record.id)]);
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

  /** A claim is a label on the services: their tasks are untouched (labels are not part of a task's spec). */
  protected async markClaimed(record: SwarmRecord): Promise<void> {
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

  /** A node told us a container changed outside our own operations (OOM, operator, a drain). */
  private onContainerEvent(nodeId: string, event: ContainerEvent): void {
    const id = event.attributes[LABEL_ENVIRONMENT];
    const machine = event.attributes[LABEL_MACHINE] as EnvironmentMachine | undefined;
    const record = id ? this.envs.get(id) : undefined;
    if (!record || !machine || record.busy > 0) return;
    const current = record.machines[machine];
    if (!current || current.containerId !== event.containerId || current.nodeId !== nodeId) return;
    // Once the learner was told that the node is drained or lost, its containers' late events (the
    // drain stops them one by one) must not turn the environment's "error, reset it" into "stopped".
    if ((record.notice?.kind === "node-drained" || record.notice?.kind === "node-lost") && this.nodeProblem(nodeId)) {
      this.noticeNodeProblems(record);
      return;
    }
    const before = { notice: record.notice, status: record.status };
    if (event.action === "pause" || event.action === "unpause") {
      current.state = event.action === "pause" ? "stopped" : "running";
      current.paused = event.action === "pause";
    } else if (!this.applyMachineEvent(record, machine, current, event.action, event.attributes)) return;
    if (event.action === "die" || event.action === "start") current.paused = false;
    // A drain stops the tasks: the node list says so (then the notice is the node's).
    if (event.action === "die") void this.checkNodes();
    this.settleMachineEvent(record, before);
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

}

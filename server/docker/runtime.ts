// Where environments run (docs/design.md §3, docs/operations.md): the runtime the app talks to, with two
// implementations chosen by MAILLAB_RUNTIME: `engine` (default) — one Docker engine, containers on
// bridge networks (./environments.ts, unchanged) — and `swarm` — a Docker Swarm, one service per machine
// on an overlay network, placed by Swarm on its nodes (./swarm-environments.ts). The app, the terminals
// and the checks use only this interface.
import type { EnvironmentMachine, EnvironmentParams } from "@/lib/machines";
import type { ScriptJob, ScriptRun } from "./check-channel";
import type { DiskEnforcement, DiskStatus } from "./disk-limits";
import type { ChangeOf, InfoOf } from "./environment-base";
import type { CreateOptions, EnvironmentManager, EnvironmentNotice, EnvironmentStatus, InitOptions, InitReport } from "./environments";
import type { ExecOptions, ExecResult } from "./exec";
import { dockerHealth } from "./health";

/**
 * Swarm mode only: the node a machine ran on was drained (`docker node update --availability drain`:
 * Swarm stopped its tasks and starts no new ones there) or is lost (down, unreachable). The machines are
 * not moved behind the learner's back (their files would be gone): a reset makes new ones elsewhere.
 */
export interface NodeNotice {
  kind: "node-drained" | "node-lost";
  at: number;
  machine: EnvironmentMachine;
  /** The node's hostname as Swarm knows it. */
  node: string;
}

export type RuntimeNotice = EnvironmentNotice | NodeNotice;

/** How a terminal reaches a machine: `docker exec -it <container> …` with this CLI environment. */
export interface TerminalTarget {
  container: string;
  /** DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH of the machine's node (Swarm); none: the local engine. */
  cliEnv?: Record<string, string>;
}

/** A Swarm node as /api/health shows it (docs/api.md). */
export interface NodeHealth {
  id: string;
  hostname: string;
  address: string;
  role: "manager" | "worker";
  availability: string;
  state: string;
  /** Ready, active and labelled for labs: Swarm may place environments there. */
  ready: boolean;
  lab: boolean;
  /** Machines of this app's environments (pool members included) running there, counted per environment. */
  environments: number;
  /** The host firewall (MAILLAB-INPUT) is installed there. */
  firewall: boolean;
}

export interface RuntimeHealth {
  ok: boolean;
  runtime: "engine" | "swarm";
  version?: string;
  error?: string;
  disk?: DiskStatus;
  /** Swarm mode: the nodes. */
  nodes?: NodeHealth[];
}

export type RuntimeStatusChange = ChangeOf<RuntimeNotice>;
export type RuntimeEnvironmentInfo = InfoOf<RuntimeNotice>;

export interface EnvironmentRuntime {
  readonly kind: "engine" | "swarm";
  init(options?: InitOptions): Promise<InitReport>;
  dispose(): void;
  get(id: string): RuntimeEnvironmentInfo | undefined;
  list(): RuntimeEnvironmentInfo[];
  status(id: string): EnvironmentStatus;
  notice(id: string): RuntimeNotice | undefined;
  onChange(listener: (change: RuntimeStatusChange) => void): () => void;
  create(options?: CreateOptions): Promise<RuntimeEnvironmentInfo>;
  waitReady(id: string, options?: { timeoutMs?: number; machines?: readonly EnvironmentMachine[] }): Promise<void>;
  exec(id: string, machine: EnvironmentMachine, cmd: string[], options?: ExecOptions): Promise<ExecResult>;
  runScript(id: string, machine: EnvironmentMachine, job: ScriptJob): Promise<ScriptRun>;
  stop(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  /** Fresh machines with the same params; resolves with the environment (in Swarm mode with the addresses Swarm gave). */
  reset(id: string, options?: { params?: EnvironmentParams }): Promise<RuntimeEnvironmentInfo>;
  destroy(id: string): Promise<void>;
  touch(id: string): void;
  terminalTarget(id: string, machine: EnvironmentMachine): Promise<TerminalTarget>;
  /** Ready environments to keep. `trim: false` keeps members above the new target (one was just claimed). */
  fillPool(n: number, options?: { trim?: boolean }): void;
  poolStatus(): { ready: number; target: number };
  /** Learner-facing creates in progress and in line. */
  createQueue(): { running: number; waiting: number };
  poolSettled(): Promise<void>;
  diskEnforcement(): Promise<DiskEnforcement>;
  diskStatus(): DiskStatus | undefined;
  health(): Promise<RuntimeHealth>;
}

/** Today's single engine as a runtime: ./environments.ts as it is, plus how terminals reach it. */
export function engineRuntime(manager: EnvironmentManager): EnvironmentRuntime {
  return {
    kind: "engine",
    init: (options) => manager.init(options),
    dispose: () => manager.dispose(),
    get: (id) => manager.get(id),
    list: () => manager.list(),
    status: (id) => manager.status(id),
    notice: (id) => manager.notice(id),
    onChange: (listener) => manager.onChange(listener),
    create: (options) => manager.create(options),
    waitReady: (id, options) => manager.waitReady(id, options),
    exec: (id, machine, cmd, options) => manager.exec(id, machine, cmd, options),
    runScript: (id, machine, job) => manager.runScript(id, machine, job),
    stop: (id) => manager.stop(id),
    resume: (id) => manager.resume(id),
    reset: (id, options) => manager.reset(id, options),
    destroy: (id) => manager.destroy(id),
    touch: (id) => manager.touch(id),
    // The docker CLI under node-pty talks to the same engine as dockerode (DOCKER_HOST is inherited).
    terminalTarget: (id, machine) => Promise.resolve({ container: manager.containerName(id, machine) }),
    fillPool: (n, options) => manager.fillPool(n, options),
    poolStatus: () => manager.poolStatus(),
    createQueue: () => manager.createQueue(),
    poolSettled: () => manager.poolSettled(),
    diskEnforcement: () => manager.diskEnforcement(),
    diskStatus: () => manager.diskStatus(),
    health: async () => ({ runtime: "engine", ...(await dockerHealth(manager)) }),
  };
}

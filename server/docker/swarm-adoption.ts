// Swarm mode after an app restart (docs/design.md §3 "Lifecycle", ./adoption.ts for the engine): sorts
// what the manager lists — networks, services, tasks — into environments to adopt and leftovers to
// remove, and finds where each machine runs (its current task: node, container, address). Pure: it sees
// only the listings, so it is unit tested with plain data.
import { z } from "zod";
import { ENVIRONMENT_MACHINES, type EnvironmentMachine } from "@/lib/machines";
import { groupByEnvironment, type AdoptableBase } from "./adoption";
import { LABEL_CLAIMED, LABEL_CREATED, LABEL_PARAMS, LABEL_POOL, extraLabels, parseCreatedLabel, parseParamsLabel } from "./labels";

const taskListing = z.array(
  z.object({
    ID: z.string(),
    ServiceID: z.string(),
    NodeID: z.string().optional(),
    CreatedAt: z.string().optional(),
    DesiredState: z.string().optional(),
    Status: z
      .object({
        State: z.string().optional(),
        Err: z.string().optional(),
        ContainerStatus: z.object({ ContainerID: z.string().optional(), ExitCode: z.number().optional() }).optional(),
      })
      .optional(),
    NetworksAttachments: z.array(z.object({ Network: z.object({ ID: z.string() }).optional(), Addresses: z.array(z.string()).optional() })).optional(),
  }),
);

/** Where a machine's task is, as far as Swarm knows. */
export interface TaskView {
  id: string;
  serviceId: string;
  nodeId?: string;
  containerId?: string;
  /** Its address in the environment's network (no prefix length). */
  address?: string;
  /** Swarm's task state: new … running, complete, shutdown, failed, rejected, orphaned … */
  state: string;
  desired: string;
  error?: string;
  createdAt: number;
}

/** Tasks from the manager's listing; `networkIds` tells which attachment is the environment's. */
export function parseTasks(listing: unknown, networkOf: (serviceId: string) => string | undefined): TaskView[] {
  return taskListing.parse(listing).map((t) => {
    const network = networkOf(t.ServiceID);
    const attachment = t.NetworksAttachments?.find((a) => a.Network?.ID === network) ?? t.NetworksAttachments?.[0];
    const address = attachment?.Addresses?.[0]?.replace(/\/\d+$/, "");
    return {
      id: t.ID,
      serviceId: t.ServiceID,
      ...(t.NodeID ? { nodeId: t.NodeID } : {}),
      ...(t.Status?.ContainerStatus?.ContainerID ? { containerId: t.Status.ContainerStatus.ContainerID } : {}),
      ...(address ? { address } : {}),
      state: t.Status?.State ?? "new",
      desired: t.DesiredState ?? "running",
      ...(t.Status?.Err ? { error: t.Status.Err } : {}),
      createdAt: Date.parse(t.CreatedAt ?? "") || 0,
    };
  });
}

/** The newest task of each service (a service has one replica; older tasks are history). */
export function currentTasks(tasks: readonly TaskView[]): Map<string, TaskView> {
  const current = new Map<string, TaskView>();
  for (const task of tasks) {
    const seen = current.get(task.serviceId);
    if (!seen || task.createdAt > seen.createdAt) current.set(task.serviceId, task);
  }
  return current;
}

/** The fields of the manager's network listing used here. */
export interface ListedSwarmNetwork {
  Id: string;
  Labels?: Record<string, string>;
}

/** The fields of the manager's service listing used here. */
export interface ListedService {
  ID: string;
  Version?: { Index?: number };
  Spec?: { Name?: string; Labels?: Record<string, string> };
}

export interface AdoptedService {
  serviceId: string;
  version: number;
  task?: TaskView;
}

export interface AdoptableSwarmEnvironment extends AdoptableBase {
  networkId: string;
  machines: Record<EnvironmentMachine, AdoptedService>;
}

export interface SwarmLeftover {
  id: string;
  reason: "half-created" | "unknown to the app" | "broken pool member";
  serviceIds: string[];
  networkIds: string[];
}

/** A task that is, or may again be, a machine: running or paused (Swarm says running), or exited by itself. */
function taskAlive(task: TaskView | undefined): boolean {
  return Boolean(task?.containerId) && (task!.state === "running" || task!.desired === "running");
}

/**
 * Groups the listings by environment id (only objects of `scope`) and decides per environment:
 * - one network and the three services with readable params → adopt (where each task is comes along);
 * - anything less (a network without services, a service without its network, …) → remove;
 * - with `isKnown`, a handed-out environment it does not know → remove;
 * - an unclaimed pool member whose machines are not all there → remove (rebuilding is cheaper).
 */
export function classifySwarmListing(
  networks: readonly ListedSwarmNetwork[],
  services: readonly ListedService[],
  tasks: ReadonlyMap<string, TaskView>,
  { scope, isKnown }: { scope: string; isKnown?: (id: string) => boolean },
): { adopt: AdoptableSwarmEnvironment[]; remove: SwarmLeftover[] } {
  const groups = groupByEnvironment(networks, services, (s) => s.Spec?.Labels, scope);

  const result: { adopt: AdoptableSwarmEnvironment[]; remove: SwarmLeftover[] } = { adopt: [], remove: [] };
  for (const [id, g] of groups) {
    const present = ENVIRONMENT_MACHINES.flatMap((m) => (g.machines[m] ? [g.machines[m]] : []));
    const leftover = (reason: SwarmLeftover["reason"]) =>
      result.remove.push({ id, reason, serviceIds: [...present, ...g.strays].map((s) => s.ID), networkIds: g.networks.map((n) => n.Id) });
    const network = g.networks.length === 1 ? g.networks[0] : undefined;
    const params = parseParamsLabel(network?.Labels?.[LABEL_PARAMS]);
    if (!network || !params || present.length !== ENVIRONMENT_MACHINES.length || g.strays.length > 0) {
      leftover("half-created");
      continue;
    }
    const claimed = present.map((s) => s.Spec?.Labels?.[LABEL_CLAIMED] === "1");
    const bornInPool = network.Labels?.[LABEL_POOL] === "1";
    const pooled = bornInPool && !claimed.some(Boolean);
    if (!pooled && isKnown && !isKnown(id)) {
      leftover("unknown to the app");
      continue;
    }
    if (pooled && present.some((s) => !taskAlive(tasks.get(s.ID)))) {
      leftover("broken pool member");
      continue;
    }
    const adopted = (service: ListedService): AdoptedService => ({
      serviceId: service.ID,
      version: service.Version?.Index ?? 0,
      ...(tasks.get(service.ID) ? { task: tasks.get(service.ID)! } : {}),
    });
    result.adopt.push({
      id,
      params,
      extra: extraLabels(network.Labels),
      createdAt: parseCreatedLabel(network.Labels?.[LABEL_CREATED]) ?? Date.now(),
      bornInPool,
      pooled,
      halfClaimed: bornInPool && claimed.some(Boolean) && !claimed.every(Boolean),
      networkId: network.Id,
      machines: { mail: adopted(g.machines.mail!), partner: adopted(g.machines.partner!), probe: adopted(g.machines.probe!) },
    });
  }
  return result;
}

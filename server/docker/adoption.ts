// After an app restart (docs/design.md §3 "Lifecycle"): sorts what Docker lists into environments to adopt
// and leftovers to remove. Pure: it sees only the listings, so it is unit tested with plain data.
import { ENVIRONMENT_MACHINES, type EnvironmentMachine, type EnvironmentParams } from "@/lib/machines";
import {
  LABEL_CREATED,
  LABEL_DISK_LIMIT,
  LABEL_ENVIRONMENT,
  LABEL_MACHINE,
  LABEL_PARAMS,
  LABEL_POOL,
  LABEL_SCOPE,
  extraLabels,
  isPoolContainerName,
  parseCreatedLabel,
  parseParamsLabel,
} from "./labels";

/** The fields of Docker's network listing used here. */
export interface ListedNetwork {
  Id: string;
  Labels?: Record<string, string>;
}

/** The fields of Docker's container listing used here. */
export interface ListedContainer {
  Id: string;
  Names: string[];
  State: string;
  /** Seconds since the epoch. */
  Created: number;
  Labels: Record<string, string>;
}

/** What adoption learns of an environment, whatever its machines are (containers here, services in Swarm mode). */
export interface AdoptableBase {
  id: string;
  params: EnvironmentParams;
  extra: Record<string, string>;
  createdAt: number;
  bornInPool: boolean;
  /** Still waiting in the warm pool (containers: pool names; services: no maillab.claimed). */
  pooled: boolean;
  /** A claim was interrupted halfway (between renames; between label updates): finish it. */
  halfClaimed: boolean;
}

export interface AdoptableEnvironment extends AdoptableBase {
  /** The probe is missing on environments created before it existed: the manager adds it. */
  machines: Record<"mail" | "partner", AdoptedMachine> & { probe?: AdoptedMachine };
}

export interface AdoptedMachine {
  containerId: string;
  running: boolean;
  /** Created with a hard disk limit (label maillab.disk-limit): the disk watchdog need not measure it. */
  diskLimited: boolean;
}

export interface Leftover {
  id: string;
  reason: "half-created" | "unknown to the app" | "stopped pool member";
  containerIds: string[];
  networkIds: string[];
}

export interface Classification {
  adopt: AdoptableEnvironment[];
  remove: Leftover[];
}

/**
 * Groups the listings by environment id (only objects of `scope`) and decides per environment:
 * - complete (one network, mail and partner (and the probe, which older environments lack), readable
 *   params, nothing else) → adopt, running or stopped;
 * - anything less (a network without containers, a container without its network, …) → remove;
 * - with `isKnown`, a handed-out environment it does not know → remove;
 * - an unclaimed pool member that is not running → remove (rebuilding is cheaper than resuming).
 */
/** One environment's objects in a listing: its networks, a machine's object (container, service) each, and strays. */
export interface EnvironmentGroup<N, T> {
  networks: N[];
  machines: Partial<Record<EnvironmentMachine, T>>;
  strays: T[];
}

/** Groups a listing's networks and machine objects (containers; services in Swarm mode) of one scope by environment id. */
export function groupByEnvironment<N extends { Labels?: Record<string, string> }, T>(
  networks: readonly N[],
  objects: readonly T[],
  labelsOf: (object: T) => Record<string, string> | undefined,
  scope: string,
): Map<string, EnvironmentGroup<N, T>> {
  const groups = new Map<string, EnvironmentGroup<N, T>>();
  const group = (id: string) => {
    let g = groups.get(id);
    if (!g) groups.set(id, (g = { networks: [], machines: {}, strays: [] }));
    return g;
  };
  for (const network of networks) {
    const id = network.Labels?.[LABEL_ENVIRONMENT];
    if (id && network.Labels?.[LABEL_SCOPE] === scope) group(id).networks.push(network);
  }
  for (const object of objects) {
    const labels = labelsOf(object) ?? {};
    const id = labels[LABEL_ENVIRONMENT];
    if (!id || labels[LABEL_SCOPE] !== scope) continue;
    const machine = labels[LABEL_MACHINE] as EnvironmentMachine | undefined;
    const g = group(id);
    if (machine && ENVIRONMENT_MACHINES.includes(machine) && !g.machines[machine]) g.machines[machine] = object;
    else g.strays.push(object);
  }
  return groups;
}

export function classifyListing(
  networks: readonly ListedNetwork[],
  containers: readonly ListedContainer[],
  { scope, isKnown }: { scope: string; isKnown?: (id: string) => boolean },
): Classification {
  const groups = groupByEnvironment(networks, containers, (c) => c.Labels, scope);

  const result: Classification = { adopt: [], remove: [] };
  for (const [id, g] of groups) {
    const leftover = (reason: Leftover["reason"]) =>
      result.remove.push({
        id,
        reason,
        containerIds: [...Object.values(g.machines), ...g.strays].map((c) => c.Id),
        networkIds: g.networks.map((n) => n.Id),
      });
    const network = g.networks.length === 1 ? g.networks[0] : undefined;
    const { mail, partner, probe } = g.machines;
    const params = parseParamsLabel(network?.Labels?.[LABEL_PARAMS]) ?? parseParamsLabel(mail?.Labels[LABEL_PARAMS]);
    if (!network || !mail || !partner || !params || g.strays.length > 0) {
      leftover("half-created");
      continue;
    }
    const present = [mail, partner, ...(probe ? [probe] : [])];
    const poolNames = present.map((c) => isPoolContainerName(c.Names[0] ?? ""));
    const pooled = poolNames.every(Boolean);
    if (!pooled && isKnown && !isKnown(id)) {
      leftover("unknown to the app");
      continue;
    }
    if (pooled && (!probe || present.some((c) => c.State !== "running"))) {
      leftover("stopped pool member");
      continue;
    }
    result.adopt.push({
      id,
      params,
      extra: extraLabels(network.Labels),
      createdAt: parseCreatedLabel(network.Labels?.[LABEL_CREATED]) ?? mail.Created * 1000,
      bornInPool: network.Labels?.[LABEL_POOL] === "1",
      pooled,
      halfClaimed: !pooled && poolNames.some(Boolean),
      machines: {
        mail: adopted(mail),
        partner: adopted(partner),
        ...(probe ? { probe: adopted(probe) } : {}),
      },
    });
  }
  return result;
}

function adopted(c: ListedContainer): AdoptedMachine {
  return { containerId: c.Id, running: c.State === "running", diskLimited: Boolean(c.Labels[LABEL_DISK_LIMIT]) };
}

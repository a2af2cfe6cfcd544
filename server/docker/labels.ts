// Docker-side naming and labels of environments. Labels are the only state that survives an app
// restart besides the objects themselves (docs/design.md §3 "Labels"), so everything needed to rebuild
// an environment in memory is written here at create time.
import { environmentParamsSchema, type EnvironmentMachine, type EnvironmentParams } from "@/lib/machines";

export const LABEL_ENVIRONMENT = "maillab.environment";
export const LABEL_MACHINE = "maillab.machine";
/** JSON of EnvironmentParams: lets `init()` rebuild an adopted environment without a database. */
export const LABEL_PARAMS = "maillab.params";
/** Creation time in ms since the epoch (TTL survives restarts). */
export const LABEL_CREATED = "maillab.created";
/** "1" on everything created for the warm pool. Labels are immutable, so whether a pool member has
 * been claimed is recorded by renaming its containers (see `containerName`). */
export const LABEL_POOL = "maillab.pool";

/** Which manager owns the object: "app" for the app, else derived from the manager's `labels` option
 * (tests, benchmarks). A manager adopts and cleans up only its own scope, so a test run beside the live
 * app on the same engine neither loses its environments to the app's start-up nor takes the app's. */
export const LABEL_SCOPE = "maillab.scope";

/** On a container with a hard disk limit (`StorageOpt.size`): the limit in bytes. Containers without it
 * (created before limits, or where the engine has none) are measured by the disk watchdog. */
export const LABEL_DISK_LIMIT = "maillab.disk-limit";

/** Swarm mode: on the services of a warm-pool member once it is handed out. A service's labels can change
 * without touching its task (./swarm-environments.ts), where the engine renames containers instead. */
export const LABEL_CLAIMED = "maillab.claimed";

const OWN_LABELS = new Set([LABEL_ENVIRONMENT, LABEL_MACHINE, LABEL_PARAMS, LABEL_CREATED, LABEL_POOL, LABEL_SCOPE, LABEL_DISK_LIMIT, LABEL_CLAIMED]);

export function scopeOf(managerLabels: Record<string, string> | undefined): string {
  const entries = Object.entries(managerLabels ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return entries.length === 0 ? "app" : entries.map(([key, value]) => `${key}=${value}`).join(",");
}

export function networkName(id: string): string {
  return `maillab-${id}`;
}

/** Name of a claimed (or never pooled) environment's container: what `docker exec -it` uses. */
export function containerName(id: string, machine: EnvironmentMachine): string {
  return `maillab-${id}-${machine}`;
}

/** Name while the environment waits unclaimed in the warm pool. */
export function poolContainerName(id: string, machine: EnvironmentMachine): string {
  return `maillab-pool-${id}-${machine}`;
}

/** True for a container name (as Docker lists it, maybe with a leading "/") of an unclaimed pool member. */
export function isPoolContainerName(name: string): boolean {
  return name.replace(/^\//, "").startsWith("maillab-pool-");
}

export interface EnvironmentLabelInput {
  id: string;
  scope: string;
  params: EnvironmentParams;
  createdAt: number;
  pool: boolean;
  /** Caller's own labels (e.g. a test run marker); must not use the maillab.* keys above. */
  extra: Record<string, string>;
}

export function networkLabels(input: EnvironmentLabelInput): Record<string, string> {
  return {
    ...input.extra,
    [LABEL_ENVIRONMENT]: input.id,
    [LABEL_SCOPE]: input.scope,
    [LABEL_PARAMS]: JSON.stringify(input.params),
    [LABEL_CREATED]: String(input.createdAt),
    ...(input.pool ? { [LABEL_POOL]: "1" } : {}),
  };
}

export function containerLabels(input: EnvironmentLabelInput, machine: EnvironmentMachine): Record<string, string> {
  return { ...networkLabels(input), [LABEL_MACHINE]: machine };
}

/** The caller's labels among a Docker object's labels. */
export function extraLabels(labels: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(labels ?? {}).filter(([key]) => !OWN_LABELS.has(key)));
}

export function assertNoReservedLabels(labels: Record<string, string>): void {
  for (const key of Object.keys(labels)) {
    if (OWN_LABELS.has(key)) throw new Error(`label ${key} is set by the environment manager`);
  }
}

/** Params from a label, or undefined when missing/invalid (an object we did not create completely). */
export function parseParamsLabel(value: string | undefined): EnvironmentParams | undefined {
  if (!value) return undefined;
  try {
    const parsed = environmentParamsSchema.safeParse(JSON.parse(value));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export function parseCreatedLabel(value: string | undefined): number | undefined {
  const n = Number(value);
  return value && Number.isFinite(n) && n > 0 ? n : undefined;
}

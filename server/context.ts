import type { EnvironmentsHealth } from "@/lib/api-types";
import type { AppConfig } from "./config";
import type { DiskStatus } from "./docker/disk-limits";
import type { NodeHealth } from "./docker/runtime";
import type { Store } from "./db";
import type { Auth } from "./auth";
import type { EventBus } from "./events";
import type { Maillab } from "./maillab";

/**
 * Next.js bundles route handlers and pages separately from server/main.ts, so module-level
 * singletons would exist twice. main.ts builds the services once and parks them on globalThis;
 * route handlers and server components read them here (type-only imports: nothing is bundled).
 */
export interface AppContext {
  config: AppConfig;
  store: Store;
  auth: Auth;
  events: EventBus;
  maillab: Maillab;
  health: () => Promise<HealthReport>;
  recordings: {
    list: (environmentId: string) => Promise<Array<{ name: string; machine: string; startedAt: number; bytes: number }>>;
    read: (environmentId: string, name: string) => Promise<string | null>;
  };
}

export interface HealthReport {
  ok: boolean;
  app: { version: string; uptimeS: number };
  docker: {
    ok: boolean;
    version?: string;
    error?: string;
    /** How environments' disks are limited (docs/security.md "Disk"); absent until the images are ready. */
    disk?: DiskStatus;
    /** MAILLAB_RUNTIME: one engine, or a Swarm (docs/operations.md). */
    runtime: "engine" | "swarm";
    /** Swarm mode: every node (ready for environments or not, environments on it, firewall installed). */
    nodes?: NodeHealth[];
  };
  images: { ready: boolean; building: boolean; missing: string[]; progress: string[]; error?: string };
  environments: EnvironmentsHealth;
}

const KEY = Symbol.for("maillab.context");
type Holder = { [KEY]?: AppContext };

export function setContext(context: AppContext): void {
  (globalThis as Holder)[KEY] = context;
}

export function getContext(): AppContext {
  const context = (globalThis as Holder)[KEY];
  if (!context) {
    throw new Error("maillab is not initialised: start it with `npm start` (server/main.ts), not `next start`.");
  }
  return context;
}

import { z } from "zod";
import { existsSync } from "node:fs";
import path from "node:path";

/**
 * Environment variables, parsed once at startup (shadcn taxonomy's env.mjs habit):
 * a bad value stops the app with a message naming the variable, instead of failing later.
 */
const duration = (fallbackMinutes: number) =>
  z.coerce.number().positive().default(fallbackMinutes).transform((minutes) => minutes * 60_000);

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default("0.0.0.0"),
  MAILLAB_DATA_DIR: z.string().default("./data"),
  /** Instructor password; when unset, one is generated on first start and printed once. */
  MAILLAB_INSTRUCTOR_PASSWORD: z.string().min(8, "MAILLAB_INSTRUCTOR_PASSWORD must have at least 8 characters").optional(),
  /**
   * Public base URL for join links (default: from the request's Host header). Its origin is the
   * app's own for the API's Origin check, and an https URL makes every cookie Secure.
   */
  MAILLAB_PUBLIC_URL: z
    .string()
    .url("MAILLAB_PUBLIC_URL must be a URL like https://maillab.example.org")
    // Zod runs every check even when url() failed: guard with canParse.
    .refine((u) => !URL.canParse(u) || /^https?:$/.test(new URL(u).protocol), "MAILLAB_PUBLIC_URL must start with http:// or https://")
    .refine((u) => !URL.canParse(u) || (/^\/?$/.test(new URL(u).pathname) && !new URL(u).search && !new URL(u).hash), "MAILLAB_PUBLIC_URL must not have a path, query or fragment (the app is served at /)")
    .optional(),
  /**
   * 1 = one reverse proxy in front of the app (nginx, Caddy, Traefik): honour its X-Forwarded-For
   * (the last entry: rate limits per real client), X-Forwarded-Proto (Secure cookies) and
   * X-Forwarded-Host (Origin check). 0 = clients connect directly; such headers are ignored,
   * since any client could send them.
   */
  MAILLAB_TRUST_PROXY: z.enum(["0", "1"], { error: "MAILLAB_TRUST_PROXY must be 0 or 1" }).default("0"),
  /** Address pool for the environments' internal /28 networks. */
  MAILLAB_SUBNET_POOL: z.string().regex(/^\d+\.\d+\.\d+\.\d+\/\d+$/, "MAILLAB_SUBNET_POOL must be an IPv4 CIDR like 10.213.0.0/16").default("10.213.0.0/16"),
  /** Minutes without activity (terminal input, page open) before an environment is stopped (state kept). */
  MAILLAB_IDLE_STOP_MINUTES: duration(30),
  /** Minutes after the last activity before a self-paced environment is destroyed (default 14 days). */
  MAILLAB_TTL_MINUTES: duration(14 * 24 * 60),
  /**
   * Ready environments kept in the warm pool (0 = none). One idle environment costs ~10 MiB and
   * turns a 1.3-4 s cold start on a 2-core machine into ~30 ms for the next learner.
   */
  MAILLAB_WARM_POOL: z.coerce.number().int().min(0).max(200).default(1),
  /** All terminal recordings of one environment together stop growing here (MiB; see server/terminals/recorder.ts). */
  MAILLAB_RECORDING_MAX_MB: z.coerce.number().positive().max(1024 * 1024).default(128),
  /**
   * Disk space one environment may fill on the host, all its machines together (MiB; 0 = no limit):
   * a hard limit per machine where the Docker engine has one, else a watchdog that stops the
   * environment (docs/security.md "Disk"). 256 is the least that leaves mail room for Lab 12.2.
   */
  MAILLAB_DISK_LIMIT_MB: z.coerce
    .number({ error: "MAILLAB_DISK_LIMIT_MB must be a number of MiB" })
    .int("MAILLAB_DISK_LIMIT_MB must be a whole number of MiB")
    .refine((mb) => mb === 0 || (mb >= 256 && mb <= 1024 * 1024), "MAILLAB_DISK_LIMIT_MB must be 0 (no limit) or between 256 and 1048576")
    .default(1024),
  /** auto: hard limits where the engine has them, else the watchdog; hard: refuse to start machines without; watchdog: always measure. */
  MAILLAB_DISK_LIMIT_MODE: z.enum(["auto", "hard", "watchdog"], { error: "MAILLAB_DISK_LIMIT_MODE must be auto, hard or watchdog" }).default("auto"),
  /**
   * OCI runtime of the lab machines (engine mode): `default` is the engine's own (runc with Debian's
   * docker.io); any other name must be one of the engine's runtimes. crun measured no faster than runc
   * here and failed to delete lab containers on this host's cgroup v1 layout (docs/performance.md
   * "Container runtime"), so the default stays runc.
   */
  MAILLAB_OCI_RUNTIME: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, "MAILLAB_OCI_RUNTIME must be default or the name of one of the engine's runtimes (e.g. runc, crun)")
    .default("default"),
  /**
   * Where environments run: `engine` — one Docker engine (the local one, or DOCKER_HOST); `swarm` — a
   * Docker Swarm, one service per machine placed by Swarm on its nodes (docs/operations.md).
   */
  MAILLAB_RUNTIME: z.enum(["engine", "swarm"], { error: "MAILLAB_RUNTIME must be engine or swarm" }).default("engine"),
  /** Swarm mode: a manager's Docker API with TLS. */
  MAILLAB_SWARM_MANAGER: z
    .string()
    .regex(/^tcp:\/\/(\[[0-9a-fA-F:]+\]|[^/:\s[\]]+):\d{1,5}\/?$/, "MAILLAB_SWARM_MANAGER must be tcp://host:port (a Swarm manager's Docker API with TLS)")
    .optional(),
  /** Swarm mode: ca.pem, cert.pem, key.pem (the docker CLI's DOCKER_CERT_PATH layout) for every node's Docker API. */
  MAILLAB_SWARM_TLS_DIR: z.string().min(1).optional(),
  /** Swarm mode: the port of every node's Docker API (TLS); node addresses come from the Swarm. */
  MAILLAB_SWARM_NODE_PORT: z.coerce.number({ error: "MAILLAB_SWARM_NODE_PORT must be a port number" }).int().min(1).max(65535).default(2376),
  /** Swarm mode: host:port of the registry the lab images are pushed to and the nodes pull from. */
  MAILLAB_REGISTRY: z
    .string()
    .regex(/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\d{1,5})?$/, "MAILLAB_REGISTRY must be host or host:port of the Swarm's registry")
    .optional(),
  /** Build missing lab images at startup (1) or only report them missing (0). */
  MAILLAB_BUILD_IMAGES: z.enum(["0", "1"]).default("1"),
  NODE_ENV: z.enum(["development", "production", "test"]).default("production"),
  MAILLAB_DEV: z.enum(["0", "1"]).default("0"),
});

export type AppConfig = ReturnType<typeof parseConfig>;

/** Swarm mode needs its manager, certificates and registry; a missing one stops the app naming it. */
const configSchema = envSchema.superRefine((e, ctx) => {
  if (e.MAILLAB_RUNTIME !== "swarm") return;
  const need = (name: "MAILLAB_SWARM_MANAGER" | "MAILLAB_SWARM_TLS_DIR" | "MAILLAB_REGISTRY", what: string) => {
    if (!e[name]) ctx.addIssue({ code: "custom", path: [name], message: `${name} is needed with MAILLAB_RUNTIME=swarm: ${what}` });
  };
  need("MAILLAB_SWARM_MANAGER", "tcp://host:port of a manager's Docker API");
  need("MAILLAB_SWARM_TLS_DIR", "the folder with ca.pem, cert.pem and key.pem");
  need("MAILLAB_REGISTRY", "host:port of the Swarm's registry");
  if (e.MAILLAB_OCI_RUNTIME !== "default") {
    // A service's task has no OCI runtime setting: each node runs it with its engine's default runtime.
    ctx.addIssue({ code: "custom", path: ["MAILLAB_OCI_RUNTIME"], message: "MAILLAB_OCI_RUNTIME is for MAILLAB_RUNTIME=engine: Swarm services run with each node's default runtime (set it in the nodes' daemon.json)" });
  }
  if (e.MAILLAB_SWARM_TLS_DIR) {
    const missing = ["ca.pem", "cert.pem", "key.pem"].filter((f) => !existsSync(path.join(e.MAILLAB_SWARM_TLS_DIR!, f)));
    if (missing.length) ctx.addIssue({ code: "custom", path: ["MAILLAB_SWARM_TLS_DIR"], message: `MAILLAB_SWARM_TLS_DIR has no ${missing.join(", ")}` });
  }
});

export function parseConfig(env: NodeJS.ProcessEnv = process.env) {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`);
    throw new Error(`Invalid configuration:\n${lines.join("\n")}`);
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir: path.resolve(e.MAILLAB_DATA_DIR),
    instructorPassword: e.MAILLAB_INSTRUCTOR_PASSWORD,
    publicUrl: e.MAILLAB_PUBLIC_URL?.replace(/\/$/, ""),
    trustProxy: e.MAILLAB_TRUST_PROXY === "1",
    subnetPool: e.MAILLAB_SUBNET_POOL,
    idleStopMs: e.MAILLAB_IDLE_STOP_MINUTES,
    ttlMs: e.MAILLAB_TTL_MINUTES,
    warmPool: e.MAILLAB_WARM_POOL,
    ociRuntime: e.MAILLAB_OCI_RUNTIME,
    recordingMaxBytesPerEnvironment: Math.round(e.MAILLAB_RECORDING_MAX_MB * 1024 * 1024),
    disk: { limitBytes: e.MAILLAB_DISK_LIMIT_MB * 1024 * 1024, mode: e.MAILLAB_DISK_LIMIT_MODE },
    runtime: e.MAILLAB_RUNTIME,
    swarm:
      e.MAILLAB_RUNTIME === "swarm"
        ? { manager: e.MAILLAB_SWARM_MANAGER!, tlsDir: path.resolve(e.MAILLAB_SWARM_TLS_DIR!), nodePort: e.MAILLAB_SWARM_NODE_PORT, registry: e.MAILLAB_REGISTRY! }
        : undefined,
    buildImages: e.MAILLAB_BUILD_IMAGES === "1",
    dev: e.MAILLAB_DEV === "1",
  };
}

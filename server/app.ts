import path from "node:path";
import { readFile } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import type { AppConfig } from "./config";
import { openStore } from "./db";
import { createAuth, randomId } from "./auth";
import { createEventBus } from "./events";
import { createMaillab } from "./maillab";
import { ApiError } from "./http-error";
import type { Machines } from "./maillab/ports";
import type { AppContext, HealthReport } from "./context";
import { EnvironmentManager } from "./docker/environments";
import { isLabAddress, setLabAddressPool } from "./docker/host-firewall";
import { ensureImages, ensureToolsImage, imageTags, imagesStatus } from "./docker/images";
import { pushImages } from "./docker/registry";
import { engineRuntime, type EnvironmentRuntime } from "./docker/runtime";
import { SwarmEnvironmentManager } from "./docker/swarm-environments";
import { createLabs, loadCourse } from "./labs";
import { createTerminalUpgradeHandler, dockerExecSpawnSpec, listRecordings } from "./terminals";

const VERSION = "0.1.0";
/** The machines a learner gets a terminal on (the probe has none). */
const TERMINAL_MACHINES = ["mail", "partner"] as const;
/** Docker label naming the app instance that owns an object. */
const INSTANCE_LABEL = "maillab.instance";

/**
 * The composition root: builds every service once, in dependency order, and returns what
 * server/main.ts serves. Nothing else constructs Docker, SQLite or PTY owners.
 */
export async function createApp(config: AppConfig, log: (line: string) => void = console.log) {
  const course = loadCourse();
  const store = openStore(config.dataDir);
  const auth = createAuth(store, { instructorPassword: config.instructorPassword, log });
  const events = createEventBus();
  setLabAddressPool(config.subnetPool);

  // Every Docker object this app creates carries its instance id (kept in the data directory), and
  // it adopts and reaps only objects with its own: two apps, or a test run beside a live app, can
  // share one engine without removing each other's environments.
  let instanceId = store.getSetting("instance_id");
  if (!instanceId) {
    instanceId = randomId(12);
    store.setSetting("instance_id", instanceId);
  }
  // Operators (and the test harness, which removes a stopped test app's machines) find its objects by this.
  log(`[app] instance ${instanceId}: Docker objects labelled ${INSTANCE_LABEL}=${instanceId}`);

  const images = { ready: false, building: false, progress: [] as string[], error: undefined as string | undefined, missing: [] as string[] };
  const runtimeOptions = {
    subnetPool: config.subnetPool,
    idleStopMs: config.idleStopMs,
    ttlMs: config.ttlMs,
    poolSize: 0,
    labels: { [INSTANCE_LABEL]: instanceId },
    disk: config.disk,
    log: (line: string) => log(`[environments] ${line}`),
    // Past MAILLAB_TTL_MINUTES the reaper destroys an environment by itself: its terminals and recordings go too.
    // The database says so too: the learner's page shows the environment gone instead of "missing".
    onReaped: (id: string) => {
      maillab.reaped(id);
      void terminals.removeEnvironment(id, "removed").then(() => terminals.deleteRecordings(id)).catch(() => undefined);
    },
    // Shells ready before anyone asks: a learner who gets a pooled environment finds prompts waiting.
    onPoolMember: (id: string, event: "ready" | "gone") => {
      if (event === "ready") terminals.prestart(id, TERMINAL_MACHINES, { pinned: true });
      else void terminals.removeEnvironment(id, "removed").then(() => terminals.deleteRecordings(id)).catch(() => undefined);
    },
    // Class environments live as long as their class; the reaper only stops them when idle.
    mayReap: (id: string, action: "stop" | "destroy") =>
      action === "stop" || !store.getEnvironment(id)?.classId || Boolean(store.getClass(store.getEnvironment(id)!.classId!)?.endedAt),
  };
  // MAILLAB_RUNTIME: one Docker engine (default), or a Docker Swarm (server/docker/runtime.ts, docs/operations.md).
  const manager: EnvironmentRuntime = config.swarm
    ? new SwarmEnvironmentManager({ ...runtimeOptions, swarm: config.swarm })
    : engineRuntime(new EnvironmentManager({ ...runtimeOptions, ociRuntime: config.ociRuntime }));

  // Check scripts go over one long-lived channel per machine (server/docker/check-channel.ts).
  const labs = createLabs({ run: (envId, machine, job) => manager.runScript(envId, machine, job), course });

  const machines: Machines = {
    async create() {
      if (!images.ready) {
        throw new ApiError(503, images.building ? "the lab images are still being built; try again in a minute" : `lab images missing: ${images.missing.join(", ")}`);
      }
      const info = await manager.create();
      // The learner's page is on its way: have both shells ready when its sockets arrive.
      terminals.prestart(info.id, TERMINAL_MACHINES);
      return { id: info.id, params: info.params };
    },
    status: (id) => manager.status(id),
    notice: (id) => manager.notice(id),
    onChange: (listener) => manager.onChange((change) => listener(change.id)),
    resume: (id) => manager.resume(id),
    waitReady: (id) => manager.waitReady(id),
    stop: (id) => manager.stop(id),
    // Terminals close (4100) before the machines go and come back on the new ones by themselves.
    reset: async (id, params) => {
      const info = await terminals.resetEnvironment(id, () => manager.reset(id, { params }));
      return info.params;
    },
    destroy: async (id) => {
      const row = store.getEnvironment(id);
      const classEnded = Boolean(row?.classId && store.getClass(row.classId)?.endedAt);
      await terminals.removeEnvironment(id, classEnded ? "class-ended" : "removed"); // 4411 / 4410: clients stop
      await manager.destroy(id);
      await terminals.deleteRecordings(id);
    },
    touch: (id) => manager.touch(id),
    fillPool: (n, options) => manager.fillPool(n, options),
    poolStatus: () => manager.poolStatus(),
  };

  const maillab = createMaillab({ store, machines, labs, events, basePool: config.warmPool, log });
  const recordingsDir = path.join(config.dataDir, "recordings");

  const terminals = createTerminalUpgradeHandler({
    authorize: (req: IncomingMessage, envId: string) => {
      const principal = auth.authenticate({ cookie: req.headers.cookie, authorization: req.headers.authorization });
      if (!principal) return { ok: false, status: 401 };
      const row = store.getEnvironment(envId);
      if (!row) return { ok: false, status: 404 };
      if (principal.kind === "learner" && row.learnerId !== principal.learnerId) return { ok: false, status: 403 };
      // Gone: the browser is told why (4411 / 4410) instead of a 404 it cannot see and would retry.
      if (row.destroyedAt) return { ok: false, status: 410, gone: row.classId && store.getClass(row.classId)?.endedAt ? "class-ended" : "removed" };
      if (principal.kind === "instructor") return { ok: true, role: "instructor", name: "Instructor" };
      return { ok: true, role: "learner", name: store.getLearner(principal.learnerId)?.name ?? "learner" };
    },
    spawnSpec: async (envId, machine) => {
      // A terminal opened on sleeping machines wakes them first.
      if (manager.status(envId) === "stopped") await manager.resume(envId);
      // Tagged shells: ending the session hangs up the shell inside the container too (docker exec would orphan it).
      // In Swarm mode the docker CLI talks to the node that runs the machine (its TLS API).
      const target = await manager.terminalTarget(envId, machine);
      return dockerExecSpawnSpec(target.container, { env: { LANG: "C.UTF-8" }, cliEnv: target.cliEnv });
    },
    onPrompt: (envId) => maillab.onPrompt(envId),
    onEnter: (envId) => maillab.onEnter(envId),
    onActivity: (envId) => manager.touch(envId),
    recordingsDir,
    maxEnvironmentRecordingBytes: config.recordingMaxBytesPerEnvironment,
    log: (line, err) => log(`[terminals] ${line}${err ? ` ${err instanceof Error ? err.message : String(err)}` : ""}`),
  });

  const imageProgress = (line: string) => {
    log(`[images] ${line}`);
    images.progress.push(line);
    if (images.progress.length > 50) images.progress.shift();
  };

  /** Swarm mode: the nodes pull the images from the Swarm's registry, so they are pushed there (docs/operations.md "Registry"). */
  async function publishImages(): Promise<boolean> {
    if (!config.swarm) return true;
    images.building = true;
    try {
      const tools = await ensureToolsImage({ onProgress: imageProgress });
      await pushImages(config.swarm.registry, [...Object.values(imageTags()), tools], { onProgress: imageProgress });
      return true;
    } catch (error) {
      images.error = `pushing the images to the registry ${config.swarm.registry} failed: ${error instanceof Error ? error.message : String(error)}`;
      log(`[images] ${images.error}`);
      return false;
    } finally {
      images.building = false;
    }
  }

  // Images: build what is missing in the background; the app answers meanwhile (health shows progress).
  async function prepareImages() {
    const status = await imagesStatus();
    images.missing = status.missing;
    if (status.missing.length === 0) {
      images.ready = await publishImages();
      return;
    }
    if (!config.buildImages) return;
    images.building = true;
    log(`[images] building ${status.missing.join(", ")} (first start only; a few minutes) ...`);
    try {
      await ensureImages({ onProgress: imageProgress });
      images.missing = [];
      if (!(await publishImages())) return;
      log("[images] ready");
      if (config.warmPool > 0) manager.fillPool(config.warmPool);
    } catch (error) {
      images.error = error instanceof Error ? error.message : String(error);
      log(`[images] build failed: ${images.error}`);
    } finally {
      images.building = false;
    }
  }

  const initReport = await manager.init({ isKnown: (id) => Boolean(store.getEnvironment(id) && !store.getEnvironment(id)!.destroyedAt) });
  log(`[environments] adopted ${initReport.adopted.length}, removed ${initReport.removed.length} orphan(s)`);
  // Environments the database knows but Docker lost (engine wiped): mark them so learners get a clear message.
  for (const row of store.liveEnvironments()) {
    if (manager.status(row.id) === "missing") log(`[environments] ${row.id} has no machines any more (a reset rebuilds them with the same parameters)`);
  }
  // How environments' disks are limited is found once the images exist (a probe container runs one);
  // the manager logs the outcome, /api/health shows it.
  const imagesReady = prepareImages().then(() => {
    if (images.ready) void manager.diskEnforcement().catch((error: unknown) => log(`[environments] ${error instanceof Error ? error.message : String(error)}`));
  });
  if (config.warmPool > 0) void imagesReady.then(() => images.ready && manager.fillPool(config.warmPool));

  const health = async (): Promise<HealthReport> => {
    const docker = await manager.health();
    return {
      ok: docker.ok && images.ready,
      app: { version: VERSION, uptimeS: Math.round(process.uptime()) },
      docker,
      images: { ready: images.ready, building: images.building, missing: images.missing, progress: images.progress.slice(-10), error: images.error },
      environments: { live: store.liveEnvironments().length, pool: manager.poolStatus(), creating: manager.createQueue() },
    };
  };

  const context: AppContext = {
    config,
    store,
    auth,
    events,
    maillab,
    health,
    recordings: {
      list: async (envId) => (await listRecordings(recordingsDir, envId)).map((r) => ({ name: path.basename(r.file), machine: r.machine, startedAt: r.startedAt, bytes: r.bytes })),
      read: async (envId, name) => {
        try {
          return await readFile(path.join(recordingsDir, envId, path.basename(name)), "utf8");
        } catch {
          return null;
        }
      },
    },
  };

  return {
    context,
    imagesReady,
    isLabAddress,
    handleTerminalUpgrade: terminals,
    async dispose() {
      maillab.dispose();
      await terminals.shutdown();
      manager.dispose();
      store.close();
    },
  };
}

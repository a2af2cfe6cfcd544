// The app in Swarm mode (MAILLAB_RUNTIME=swarm, docs/operations.md) on the development Swarm of
// scripts/dev-swarm.sh (brought up when it is not): the app pushes its images to the registry, a class's
// learner gets machines on a worker, /api/health reports the nodes and the environments on each, a
// drained node shows on the dashboard and the learner's page (German and English), the learner's reset
// brings the machines back elsewhere and the app keeps their new addresses, and a restarted app adopts
// them. The app's objects carry its instance id; afterAll removes what is left.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "./app";
import { parseConfig } from "./config";
import { LABEL_ENVIRONMENT } from "./docker/labels";
import { SwarmCluster } from "./docker/swarm-cluster";
import { ensureDevSwarm, releaseDevSwarm, setAvailability, type DevSwarm } from "./docker/swarm-testing";
import { until } from "./docker/testing";

type App = Awaited<ReturnType<typeof createApp>>;

let devSwarm: DevSwarm | undefined;
let dataDir: string;
let app: App | undefined;
let cluster: SwarmCluster;

function config() {
  const env: Record<string, string> = {
    MAILLAB_DATA_DIR: dataDir,
    MAILLAB_RUNTIME: "swarm",
    MAILLAB_SWARM_MANAGER: devSwarm!.swarm.manager,
    MAILLAB_SWARM_TLS_DIR: devSwarm!.swarm.tlsDir,
    MAILLAB_REGISTRY: devSwarm!.swarm.registry,
    MAILLAB_SUBNET_POOL: devSwarm!.subnetPool,
    MAILLAB_WARM_POOL: "0",
    MAILLAB_INSTRUCTOR_PASSWORD: "swarm-test-password",
  };
  return parseConfig(env as NodeJS.ProcessEnv);
}

async function startApp(): Promise<App> {
  const started = await createApp(config(), (line) => console.log(`[app] ${line}`));
  await started.imagesReady;
  return started;
}

beforeAll(async () => {
  devSwarm = await ensureDevSwarm();
  dataDir = mkdtempSync(path.join(tmpdir(), "maillab-swarm-app-"));
  cluster = new SwarmCluster(devSwarm.swarm);
}, 20 * 60_000);

afterAll(async () => {
  // This app's services and networks carry its instance id (kept in its data directory).
  const instance = app?.context.store.getSetting("instance_id") ?? "none";
  await app?.dispose();
  if (devSwarm) {
    for (const node of await cluster.refreshNodes()) if (node.availability !== "active") await setAvailability(cluster.manager, node.id, "active");
    const mine = (labels: Record<string, string> | undefined) => labels?.[LABEL_ENVIRONMENT] && labels["maillab.scope"]?.includes(instance);
    for (const s of await cluster.manager.listServices()) if (mine(s.Spec?.Labels)) await cluster.manager.getService(s.ID).remove().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 3000));
    for (const n of await cluster.manager.listNetworks()) if (mine(n.Labels)) await cluster.manager.getNetwork(n.Id).remove().catch(() => undefined);
  }
  rmSync(dataDir, { recursive: true, force: true });
  await releaseDevSwarm(devSwarm);
}, 10 * 60_000);

describe("the app in Swarm mode", () => {
  it("serves a class on the Swarm: health per node, a drained node on the dashboard, reset elsewhere, adoption after a restart", async () => {
    app = await startApp();
    const { maillab, store } = app.context;
    const health0 = await app.context.health();
    expect(health0.ok, JSON.stringify(health0)).toBe(true);
    expect(health0.docker.runtime).toBe("swarm");
    expect(health0.images.ready).toBe(true);

    const cls = maillab.createClass("Swarm class", ["12-1"]);
    const { environment } = await maillab.join(cls.joinCode, "Ada", null);
    const running = await until("the environment running", () => (maillab.environmentView(store.getEnvironment(environment.id)!, "en").status === "running" ? true : undefined), 120_000);
    expect(running).toBe(true);

    // Health: the node(s) running Ada's machines count her environment.
    const health = await app.context.health();
    const nodes = health.docker.nodes!;
    expect(nodes.filter((n) => n.ready).map((n) => n.hostname).sort()).toEqual(["mlsw-worker1", "mlsw-worker2"]);
    expect(nodes.reduce((sum, n) => sum + n.environments, 0)).toBeGreaterThanOrEqual(1);
    const params = JSON.parse(store.getEnvironment(environment.id)!.params) as { mailIp: string; probeIp?: string; domain: string };
    expect(params.probeIp, "the params carry Swarm's addresses").toBeTruthy();

    // Drain the node running mail: the dashboard and the learner's page say what happened.
    const mailNode = await until("mail's node", async () => {
      const tasks = await cluster.manager.listTasks({ filters: { service: [`maillab-${environment.id}-mail`], "desired-state": ["running"] } });
      return (tasks as Array<{ NodeID?: string }>)[0]?.NodeID;
    });
    await setAvailability(cluster.manager, mailNode, "drain");
    try {
      const learner = await until("the dashboard's notice", () => maillab.progress(cls.id, "en").learners.find((l) => l.notice?.code === "node-drained"), 60_000);
      expect(learner.status).toBe("error");
      expect(learner.notice!.summary).toMatch(/^server mlsw-worker\d drained: reset$/);
      const de = maillab.environmentView(store.getEnvironment(environment.id)!, "de");
      expect(de.notice).toMatchObject({ code: "node-drained" });
      expect(de.notice!.message).toContain("„Maschinen zurücksetzen“");
      expect(de.notice!.message).toContain("Sie bekommen neue Maschinen auf einem anderen Server");

      await maillab.reset(store.getEnvironment(environment.id)!);
      const view = maillab.environmentView(store.getEnvironment(environment.id)!, "en");
      expect(view.status).toBe("running");
      expect(view.notice).toBeNull();
      // The new machines' addresses are kept; the domain and the passwords are the same.
      const after = JSON.parse(store.getEnvironment(environment.id)!.params) as typeof params;
      expect(after.domain).toBe(params.domain);
      const tasks = await cluster.manager.listTasks({ filters: { service: [`maillab-${environment.id}-mail`], "desired-state": ["running"] } });
      const attachment = (tasks as Array<{ NodeID: string; NetworksAttachments: Array<{ Addresses: string[] }> }>)[0]!;
      expect(attachment.NodeID).not.toBe(mailNode);
      expect(attachment.NetworksAttachments[0]!.Addresses[0]!.replace(/\/\d+$/, "")).toBe(after.mailIp);
    } finally {
      await setAvailability(cluster.manager, mailNode, "active");
    }

    // A restarted app adopts the environment as it is.
    await app.dispose();
    app = await startApp();
    const again = app.context;
    expect(again.maillab.environmentView(again.store.getEnvironment(environment.id)!, "en").status).toBe("running");
    const health2 = await again.health();
    expect(health2.docker.nodes!.reduce((sum, n) => sum + n.environments, 0)).toBeGreaterThanOrEqual(1);
    await again.maillab.endClass(cls.id);
    expect(again.maillab.environmentView(again.store.getEnvironment(environment.id)!, "en").status).toBe("ended");
  }, 600_000);
});

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export interface RunningApp {
  url: string;
  port: number;
  password: string;
  dataDir: string;
  output: () => string;
  stop: () => Promise<void>;
  /** Stop and start again on the same data dir and port (an app restart). */
  restart: () => Promise<void>;
  dispose: () => Promise<void>;
}

/**
 * Starts the app exactly as the README does (`npm start` → scripts/start.sh), on a free port
 * and a throwaway data dir, and waits until it listens.
 */
export async function startApp(env: Record<string, string> = {}): Promise<RunningApp> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "maillab-e2e-"));
  const password = "e2e-instructor-password";
  let port = 0;
  let proc: ChildProcess | undefined;
  let log = "";
  // The app's whole output also goes to a file, for reading after a failed run (CI keeps test-results/).
  mkdirSync("test-results", { recursive: true });
  const logFile = path.join("test-results", `app-${path.basename(dataDir)}.log`);

  async function launch() {
    proc = spawn("bash", ["scripts/start.sh"], {
      cwd: process.cwd(),
      env: {
        ...process.env,
        PORT: String(port),
        HOST: "127.0.0.1",
        MAILLAB_DATA_DIR: dataDir,
        MAILLAB_INSTRUCTOR_PASSWORD: password,
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const child = proc;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`app did not start within 300 s:\n${log.slice(-4000)}`)), 300_000);
      const onData = (chunk: Buffer) => {
        log += chunk.toString();
        appendFileSync(logFile, chunk);
        const m = /maillab listening on http:\/\/localhost:(\d+)/.exec(log.slice(-2000));
        if (m) {
          port = Number(m[1]);
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on("data", onData);
      child.stderr!.on("data", onData);
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`app exited with ${code}:\n${log.slice(-4000)}`));
      });
    });
    // Images are built at startup if missing; wait for health so tests start on a ready app.
    const deadline = Date.now() + 600_000;
    while (Date.now() < deadline) {
      const res = await fetch(`http://127.0.0.1:${port}/api/health`).catch(() => undefined);
      if (res?.ok) return;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`app never became healthy:\n${log.slice(-4000)}`);
  }

  async function stop() {
    const child = proc;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    // The whole process group: bash → npx → tsx → node.
    try {
      process.kill(-child.pid!, "SIGTERM");
    } catch {
      // already gone
    }
    const killer = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // gone
      }
    }, 10_000);
    await exited;
    clearTimeout(killer);
  }

  await launch();
  return {
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    password,
    dataDir,
    output: () => log,
    stop,
    async restart() {
      await stop();
      await launch();
    },
    async dispose() {
      await stop();
      removeDockerObjects(log);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A stopped app leaves its machines running on purpose (the next start adopts them), but a test
 * app's data directory is thrown away with it: remove what it made (its warm pool, environments a
 * test did not delete), found by the instance id it logged at start-up (server/app.ts).
 */
function removeDockerObjects(log: string): void {
  const instance = /\[app\] instance ([a-z0-9]+)/.exec(log)?.[1];
  if (!instance) return;
  const filter = ["--filter", `label=maillab.instance=${instance}`];
  const docker = (args: string[]) => execFileSync("docker", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).split("\n").filter(Boolean);
  try {
    const containers = docker(["ps", "-aq", ...filter]);
    if (containers.length) docker(["rm", "-f", ...containers]);
    const networks = docker(["network", "ls", "-q", ...filter]);
    if (networks.length) docker(["network", "rm", ...networks]);
  } catch {
    // The engine is gone or busy: nothing more a test can do about it.
  }
}

/**
 * A ready-made {@link SpawnSpec} for a login shell in a container through the
 * docker CLI (`docker exec -it … bash -l`), including the one thing `docker
 * exec` gets wrong for us: killing the `docker exec` client does NOT end the
 * shell inside the container (Docker keeps exec'd processes running). Each
 * shell is tagged with a random `MAILLAB_TERM` environment variable, and
 * `terminate()` hangs up every process in the container carrying that tag
 * (the shell and whatever it was running), like closing a real terminal does.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { SpawnSpec } from "./session";

export interface DockerExecOptions {
  /** Extra environment inside the container (`-e K=V`). */
  env?: Record<string, string>;
  /** Working directory. Default `/root`. */
  workdir?: string;
  /** The shell command. Default `["bash", "-l"]`. */
  command?: string[];
  /** The docker CLI. Default `docker` (on PATH). */
  docker?: string;
  /** Environment of the docker CLI itself (e.g. DOCKER_HOST); the server's by default. */
  cliEnv?: Record<string, string>;
}

export function dockerExecSpawnSpec(container: string, options: DockerExecOptions = {}): SpawnSpec {
  const docker = options.docker ?? "docker";
  const tag = randomBytes(8).toString("hex");
  const env: Record<string, string> = { TERM: "xterm-256color", ...options.env, MAILLAB_TERM: tag };
  const args = ["exec", "-it", "-w", options.workdir ?? "/root"];
  for (const [k, v] of Object.entries(env)) args.push("-e", `${k}=${v}`);
  args.push(container, ...(options.command ?? ["bash", "-l"]));
  // POSIX sh only (the lab images have no procps): find the tagged processes by their environment.
  const script =
    `for p in /proc/[0-9]*; do ` +
    `if tr '\\0' '\\n' < "$p/environ" 2>/dev/null | grep -qx 'MAILLAB_TERM=${tag}'; then kill -HUP "\${p#/proc/}" 2>/dev/null; fi; ` +
    `done; exit 0`;
  return {
    file: docker,
    args,
    // One `docker exec` client per open terminal, 200 with a class of 100: each is a Go program whose
    // runtime sizes itself by the cores it may use. It only copies bytes, so one is plenty, and it
    // saves ~1 MiB of private memory per client (5.1 → 4.2 MiB measured here, docs/performance.md).
    env: { GOMAXPROCS: "1", ...options.cliEnv },
    terminate: () =>
      new Promise<void>((resolve) => {
        execFile(docker, ["exec", container, "sh", "-c", script], { timeout: 10_000, env: { ...process.env, ...options.cliEnv } }, () =>
          resolve(),
        );
      }),
  };
}

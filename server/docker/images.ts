// The lab machine images: their tags (content hashes of docker/), whether they exist, and building
// what is missing — the base image first (pulled where a registry answers, else debootstrapped by
// docker/base/build-base.sh), then mail and partner from docker/ through dockerode's build API.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import path from "node:path";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import Docker from "dockerode";
import { pack } from "tar-stream";
import type { MachineName } from "@/lib/machines";
import { MACHINE_SPECS } from "./machine-spec";

/**
 * The image both machines are built FROM (Dockerfile `ARG BASE`). MAILLAB_BASE_IMAGE overrides it
 * (e.g. to try the base fallback without touching the real one); it is part of the image hash.
 */
export const BASE_IMAGE = process.env.MAILLAB_BASE_IMAGE ?? "maillab/base:bookworm";
/** What the base is where a registry answers (same Debian as the debootstrap fallback). */
export const BASE_PULL_IMAGE = "debian:bookworm-slim";

/** docker/ of this checkout: server/docker/images.ts → ../../docker. MAILLAB_DOCKER_DIR overrides. */
export function dockerDir(): string {
  return process.env.MAILLAB_DOCKER_DIR ?? fileURLToPath(new URL("../../docker/", import.meta.url));
}

const MACHINE_NAMES: readonly MachineName[] = ["mail", "partner"];

// ---------------------------------------------------------------------------------------------
// Build contexts and tags

interface ContextFile {
  /** Path inside the build context, '/'-separated, e.g. "common/rootfs/usr/local/bin/systemctl". */
  name: string;
  type: "file" | "directory" | "symlink";
  /** Permission bits as stored in the tar (normalised: 0755 or 0644 for files, 0755 for dirs). */
  mode: number;
  content?: Buffer;
  linkname?: string;
}

/** A machine's build context folders under docker/: common/ (shared) and its own (with its Dockerfile). */
function machineDirs(machine: MachineName): string[] {
  return ["common", MACHINE_SPECS[machine].dockerDir];
}

/**
 * The files of a build context: the given folders of docker/ (a machine's: docker/common/ and
 * docker/<machine>/, the Dockerfile being <machine>/Dockerfile). Sorted, with normalised modes, so
 * the same checkout gives the same tar and the same hash on every machine (git does not keep other
 * permission bits either).
 */
function contextFiles(dirs: readonly string[]): ContextFile[] {
  const root = dockerDir();
  const files: ContextFile[] = [];
  const walk = (rel: string) => {
    const abs = path.join(root, rel);
    const st = lstatSync(abs);
    const name = rel.split(path.sep).join("/");
    if (st.isSymbolicLink()) {
      files.push({ name, type: "symlink", mode: 0o777, linkname: readlinkSync(abs) });
    } else if (st.isDirectory()) {
      files.push({ name, type: "directory", mode: 0o755 });
      for (const entry of readdirSync(abs).sort()) walk(path.join(rel, entry));
    } else if (st.isFile()) {
      files.push({ name, type: "file", mode: st.mode & 0o111 ? 0o755 : 0o644, content: readFileSync(abs) });
    }
  };
  for (const dir of dirs) {
    try {
      lstatSync(path.join(root, dir));
    } catch {
      if (dir === "common") continue; // optional
      throw new Error(`image sources missing: ${path.join(root, dir)} (MAILLAB_DOCKER_DIR=${process.env.MAILLAB_DOCKER_DIR ?? "unset"})`);
    }
    walk(dir);
  }
  return files;
}

function contextHash(dirs: readonly string[]): string {
  const h = createHash("sha256");
  // The base's name is part of the recipe (Dockerfile ARG BASE).
  h.update(`base ${BASE_IMAGE}\n`);
  for (const f of contextFiles(dirs)) {
    h.update(`${f.type} ${f.name} ${f.mode.toString(8)} ${f.linkname ?? ""} ${f.content?.length ?? 0}\n`);
    if (f.content) h.update(f.content);
  }
  return h.digest("hex").slice(0, 12);
}

export type ImageTags = Readonly<Record<MachineName, string>>;
let cachedTags: ImageTags | undefined;

/**
 * `{ mail: "maillab/mail:<hash>", partner: "maillab/partner:<hash>" }`, the hash being the first 12
 * hex digits of a SHA-256 over docker/common + docker/<machine> (names, modes, contents), so any
 * edit there gives a new tag and a rebuild. Computed once per process (a few ms); `fresh` re-reads.
 */
export function imageTags(options: { fresh?: boolean } = {}): ImageTags {
  if (!cachedTags || options.fresh) {
    cachedTags = {
      mail: `${MACHINE_SPECS.mail.repository}:${contextHash(machineDirs("mail"))}`,
      partner: `${MACHINE_SPECS.partner.repository}:${contextHash(machineDirs("partner"))}`,
    };
  }
  return cachedTags;
}

/** The tag of one machine's image (see imageTags). */
export function imageTag(machine: MachineName): string {
  return imageTags()[machine];
}

/** The build context of one machine as a tar stream (what `docker build docker/` would send, minus the other machine). */
export function buildContext(machine: MachineName): NodeJS.ReadableStream {
  return packContext(machineDirs(machine));
}

function packContext(dirs: readonly string[]): NodeJS.ReadableStream {
  const tar = pack();
  // A fixed mtime keeps the classic builder's COPY cache valid across checkouts.
  const mtime = new Date("2024-01-01T00:00:00Z");
  for (const f of contextFiles(dirs)) {
    const header = { name: f.name, mode: f.mode, mtime, uid: 0, gid: 0 };
    if (f.type === "directory") tar.entry({ ...header, type: "directory" });
    else if (f.type === "symlink") tar.entry({ ...header, type: "symlink", linkname: f.linkname ?? "" });
    else tar.entry({ ...header, type: "file", size: f.content?.length ?? 0 }, f.content ?? Buffer.alloc(0));
  }
  tar.finalize();
  // tar-stream's Pack is a streamx Readable: docker-modem pipes it like a Node stream.
  return tar as unknown as NodeJS.ReadableStream;
}

// ---------------------------------------------------------------------------------------------
// Status

export interface ImagesStatus {
  tags: ImageTags;
  /** Which machine images exist in the engine. */
  present: Readonly<Record<MachineName, boolean>>;
  /** Machine images still to build (empty: labs can start). */
  missing: MachineName[];
  base: { tag: string; present: boolean };
}

let defaultDocker: Docker | undefined;
function engine(docker?: Docker): Docker {
  // dockerode/docker-modem read DOCKER_HOST (and DOCKER_TLS_VERIFY, DOCKER_CERT_PATH) themselves.
  return docker ?? (defaultDocker ??= new Docker());
}

async function imageExists(docker: Docker, tag: string): Promise<boolean> {
  try {
    await docker.getImage(tag).inspect();
    return true;
  } catch (error) {
    if (statusCode(error) === 404) return false;
    throw error;
  }
}

function statusCode(error: unknown): number | undefined {
  return typeof error === "object" && error !== null && "statusCode" in error && typeof error.statusCode === "number"
    ? error.statusCode
    : undefined;
}

/** Which images exist. Throws if the engine does not answer. */
export async function imagesStatus(options: { docker?: Docker } = {}): Promise<ImagesStatus> {
  const docker = engine(options.docker);
  const tags = imageTags();
  const [mail, partner, base] = await Promise.all([
    imageExists(docker, tags.mail),
    imageExists(docker, tags.partner),
    imageExists(docker, BASE_IMAGE),
  ]);
  const present = { mail, partner };
  return { tags, present, missing: MACHINE_NAMES.filter((m) => !present[m]), base: { tag: BASE_IMAGE, present: base } };
}

// ---------------------------------------------------------------------------------------------
// Building

export interface EnsureImagesOptions {
  /** One line of build output at a time, prefixed with the image (`[mail] Step 3/9 : …`). */
  onProgress?: (line: string) => void;
  /** Rebuild mail and partner even if their tags exist (Docker's layer cache still applies). */
  force?: boolean;
  docker?: Docker;
  /**
   * Network of the build's RUN containers. Default "host" (MAILLAB_BUILD_NETWORK overrides): apt
   * then reaches the mirror exactly like the host does, independent of the bridge's NAT and
   * forwarding rules, which some hosts (and the app's own lab firewall rules) change.
   */
  buildNetwork?: string;
}

// One build at a time per process: later callers join the running build (their onProgress gets the
// lines from then on) and get its result.
let running: { promise: Promise<ImagesStatus>; listeners: Set<(line: string) => void> } | undefined;

/**
 * Builds whatever is missing: the base image (pull debian:bookworm-slim with a short timeout and
 * tag it, else docker/base/build-base.sh), then the mail and partner images. Resolves with the
 * final status; rejects (with the build's last output in the message) if an image could not be
 * built. Safe to call concurrently.
 */
export function ensureImages(options: EnsureImagesOptions = {}): Promise<ImagesStatus> {
  const { onProgress } = options;
  if (running) {
    if (onProgress) running.listeners.add(onProgress);
    return running.promise;
  }
  const listeners = new Set<(line: string) => void>();
  if (onProgress) listeners.add(onProgress);
  const emit = (line: string) => {
    for (const listener of listeners) {
      try {
        listener(line);
      } catch {
        // a broken listener must not break the build
      }
    }
  };
  const promise = runEnsure(options, emit).finally(() => {
    running = undefined;
  });
  running = { promise, listeners };
  return promise;
}

async function runEnsure(options: EnsureImagesOptions, emit: (line: string) => void): Promise<ImagesStatus> {
  const docker = engine(options.docker);
  const tags = imageTags({ fresh: true });
  const before = await imagesStatus({ docker });
  const toBuild = options.force ? [...MACHINE_NAMES] : before.missing;
  if (toBuild.length === 0) return before;

  if (!before.base.present) await ensureBase(docker, emit);

  const network = options.buildNetwork ?? process.env.MAILLAB_BUILD_NETWORK ?? "host";
  // The two builds run side by side: each spends much of its time waiting for the mirror, and
  // their RUN steps share nothing. Progress lines carry the image's name.
  const results = await Promise.allSettled(
    toBuild.map((machine) => buildMachine(docker, machine, tags[machine], network, emit)),
  );
  const failures = results.flatMap((r, i) => (r.status === "rejected" ? [`${toBuild[i]}: ${errorMessage(r.reason)}`] : []));
  if (failures.length > 0) throw new Error(`image build failed: ${failures.join("; ")}`);
  const after = await imagesStatus({ docker });
  if (after.missing.length > 0) throw new Error(`image build finished but ${after.missing.join(", ")} is still missing`);
  return after;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

interface BuildEvent {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string };
}

function buildMachine(docker: Docker, machine: MachineName, tag: string, network: string, emit: (line: string) => void): Promise<void> {
  return buildImageFrom(docker, { name: machine, dirs: machineDirs(machine), dockerfile: `${MACHINE_SPECS[machine].dockerDir}/Dockerfile`, tag, network }, emit);
}

/** Builds `tag` from folders of docker/ (classic builder, BASE as build argument), reporting each line. */
async function buildImageFrom(
  docker: Docker,
  { name, dirs, dockerfile, tag, network }: { name: string; dirs: readonly string[]; dockerfile: string; tag: string; network: string },
  emit: (line: string) => void,
): Promise<void> {
  const started = Date.now();
  const say = (line: string) => emit(`[${name}] ${line}`);
  say(`building ${tag} (network ${network}) ...`);
  const stream = await docker.buildImage(packContext(dirs), {
    t: tag,
    dockerfile,
    buildargs: { BASE: BASE_IMAGE },
    labels: { "maillab.image": name, "maillab.image.tag": tag },
    networkmode: network,
    rm: true,
    forcerm: true,
  });
  // The classic builder reports failures inside the stream ({error}), not as an HTTP error.
  const tail: string[] = [];
  let buildError: string | undefined;
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null) => (err ? reject(err) : resolve()),
      (event: BuildEvent) => {
        const text = event.stream ?? (event.status ? `${event.status}\n` : "");
        for (const line of text.split(/\r?\n/)) {
          const trimmed = line.trimEnd();
          if (!trimmed) continue;
          say(trimmed);
          tail.push(trimmed);
          if (tail.length > 15) tail.shift();
        }
        if (event.error) {
          buildError = event.errorDetail?.message ?? event.error;
          say(`ERROR ${buildError}`);
        }
      },
    );
  });
  if (buildError) throw new Error(`${buildError}\n${tail.join("\n")}`);
  if (!(await imageExists(docker, tag))) throw new Error(`build ended without ${tag}\n${tail.join("\n")}`);
  say(`built ${tag} in ${Math.round((Date.now() - started) / 1000)} s`);
}

// ---------------------------------------------------------------------------------------------
// Swarm tools image

/** docker/swarm-tools: the registry and iptables for a Swarm's nodes (docs/operations.md). */
const TOOLS_DIRS = ["swarm-tools"] as const;
export const TOOLS_REPOSITORY = "maillab/swarm-tools";

/** `maillab/swarm-tools:<hash>`: content hash of docker/swarm-tools and the base, like the machines' tags. */
export function toolsImageTag(): string {
  return `${TOOLS_REPOSITORY}:${contextHash(TOOLS_DIRS)}`;
}

/**
 * Builds the Swarm tools image when it is missing (the base first, if needed). Only Swarm mode needs
 * it (MAILLAB_RUNTIME=swarm): the registry service runs it, and the host firewall of every node is
 * installed from it. Resolves with its tag.
 */
export async function ensureToolsImage(options: { docker?: Docker; onProgress?: (line: string) => void; buildNetwork?: string } = {}): Promise<string> {
  const docker = engine(options.docker);
  const tag = toolsImageTag();
  if (await imageExists(docker, tag)) return tag;
  const emit = options.onProgress ?? (() => undefined);
  if (!(await imageExists(docker, BASE_IMAGE))) await ensureBase(docker, emit);
  const network = options.buildNetwork ?? process.env.MAILLAB_BUILD_NETWORK ?? "host";
  await buildImageFrom(docker, { name: "swarm-tools", dirs: TOOLS_DIRS, dockerfile: "swarm-tools/Dockerfile", tag, network }, emit);
  return tag;
}

// ---------------------------------------------------------------------------------------------
// Base image

/** No first answer from the registry within this time: assume none is reachable (docs/design.md §3). */
const PULL_FIRST_EVENT_TIMEOUT_MS = 15_000;
/** A registry that answers but crawls: give up and debootstrap instead. */
const PULL_TOTAL_TIMEOUT_MS = 5 * 60_000;

/**
 * Makes sure BASE_IMAGE exists: pulls debian:bookworm-slim and tags it where a registry answers,
 * else runs docker/base/build-base.sh (debootstrap from the host's Debian mirror + docker import).
 * Not serialised by itself; ensureImages calls it under its lock.
 */
export async function ensureBaseImage(options: { docker?: Docker; onProgress?: (line: string) => void } = {}): Promise<void> {
  const docker = engine(options.docker);
  if (await imageExists(docker, BASE_IMAGE)) return;
  await ensureBase(docker, options.onProgress ?? (() => undefined));
}

async function ensureBase(docker: Docker, emit: (line: string) => void): Promise<void> {
  const say = (line: string) => emit(`[base] ${line}`);
  say(`${BASE_IMAGE} is missing; trying docker pull ${BASE_PULL_IMAGE} ...`);
  try {
    await pullWithTimeout(docker, BASE_PULL_IMAGE, say);
    const colon = BASE_IMAGE.lastIndexOf(":");
    await docker.getImage(BASE_PULL_IMAGE).tag({ repo: BASE_IMAGE.slice(0, colon), tag: BASE_IMAGE.slice(colon + 1) });
    say(`tagged ${BASE_PULL_IMAGE} as ${BASE_IMAGE}`);
    return;
  } catch (error) {
    say(`pull failed (${errorMessage(error)}); building the base with debootstrap instead ...`);
  }
  await runBuildBase(say);
  if (!(await imageExists(docker, BASE_IMAGE))) throw new Error(`build-base.sh finished but ${BASE_IMAGE} is missing`);
}

async function pullWithTimeout(docker: Docker, image: string, say: (line: string) => void): Promise<void> {
  const stream = (await withTimeout(docker.pull(image), PULL_FIRST_EVENT_TIMEOUT_MS, "no answer from the registry")) as Readable;
  await new Promise<void>((resolve, reject) => {
    let gotEvent = false;
    let lastStatus = "";
    const fail = (message: string) => {
      clearTimeout(firstTimer);
      clearTimeout(totalTimer);
      stream.destroy();
      reject(new Error(message));
    };
    const firstTimer = setTimeout(() => {
      if (!gotEvent) fail(`no progress within ${PULL_FIRST_EVENT_TIMEOUT_MS / 1000} s`);
    }, PULL_FIRST_EVENT_TIMEOUT_MS);
    const totalTimer = setTimeout(() => fail(`not done within ${PULL_TOTAL_TIMEOUT_MS / 1000} s`), PULL_TOTAL_TIMEOUT_MS);
    docker.modem.followProgress(
      stream,
      (err: Error | null, output: BuildEvent[]) => {
        clearTimeout(firstTimer);
        clearTimeout(totalTimer);
        const failed = output?.find((e) => e.error);
        if (err) reject(err);
        else if (failed) reject(new Error(failed.errorDetail?.message ?? failed.error));
        else resolve();
      },
      (event: BuildEvent) => {
        gotEvent = true;
        // Layer-by-layer byte counts are noise; report each distinct status once.
        if (event.status && event.status !== lastStatus && !event.status.startsWith("Download") && !event.status.startsWith("Extract")) {
          lastStatus = event.status;
          say(event.status);
        }
      },
    );
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(message)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** docker/base/build-base.sh <tag>: debootstrap from the host's Debian mirror + docker import (needs root). */
function runBuildBase(say: (line: string) => void): Promise<void> {
  const script = path.join(dockerDir(), "base", "build-base.sh");
  return new Promise<void>((resolve, reject) => {
    const child = spawn("bash", [script, BASE_IMAGE], { stdio: ["ignore", "pipe", "pipe"] });
    const tail: string[] = [];
    const onData = (() => {
      let partial = "";
      return (chunk: Buffer) => {
        const lines = (partial + chunk.toString("utf8")).split(/\r?\n/);
        partial = lines.pop() ?? "";
        for (const line of lines) {
          if (!line.trim()) continue;
          say(line);
          tail.push(line);
          if (tail.length > 15) tail.shift();
        }
      };
    })();
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("error", (error) => reject(new Error(`cannot run ${script}: ${error.message}`)));
    child.on("close", (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${script} exited with ${code}\n${tail.join("\n")}`));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Housekeeping

/**
 * Removes maillab/mail and maillab/partner images whose content-hash tag is not the current one and
 * that no container uses (each docker/ edit leaves a ~0.5 GB image behind). Tags that are not
 * content hashes (`dev`, `latest`, an operator's own) are left alone. Returns the removed tags.
 */
export async function removeStaleImages(options: { docker?: Docker; onProgress?: (line: string) => void } = {}): Promise<string[]> {
  const docker = engine(options.docker);
  const current = new Set(Object.values(imageTags()));
  const removed: string[] = [];
  for (const machine of MACHINE_NAMES) {
    const repo = MACHINE_SPECS[machine].repository;
    const images = await docker.listImages({ filters: { reference: [repo] } });
    for (const image of images) {
      for (const tag of image.RepoTags ?? []) {
        if (current.has(tag) || !new RegExp(`^${repo}:[0-9a-f]{12}$`).test(tag)) continue;
        try {
          await docker.getImage(tag).remove();
          removed.push(tag);
          options.onProgress?.(`removed ${tag}`);
        } catch (error) {
          // 409: a container (maybe a stopped learner environment) still uses it — keep it.
          options.onProgress?.(`kept ${tag}: ${statusCode(error) === 409 ? "in use" : errorMessage(error)}`);
        }
      }
    }
  }
  return removed;
}

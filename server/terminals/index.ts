/**
 * Browser terminals: the only node-pty importer (docs/ARCHITECTURE.md).
 *
 *   const terminals = createTerminalUpgradeHandler({ authorize, spawnSpec, onPrompt, onActivity, recordingsDir });
 *   server.on("upgrade", (req, socket, head) => {
 *     if (req.url?.startsWith(TERMINAL_PATH_PREFIX)) terminals(req, socket, head);
 *   });
 *   // reset:   terminals.resetEnvironment(id, () => resetTheMachines(id))
 *   // destroy: terminals.removeEnvironment(id, "removed" | "class-ended"), then deleteRecordings(id)
 *
 * The wire protocol lives in `@/lib/terminal-protocol`.
 */
export {
  createTerminalUpgradeHandler,
  type EnvironmentGoneReason,
  type TerminalAuthResult,
  type TerminalServerOptions,
  type TerminalSessionInfo,
  type TerminalUpgradeHandler,
} from "./upgrade";
export type { SpawnSpec, SessionStats } from "./session";
export { dockerExecSpawnSpec, type DockerExecOptions } from "./docker-exec";
export {
  DEFAULT_MAX_ENVIRONMENT_RECORDING_BYTES,
  DEFAULT_MAX_RECORDING_BYTES,
  deleteRecordings,
  listRecordings,
  type RecordingInfo,
} from "./recorder";
export { TERMINAL_PATH_PREFIX } from "@/lib/terminal-protocol";

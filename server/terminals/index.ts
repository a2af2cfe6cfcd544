/**
 * Browser terminals (DESIGN.md §5): the only node-pty importer.
 *
 *   const terminals = createTerminalUpgradeHandler({ authorize, spawnSpec, onPrompt, onActivity, recordingsDir });
 *   server.on("upgrade", (req, socket, head) => {
 *     if (req.url?.startsWith(TERMINAL_PATH_PREFIX)) terminals(req, socket, head);
 *   });
 *
 * The wire protocol lives in `@/lib/terminal-protocol`.
 */
export {
  createTerminalUpgradeHandler,
  type TerminalAuthResult,
  type TerminalServerOptions,
  type TerminalSessionInfo,
  type TerminalUpgradeHandler,
} from "./upgrade";
export type { SpawnSpec, SessionStats } from "./session";
export { dockerExecSpawnSpec, type DockerExecOptions } from "./docker-exec";
export { listRecordings, type RecordingInfo } from "./recorder";
export { TERMINAL_PATH_PREFIX } from "@/lib/terminal-protocol";

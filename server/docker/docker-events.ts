// Follows the engine's container events for maillab containers, so an environment whose machine
// died (OOM, `docker stop` by an operator, engine restart) shows its real status instead of a stale
// "running". Reconnects with a backoff when the stream breaks; the caller reconciles on reconnect.
import type Dockerode from "dockerode";
import { LABEL_ENVIRONMENT } from "./labels";

export interface ContainerEvent {
  /** start, die, stop, kill, oom, destroy, rename ... */
  action: string;
  containerId: string;
  attributes: Record<string, string>;
}

const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 30_000;

export function watchContainerEvents(
  docker: Dockerode,
  onEvent: (event: ContainerEvent) => void,
  { onReconnect, log }: { onReconnect: () => void; log: (line: string) => void },
): { ready: Promise<void>; close(): void } {
  let closed = false;
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  let stream: (NodeJS.ReadableStream & { destroy?: () => void }) | undefined;
  let delay = RECONNECT_MIN_MS;
  let timer: NodeJS.Timeout | undefined;

  const connect = async (isReconnect: boolean) => {
    try {
      const s = (await docker.getEvents({
        filters: { type: ["container"], label: [LABEL_ENVIRONMENT] },
      })) as NodeJS.ReadableStream & { destroy?: () => void };
      markReady();
      if (closed) return s.destroy?.();
      stream = s;
      delay = RECONNECT_MIN_MS;
      if (isReconnect) onReconnect();
      let buffered = "";
      s.on("data", (chunk: Buffer | string) => {
        buffered += chunk.toString();
        let newline: number;
        while ((newline = buffered.indexOf("\n")) >= 0) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          if (line) handle(line);
        }
      });
      s.once("error", () => retry());
      s.once("end", () => retry());
    } catch (error) {
      markReady(); // don't hold up start-up: the reconnect reconciles
      if (!closed) log(`docker events: ${error instanceof Error ? error.message : String(error)}`);
      retry();
    }
  };

  const handle = (line: string) => {
    try {
      const raw = JSON.parse(line) as { Action?: string; status?: string; Actor?: { ID?: string; Attributes?: Record<string, string> } };
      const action = (raw.Action ?? raw.status ?? "").split(":")[0]!; // "exec_start: bash" → exec_start
      if (!raw.Actor?.ID) return;
      onEvent({ action, containerId: raw.Actor.ID, attributes: raw.Actor.Attributes ?? {} });
    } catch {
      // a partial or foreign line: ignore
    }
  };

  const retry = () => {
    stream = undefined;
    if (closed || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void connect(true);
    }, delay);
    timer.unref();
    delay = Math.min(delay * 2, RECONNECT_MAX_MS);
  };

  void connect(false);
  return {
    /** Resolves once the first subscription is in place (or failed), so a listing taken after it misses nothing. */
    ready,
    close() {
      closed = true;
      clearTimeout(timer);
      stream?.destroy?.();
    },
  };
}

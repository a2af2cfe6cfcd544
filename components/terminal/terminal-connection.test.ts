/**
 * TerminalConnection against a real `ws` server on port 0 that scripts the
 * server side of the protocol (no Docker needed).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import {
  encodeMessage,
  parseClientMessage,
  TERMINAL_LIMITS,
  TerminalCloseCode,
  type ClientMessage,
  type ServerMessage,
} from "@/lib/terminal-protocol";
import { TerminalConnection, type ConnectionState, type WebSocketConstructor } from "./terminal-connection";

interface Peer {
  ws: WebSocket;
  messages: ClientMessage[];
  input: Buffer[];
}

/** A scripted server: `onPeer` is called for every accepted socket. */
async function scriptedServer(opts: { refuse?: number; onPeer?: (p: Peer) => void } = {}) {
  const wss = new WebSocketServer({ noServer: true });
  const peers: Peer[] = [];
  let attempts = 0;
  const server = http.createServer();
  server.on("upgrade", (req, socket, head) => {
    attempts++;
    if (opts.refuse) {
      socket.end(`HTTP/1.1 ${opts.refuse} Refused\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const peer: Peer = { ws, messages: [], input: [] };
      peers.push(peer);
      ws.on("message", (data, isBinary) => {
        if (isBinary) peer.input.push(data as Buffer);
        else peer.messages.push(parseClientMessage(data.toString())!);
      });
      opts.onPeer?.(peer);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}/ws/terminal/abcdefghij12/mail`,
    peers,
    get attempts() {
      return attempts;
    },
    async close() {
      for (const c of wss.clients) c.terminate();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const send = (ws: WebSocket, m: ServerMessage) => ws.send(encodeMessage(m));
const ready = (session: string, seq: number, extra: Partial<Extract<ServerMessage, { type: "ready" }>> = {}): ServerMessage => ({
  type: "ready",
  session,
  seq,
  you: "p1",
  role: "learner",
  readOnly: false,
  canControl: false,
  control: null,
  viewers: [],
  cols: 80,
  rows: 24,
  ...extra,
});

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function client(url: string, overrides: Partial<ConstructorParameters<typeof TerminalConnection>[0]> = {}) {
  const out: Buffer[] = [];
  const states: ConnectionState[] = [];
  let resets = 0;
  const conn = new TerminalConnection({
    url,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    size: () => ({ cols: 100, rows: 30 }),
    onOutput: (d, processed) => {
      out.push(Buffer.from(d));
      processed();
    },
    onReset: () => {
      resets++;
      out.length = 0;
    },
    onState: (s) => states.push(s),
    backoff: { initialMs: 40, maxMs: 200, factor: 2, jitter: 0 },
    ...overrides,
  });
  cleanups.push(() => conn.close());
  return { conn, out, states, resets: () => resets, text: () => Buffer.concat(out).toString() };
}

describe("TerminalConnection", () => {
  it("says hello with its size, acks output, sends input only when it may", async () => {
    const srv = await scriptedServer({
      onPeer: (p) => {
        p.ws.once("message", () => {
          send(p.ws, ready("S1", 0));
          // 100 KiB in 10 KiB frames → the client acks every 32 KiB.
          for (let i = 0; i < 10; i++) p.ws.send(Buffer.alloc(10 * 1024, 0x61 + i));
        });
      },
    });
    cleanups.push(() => srv.close());
    const c = client(srv.url);
    expect(c.conn.sendInput("early")).toBe(false);
    c.conn.connect();
    await expect.poll(() => c.conn.seq).toBe(100 * 1024);
    const peer = srv.peers[0]!;
    expect(peer.messages[0]).toEqual({ type: "hello", lastSeq: 0, cols: 100, rows: 30 });
    await expect.poll(() => peer.messages.filter((m) => m.type === "ack").map((m) => (m as { seq: number }).seq)).toEqual([
      40 * 1024,
      80 * 1024,
    ]);
    expect(c.conn.state.status).toBe("open");
    expect(c.conn.sendInput("ls\r")).toBe(true);
    c.conn.resize(120, 40);
    await expect.poll(() => peer.input.map(String).join("")).toBe("ls\r");
    await expect.poll(() => peer.messages.at(-1)).toEqual({ type: "resize", cols: 120, rows: 40 });
  });

  it("splits big pastes into frames below maxPayload without splitting surrogate pairs", async () => {
    const srv = await scriptedServer({ onPeer: (p) => p.ws.once("message", () => send(p.ws, ready("S1", 0))) });
    cleanups.push(() => srv.close());
    const c = client(srv.url);
    c.conn.connect();
    await expect.poll(() => c.conn.state.status).toBe("open");
    const text = "a" + "😀".repeat(TERMINAL_LIMITS.inputChunkChars) + "end";
    expect(c.conn.sendInput(text)).toBe(true);
    const peer = srv.peers[0]!;
    await expect.poll(() => Buffer.concat(peer.input).toString("utf8")).toBe(text);
    for (const f of peer.input) {
      expect(f.length).toBeLessThanOrEqual(TERMINAL_LIMITS.maxPayload);
      expect(f.toString("utf8")).not.toContain("\ufffd");
    }
  });

  it("reconnects with backoff and resumes from the byte it had", async () => {
    const srv = await scriptedServer({
      onPeer: (p) => {
        p.ws.once("message", (raw) => {
          const hello = parseClientMessage(raw.toString());
          if (hello?.type !== "hello") throw new Error("expected hello");
          if (hello.lastSeq === 0) {
            send(p.ws, ready("S1", 0));
            p.ws.send(Buffer.from("one "));
            setTimeout(() => p.ws.terminate(), 30); // network drop
          } else {
            send(p.ws, ready("S1", hello.lastSeq));
            p.ws.send(Buffer.from("two"));
          }
        });
      },
    });
    cleanups.push(() => srv.close());
    const c = client(srv.url);
    c.conn.connect();
    await expect.poll(() => c.text()).toBe("one two");
    expect(srv.peers[1]!.messages[0]).toEqual({ type: "hello", session: "S1", lastSeq: 4, cols: 100, rows: 30 });
    expect(c.states.some((s) => s.status === "reconnecting" && s.retryAt !== null)).toBe(true);
    expect(c.resets()).toBe(0);
  });

  it("clears the screen on reset", async () => {
    const srv = await scriptedServer({
      onPeer: (p) =>
        p.ws.once("message", () => {
          p.ws.send(Buffer.from("x")); // ignored framing check: output before ready still counts
          send(p.ws, { type: "reset", seq: 500 });
          send(p.ws, ready("S2", 500));
          p.ws.send(Buffer.from("fresh"));
        }),
    });
    cleanups.push(() => srv.close());
    const c = client(srv.url);
    c.conn.connect();
    await expect.poll(() => c.text()).toBe("fresh");
    expect(c.resets()).toBe(1);
    expect(c.conn.seq).toBe(505);
    expect(c.conn.sessionId).toBe("S2");
  });

  it("never retries after a 44xx close", async () => {
    const srv = await scriptedServer({
      onPeer: (p) =>
        p.ws.once("message", () => {
          send(p.ws, ready("S1", 0));
          p.ws.close(TerminalCloseCode.FORBIDDEN, "not yours");
        }),
    });
    cleanups.push(() => srv.close());
    const c = client(srv.url);
    c.conn.connect();
    await expect.poll(() => c.conn.state.status).toBe("failed");
    await new Promise((r) => setTimeout(r, 300));
    expect(srv.attempts).toBe(1);
    expect(c.conn.state).toMatchObject({ closeCode: 4403, message: "not yours" });
  });

  it("does not reconnect after exit; restart() starts over", async () => {
    const srv = await scriptedServer({
      onPeer: (p) =>
        p.ws.once("message", () => {
          send(p.ws, ready(`S${srv.attempts}`, 0));
          p.ws.send(Buffer.from(`shell${srv.attempts} `));
          if (srv.attempts === 1) {
            send(p.ws, { type: "exit", code: 2 });
            p.ws.close(1000, "exited");
          }
        }),
    });
    cleanups.push(() => srv.close());
    const c = client(srv.url);
    c.conn.connect();
    await expect.poll(() => c.conn.state.status).toBe("exited");
    expect(c.conn.state.exitCode).toBe(2);
    await new Promise((r) => setTimeout(r, 200));
    expect(srv.attempts).toBe(1);
    c.conn.restart();
    await expect.poll(() => c.text()).toBe("shell1 shell2 ");
    expect(srv.peers[1]!.messages[0]).toEqual({ type: "hello", lastSeq: 0, cols: 100, rows: 30 });
  });

  it("gives up after attempts that never open (refused upgrades), with growing delays", async () => {
    const srv = await scriptedServer({ refuse: 401 });
    cleanups.push(() => srv.close());
    const c = client(srv.url, { maxFailedAttempts: 4, backoff: { initialMs: 20, maxMs: 100, factor: 2, jitter: 0 } });
    c.conn.connect();
    await expect.poll(() => c.conn.state.status, { timeout: 5000 }).toBe("failed");
    expect(srv.attempts).toBe(4);
    const delays = c.states.filter((s) => s.status === "reconnecting" && s.retryAt !== null).length;
    expect(delays).toBe(3);
    // "Try again" starts a new round of attempts.
    c.conn.retryNow();
    await expect.poll(() => srv.attempts, { timeout: 5000 }).toBe(8);
    await expect.poll(() => c.conn.state.status).toBe("failed");
  });

  it("tracks control and viewers notices", async () => {
    const srv = await scriptedServer({
      onPeer: (p) =>
        p.ws.once("message", () => {
          send(p.ws, ready("S1", 0, { role: "viewer", readOnly: true, canControl: true, you: "p9" }));
          p.ws.once("message", (m) => {
            if (parseClientMessage(m.toString())?.type === "control") {
              send(p.ws, { type: "control", holder: { id: "p9", name: "T", role: "viewer" }, readOnly: false });
              send(p.ws, { type: "viewers", viewers: [{ id: "p9", name: "T", role: "viewer" }] });
            }
          });
        }),
    });
    cleanups.push(() => srv.close());
    const c = client(srv.url);
    c.conn.connect();
    await expect.poll(() => c.conn.state.status).toBe("open");
    expect(c.conn.sendInput("x")).toBe(false);
    c.conn.takeControl(true);
    await expect.poll(() => c.conn.state.readOnly).toBe(false);
    expect(c.conn.state.control?.name).toBe("T");
    expect(c.conn.state.viewers).toHaveLength(1);
    expect(c.conn.sendInput("x")).toBe(true);
  });

  it("after 4100 (machines reset) comes back at once, shows resetting until ready, and counts no failure", async () => {
    const srv = await scriptedServer({
      onPeer: (p) =>
        p.ws.once("message", () => {
          if (srv.attempts === 1) {
            send(p.ws, ready("S1", 0));
            p.ws.send(Buffer.from("old "));
            p.ws.close(TerminalCloseCode.MACHINES_RESET, "machines reset");
            return;
          }
          // Held by the server while the machines are replaced, then a new shell.
          setTimeout(() => {
            send(p.ws, { type: "reset", seq: 0 });
            send(p.ws, ready("S2", 0));
            p.ws.send(Buffer.from("new"));
          }, 300);
        }),
    });
    cleanups.push(() => srv.close());
    const c = client(srv.url, { backoff: { initialMs: 5000, maxMs: 5000, factor: 1, jitter: 0 } });
    c.conn.connect();
    await expect.poll(() => c.conn.state.status).toBe("resetting");
    await expect.poll(() => srv.attempts, { timeout: 1000 }).toBe(2); // not after the 5 s backoff
    expect(c.conn.state.status).toBe("resetting");
    await expect.poll(() => c.text()).toBe("new");
    expect(c.conn.state.status).toBe("open");
    expect(c.states.some((s) => s.status === "reconnecting" || s.status === "failed" || s.status === "exited")).toBe(false);
  });

  it.each([
    [TerminalCloseCode.CLASS_ENDED, "class ended"],
    [TerminalCloseCode.ENVIRONMENT_REMOVED, "environment removed"],
  ])("after %i the status is ended for good (no retry, retryNow does nothing, typing refused)", async (code, reason) => {
    const srv = await scriptedServer({
      onPeer: (p) =>
        p.ws.once("message", () => {
          send(p.ws, ready("S1", 0));
          p.ws.close(code, reason);
        }),
    });
    cleanups.push(() => srv.close());
    const c = client(srv.url);
    c.conn.connect();
    await expect.poll(() => c.conn.state.status).toBe("ended");
    expect(c.conn.state).toMatchObject({ closeCode: code, message: reason });
    c.conn.retryNow();
    expect(c.conn.sendInput("ls\r")).toBe(false);
    await new Promise((r) => setTimeout(r, 300));
    expect(srv.attempts).toBe(1);
  });

  it("hands size notices to onSize in order with the output", async () => {
    const srv = await scriptedServer({
      onPeer: (p) =>
        p.ws.once("message", () => {
          send(p.ws, ready("S1", 0, { cols: 120, rows: 30 }));
          p.ws.send(Buffer.from("wide "));
          send(p.ws, { type: "size", cols: 80, rows: 24 });
          p.ws.send(Buffer.from("narrow"));
        }),
    });
    cleanups.push(() => srv.close());
    const events: string[] = [];
    const c = client(srv.url, {
      onOutput: (d, processed) => {
        events.push(Buffer.from(d).toString());
        processed();
      },
      onSize: (cols, rows) => events.push(`${cols}x${rows}`),
    });
    c.conn.connect();
    await expect.poll(() => events.length).toBe(4);
    expect(events).toEqual(["120x30", "wide ", "80x24", "narrow"]);
  });

  it("keeps what is typed before the first ready and sends it then, in order", async () => {
    const srv = await scriptedServer({
      onPeer: (p) => p.ws.once("message", () => setTimeout(() => send(p.ws, ready("S1", 0)), 200)),
    });
    cleanups.push(() => srv.close());
    const c = client(srv.url);
    c.conn.connect();
    expect(c.conn.sendInput("echo ")).toBe(true);
    expect(c.conn.sendInput(new TextEncoder().encode("early\r"))).toBe(true);
    expect(c.conn.state.queuedInput).toBe(11);
    await expect.poll(() => srv.peers.length).toBe(1);
    const peer = srv.peers[0]!;
    await expect.poll(() => Buffer.concat(peer.input).toString()).toBe("echo early\r");
    expect(c.conn.state.queuedInput).toBe(0);
  });
});

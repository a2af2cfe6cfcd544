/**
 * Integration tests: the real upgrade handler on a real HTTP server (port 0),
 * real `ws` sockets, node-pty running `docker exec … bash -l` in a throwaway
 * container, and the real client class (TerminalConnection).
 */
import { createHash } from "node:crypto";
import http from "node:http";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import type { Socket } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import {
  encodeMessage,
  parseServerMessage,
  TERMINAL_FLOW,
  TERMINAL_LIMITS,
  TerminalCloseCode,
  type ServerMessage,
} from "@/lib/terminal-protocol";
import type { MachineName } from "@/lib/machines";
import {
  containerExec,
  freshEnvId,
  plain,
  removeTestContainer,
  startTestContainer,
  startTestServer,
  testSpawnSpec,
  TestMachines,
  TestTerminal,
  type TestServer,
} from "./testing";
import type { TerminalAuthResult } from "./upgrade";

let container = "";
let server: TestServer;
let recordingsDir = "";
const prompts: { envId: string; machine: MachineName; status: number }[] = [];
const activity: string[] = [];
const enters: string[] = [];
/** Per-env authorization overrides; default: learner "Ada". */
const authz = new Map<string, TerminalAuthResult>();
const VIEWER_TOKEN = "instructor-token";
const VIEWER = { headers: { Authorization: `Bearer ${VIEWER_TOKEN}` } };
const terminals: TestTerminal[] = [];
/** Environments with machines of their own (reset tests); the others share `container`. */
const envMachines = new Map<string, TestMachines>();

function term(envId: string, opts: ConstructorParameters<typeof TestTerminal>[1] = {}, machine: MachineName = "mail"): TestTerminal {
  const t = new TestTerminal(server.url(envId, machine), opts);
  terminals.push(t);
  return t.connect();
}

const PROMPT = /root@[^:]+:~# $/;

/** Opens a terminal and waits for the first prompt. */
async function ready(envId: string, opts: ConstructorParameters<typeof TestTerminal>[1] = {}): Promise<TestTerminal> {
  const t = term(envId, opts);
  await t.waitStatus("open");
  await t.waitFor(PROMPT);
  return t;
}

beforeAll(async () => {
  container = await startTestContainer();
  recordingsDir = await mkdtemp(path.join(os.tmpdir(), "maillab-rec-"));
  server = await startTestServer({
    authorize: (req, envId) => {
      if (req.headers.authorization === `Bearer ${VIEWER_TOKEN}`) return { ok: true, role: "instructor", name: "Ms Teacher" };
      return authz.get(envId) ?? { ok: true, role: "learner", name: "Ada" };
    },
    spawnSpec: (envId, machine) => testSpawnSpec(envMachines.get(envId)?.name(machine) ?? container),
    onPrompt: (envId, machine, status) => prompts.push({ envId, machine, status }),
    onActivity: (envId) => activity.push(envId),
    onEnter: (envId) => enters.push(envId),
    recordingsDir,
    idleGraceMs: 60_000,
    pingIntervalMs: 0,
    log: () => {},
  });
});

afterAll(async () => {
  for (const t of terminals) t.close();
  await server?.close();
  if (container) await removeTestContainer(container);
  await Promise.all([...envMachines.values()].map((m) => m.remove()));
  if (recordingsDir) await rm(recordingsDir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A raw socket that said hello and got `ready`; collects text frames and output. */
async function rawTerminal(envId: string, opts: { headers?: Record<string, string>; first?: (ws: WebSocket) => void } = {}) {
  const ws = new WebSocket(server.url(envId, "mail"), opts.headers ? { headers: opts.headers } : undefined);
  const messages: ServerMessage[] = [];
  const output: Buffer[] = [];
  ws.on("message", (d, isBinary) => (isBinary ? output.push(d as Buffer) : messages.push(parseServerMessage(d.toString())!)));
  await new Promise((r) => ws.once("open", r));
  ws.send(encodeMessage({ type: "hello", lastSeq: 0, cols: 80, rows: 24 }));
  opts.first?.(ws);
  return { ws, messages, text: () => Buffer.concat(output).toString("utf8") };
}

describe("terminal over WebSocket", () => {
  it("echoes typed input and runs commands", async () => {
    const t = await ready(freshEnvId());
    const from = t.textLength;
    expect(t.type("echo hello-$((6*7))\r")).toBe(true);
    await t.waitFor("hello-42\r\n", 10_000, from);
    expect(t.state.role).toBe("learner");
    expect(t.state.readOnly).toBe(false);
  });

  it("resizes the pty: stty size follows", async () => {
    const t = await ready(freshEnvId(), { cols: 80, rows: 24 });
    let from = t.textLength;
    t.type("stty size\r");
    await t.waitFor("24 80", 10_000, from);
    t.conn.resize(132, 43);
    await new Promise((r) => setTimeout(r, 100));
    from = t.textLength;
    t.type("stty size\r");
    await t.waitFor("43 132", 10_000, from);
  });

  it("delivers 10 MB of output completely, acked, with bounded server buffers", async () => {
    const envId = freshEnvId();
    // A slow consumer (like a busy browser tab) so that flow control must engage.
    const t = await ready(envId, { processBytesPerSec: 2_000_000, cols: 250 });
    const from = t.textLength;
    // 7.5 MB random → 10 MB base64, plus its checksum; the trailer marks the end.
    t.type("head -c 7500000 /dev/urandom > /tmp/big && base64 -w 76 /tmp/big && sha256sum /tmp/big && echo END-OF-BIG\r");
    await t.waitFor(/[0-9a-f]{64} {2}\/tmp\/big\r\nEND-OF-BIG/, 120_000, from);
    const out = plain(t.textFrom(from));
    const lines = out.split("\n");
    const start = lines.findIndex((l) => l.endsWith("echo END-OF-BIG"));
    const sumLine = lines.findIndex((l) => l.endsWith("  /tmp/big"));
    const b64 = lines.slice(start + 1, sumLine).join("");
    expect(b64.length).toBeGreaterThanOrEqual(10_000_000);
    const data = Buffer.from(b64, "base64");
    expect(data.length).toBe(7_500_000);
    expect(createHash("sha256").update(data).digest("hex")).toBe(lines[sumLine]!.slice(0, 64));

    const stats = server.handler.session(envId, "mail")!.stats();
    // Flow control engaged, and the server never held more than the window per socket.
    expect(stats.pauses).toBeGreaterThan(0);
    expect(stats.maxUnacked).toBeLessThanOrEqual(TERMINAL_FLOW.highWater);
    expect(stats.maxBufferedAmount).toBeLessThanOrEqual(TERMINAL_FLOW.highWater);
    // The pty is paused at high water; at most a read or two arrive after the pause.
    expect(stats.maxLag).toBeLessThanOrEqual(TERMINAL_FLOW.highWater + 256 * 1024);
    expect(stats.replayHeldBytes).toBeLessThanOrEqual(TERMINAL_FLOW.replayBytes + 16 * 1024);
    console.log("10 MB output stats", stats);
  });

  it("replays exactly what was missed when the socket drops mid-output", async () => {
    const envId = freshEnvId();
    const t = await ready(envId, { processDelayMs: 0 });
    const session = t.conn.sessionId;
    const from = t.textLength;
    t.type("seq 1 200000; echo SEQ-''DONE\r");
    await t.until(() => t.textLength - from > 200_000, "some output");
    t.drop();
    await t.waitStatus("reconnecting");
    await t.waitFor("SEQ-DONE\r\n", 60_000, from);
    expect(t.resets).toBe(0);
    expect(t.conn.sessionId).toBe(session);
    expect(t.sockets.length).toBeGreaterThanOrEqual(2);
    const out = plain(t.textFrom(from));
    const nums = out.split("\n").filter((l) => /^\d+$/.test(l)).map(Number);
    expect(nums.length).toBe(200_000);
    for (let i = 0; i < nums.length; i++) if (nums[i] !== i + 1) throw new Error(`line ${i}: ${nums[i]}`);
  });

  it("keeps the shell and its command running across a disconnect", async () => {
    const envId = freshEnvId();
    const t = await ready(envId, { backoff: { initialMs: 1500, maxMs: 1500, factor: 1, jitter: 0 } });
    const from = t.textLength;
    t.type("sleep 3; echo do''ne-$((40+2))\r");
    await t.waitFor("sleep 3", 5_000, from);
    t.drop();
    await t.waitStatus("reconnecting");
    await t.waitStatus("open", 10_000);
    await t.waitFor("done-42", 10_000, from);
    expect(plain(t.textFrom(from)).match(/done-42/g)).toHaveLength(1);
    // still the same shell
    expect(server.handler.session(envId, "mail")?.id).toBe(t.conn.sessionId);
  });

  it("closes a socket that sends a malformed control frame with 1007; the session lives on", async () => {
    const envId = freshEnvId();
    const t = await ready(envId);
    t.type("export KEEP=still-here\r");
    await new Promise((r) => setTimeout(r, 300));
    const session = t.conn.sessionId;

    const ws = new WebSocket(server.url(envId, "mail"));
    await new Promise((r) => ws.once("open", r));
    ws.send(encodeMessage({ type: "hello", lastSeq: 0, cols: 80, rows: 24 }));
    await new Promise((r) => ws.once("message", r));
    ws.send('{"type":"resize","cols":"wide"}');
    const code = await new Promise<number>((r) => ws.once("close", (c) => r(c)));
    expect(code).toBe(TerminalCloseCode.INVALID_FRAME);

    // Not JSON at all, and binary before hello, close the same way.
    for (const send of [(w: WebSocket) => w.send("{nope"), (w: WebSocket) => w.send(Buffer.from("ls\r"))]) {
      const w = new WebSocket(server.url(envId, "mail"));
      await new Promise((r) => w.once("open", r));
      send(w);
      expect(await new Promise<number>((r) => w.once("close", (c) => r(c)))).toBe(TerminalCloseCode.INVALID_FRAME);
    }

    // An oversized frame is refused by ws itself with 1009.
    const big = new WebSocket(server.url(envId, "mail"));
    await new Promise((r) => big.once("open", r));
    big.send(encodeMessage({ type: "hello", lastSeq: 0, cols: 80, rows: 24 }));
    big.send(Buffer.alloc(200 * 1024, 0x61));
    expect(await new Promise<number>((r) => big.once("close", (c) => r(c)))).toBe(TerminalCloseCode.TOO_BIG);

    // The shell is untouched: same session, and a new socket still works.
    expect(server.handler.session(envId, "mail")?.id).toBe(session);
    const t2 = await ready(envId);
    const from = t2.textLength;
    t2.type("echo $KEEP\r");
    await t2.waitFor("still-here\r\n", 10_000, from);
    expect(t2.conn.sessionId).toBe(session);
  });

  it("refuses unauthorized upgrades with a plain HTTP status before upgrading", async () => {
    const status = (url: string, headers?: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(url, { headers });
        ws.once("unexpected-response", (_req, res) => {
          resolve(res.statusCode ?? 0);
          ws.terminate();
        });
        ws.once("open", () => reject(new Error("upgrade should have been refused")));
        ws.once("error", () => {});
      });
    const denied = freshEnvId();
    authz.set(denied, { ok: false, status: 401 });
    expect(await status(server.url(denied, "mail"))).toBe(401);
    const forbidden = freshEnvId();
    authz.set(forbidden, { ok: false, status: 403 });
    expect(await status(server.url(forbidden, "mail"))).toBe(403);
    const gone = freshEnvId();
    authz.set(gone, { ok: false, status: 404 });
    expect(await status(server.url(gone, "partner"))).toBe(404);
    // Malformed paths never reach authorize.
    expect(await status(`ws://127.0.0.1:${server.port}/ws/terminal/NOT-AN-ID/mail`)).toBe(400);
    expect(await status(`ws://127.0.0.1:${server.port}/ws/terminal/abcdefghij12/router`)).toBe(400);
    // Cross-site origin
    expect(await status(server.url(freshEnvId(), "mail"), { Origin: "https://evil.example" })).toBe(403);
    // No session was started for any of them.
    for (const env of [denied, forbidden, gone]) expect(server.handler.session(env, "mail")).toBeUndefined();

    // The raw response is plain HTTP (no 101), then the socket is closed.
    const raw = await new Promise<string>((resolve) => {
      const req = http.request({
        port: server.port,
        host: "127.0.0.1",
        path: `/ws/terminal/${denied}/mail`,
        headers: { Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==" },
      });
      req.on("response", (res) => resolve(`${res.statusCode}`));
      req.on("upgrade", () => resolve("101"));
      req.end();
    });
    expect(raw).toBe("401");

    // The client gives up on 44xx close codes.
    expect(TerminalCloseCode.FORBIDDEN).toBe(4403);
  });

  it("lets a viewer watch but not type, until it takes control", async () => {
    const envId = freshEnvId();
    const learner = await ready(envId);
    const viewer = term(envId, { headers: { Authorization: `Bearer ${VIEWER_TOKEN}` } });
    await viewer.waitStatus("open");
    expect(viewer.state.role).toBe("viewer");
    expect(viewer.state.readOnly).toBe(true);
    expect(viewer.state.canControl).toBe(true);
    await learner.until(() => learner.state.viewers.some((v) => v.name === "Ms Teacher"), "viewer notice");

    // The client refuses to send while read-only; a raw socket's bytes are dropped by the server.
    expect(viewer.type("touch /tmp/viewer-typed\r")).toBe(false);
    const raw = new WebSocket(server.url(envId, "mail"), { headers: { Authorization: `Bearer ${VIEWER_TOKEN}` } });
    await new Promise((r) => raw.once("open", r));
    raw.send(encodeMessage({ type: "hello", lastSeq: 0, cols: 80, rows: 24 }));
    await new Promise((r) => raw.once("message", r));
    raw.send(Buffer.from("touch /tmp/viewer-typed\r"));
    await new Promise((r) => setTimeout(r, 500));
    expect(server.handler.session(envId, "mail")!.stats().droppedInputBytes).toBeGreaterThan(0);
    expect(await containerExec(container, "test -e /tmp/viewer-typed && echo yes || echo no")).toBe("no\n");
    raw.close();

    // The viewer sees what the learner types.
    let from = viewer.textLength;
    learner.type("echo learner-$((1+1))\r");
    await viewer.waitFor("learner-2\r\n", 10_000, from);

    // Take over: everyone is told; the learner sees who is helping.
    viewer.conn.takeControl(true);
    await viewer.until(() => viewer.state.readOnly === false, "control granted");
    await learner.until(() => learner.state.control?.name === "Ms Teacher", "helping notice");
    from = learner.textLength;
    expect(viewer.type("echo helper-$((2+3))\r")).toBe(true);
    await learner.waitFor("helper-5\r\n", 10_000, from);
    viewer.conn.takeControl(false);
    await learner.until(() => learner.state.control === null, "control released");
    await viewer.until(() => viewer.state.readOnly, "read-only again");

    // A learner cannot take control.
    learner.conn.takeControl(true);
    await learner.until(() => learner.state.message !== null, "error message");
    expect(learner.state.control).toBeNull();
  });

  it("strips OSC 7717 prompt marks and reports them to onPrompt", async () => {
    const envId = freshEnvId();
    const t = await ready(envId);
    await t.until(() => prompts.some((p) => p.envId === envId), "first prompt");
    const from = t.textLength;
    t.type("false\r");
    await t.until(() => prompts.some((p) => p.envId === envId && p.status === 1), "status 1");
    t.type("(exit 7)\r");
    await t.until(() => prompts.some((p) => p.envId === envId && p.status === 7), "status 7");
    await t.waitFor(PROMPT, 5000, from);
    expect(t.text).not.toContain("7717");
    expect(t.text).not.toContain("\x1b]");
    // Nor in the replay buffer: a fresh client gets the whole history without marks.
    const late = term(envId);
    await late.waitFor("(exit 7)");
    expect(late.text).not.toContain("7717");
    expect(prompts.filter((p) => p.envId === envId).every((p) => p.machine === "mail")).toBe(true);
    expect(activity).toContain(envId);
  });

  it("reports Enter inside a running program (telnet-like), not a command typed at the prompt", async () => {
    const envId = freshEnvId();
    const t = await ready(envId);
    await t.until(() => prompts.some((p) => p.envId === envId), "first prompt");
    t.type("echo at-the-prompt\r");
    await t.waitFor("at-the-prompt\r\n");
    await t.waitFor(PROMPT, 5000, t.textLength - 40);
    expect(enters.filter((e) => e === envId)).toHaveLength(0);
    // A program reading lines (as telnet does): each line typed into it counts.
    t.type("cat\r");
    await new Promise((r) => setTimeout(r, 300));
    t.type("HELO partner\r");
    await t.waitFor("HELO partner\r\nHELO partner");
    expect(enters.filter((e) => e === envId)).toHaveLength(1);
    t.type("\x04");
    await t.until(() => prompts.filter((p) => p.envId === envId).length >= 3, "prompt after cat");
  });

  it("records the session as asciicast v2", async () => {
    const envId = freshEnvId();
    const t = await ready(envId);
    t.type("echo recorded-$((3*3))\r");
    await t.waitFor("recorded-9");
    t.conn.resize(100, 30);
    await new Promise((r) => setTimeout(r, 200));
    t.close(); // detach first, so that no new session (and recording) starts after the close below
    await server.handler.closeEnvironment(envId);
    const recs = await server.handler.listRecordings(envId);
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({ envId, machine: "mail" });
    const lines = (await readFile(recs[0]!.file, "utf8")).trimEnd().split("\n");
    const header = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(header).toMatchObject({ version: 2, width: 80, height: 24 });
    expect(typeof header.timestamp).toBe("number");
    let lastT = 0;
    const kinds = new Set<string>();
    let out = "";
    let input = "";
    for (const line of lines.slice(1)) {
      const ev = JSON.parse(line) as unknown;
      expect(Array.isArray(ev)).toBe(true);
      const [time, kind, data] = ev as [number, string, string];
      expect(typeof time).toBe("number");
      expect(time).toBeGreaterThanOrEqual(lastT);
      lastT = time;
      expect(["o", "i", "r", "m"]).toContain(kind);
      expect(typeof data).toBe("string");
      kinds.add(kind);
      if (kind === "o") out += data;
      if (kind === "i") input += data;
      if (kind === "r") expect(data).toBe("100x30");
    }
    expect(kinds).toEqual(new Set(["o", "i", "r", "m"]));
    expect(input).toContain("echo recorded-$((3*3))\r");
    expect(out).toContain("recorded-9");
    expect(out).not.toContain("7717");
  });

  it("ends the session when the shell exits; a new attach starts a fresh shell", async () => {
    const envId = freshEnvId();
    const t = await ready(envId);
    const first = t.conn.sessionId;
    t.type("exit 3\r");
    await t.waitStatus("exited");
    expect(t.state.exitCode).toBe(3);
    expect(server.handler.session(envId, "mail")).toBeUndefined();
    await new Promise((r) => setTimeout(r, 500));
    expect(t.sockets.length).toBe(1); // no automatic reconnect after exit
    t.conn.restart();
    await t.waitStatus("open");
    expect(t.conn.sessionId).not.toBe(first);
    const from = t.textLength;
    t.type("echo again\r");
    await t.waitFor("again\r\n", 10_000, from);
  });

  it("replays from a stale session with reset", async () => {
    const envId = freshEnvId();
    const t = await ready(envId);
    await server.handler.closeEnvironment(envId); // 1012: the client reconnects to a new shell
    await t.until(() => t.resets > 0, "reset");
    await t.waitStatus("open");
    await t.waitFor(PROMPT);
    expect(t.states.some((s) => s.closeCode === TerminalCloseCode.RESTARTED)).toBe(true);
  });

  it("does not retry after a 44xx close", async () => {
    const envId = freshEnvId();
    const t = await ready(envId);
    await server.handler.closeEnvironment(envId, TerminalCloseCode.NOT_FOUND, "environment removed");
    await t.waitStatus("failed");
    await new Promise((r) => setTimeout(r, 500));
    expect(t.sockets.length).toBe(1);
    expect(t.state.message).toBe("environment removed");
  });
});

describe("idle sessions", () => {
  it("are reaped after the grace period, killing the shell in the container", async () => {
    const idle = await startTestServer({
      authorize: () => ({ ok: true, role: "learner", name: "Ada" }),
      spawnSpec: () => testSpawnSpec(container),
      idleGraceMs: 1000,
      pingIntervalMs: 0,
      log: () => {},
    });
    try {
      const envId = freshEnvId();
      const t = new TestTerminal(idle.url(envId, "mail")).connect();
      terminals.push(t);
      await t.waitFor(PROMPT);
      t.type("sleep 4242\r");
      await t.waitFor("sleep 4242");
      const ps = () => containerExec(container, "cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' '");
      await expect.poll(ps, { timeout: 5000 }).toContain("sleep 4242");
      t.close();
      // still there within the grace period
      await new Promise((r) => setTimeout(r, 400));
      expect(idle.handler.session(envId, "mail")).toBeDefined();
      await expect.poll(() => idle.handler.session(envId, "mail"), { timeout: 5000 }).toBeUndefined();
      await expect.poll(ps, { timeout: 10_000 }).not.toContain("sleep 4242");
    } finally {
      await idle.close();
    }
  });
});

describe("raw protocol", () => {
  it("closes a socket that never says hello with 1008", async () => {
    const quick = await startTestServer({
      authorize: () => ({ ok: true, role: "learner", name: "Ada" }),
      spawnSpec: () => testSpawnSpec(container),
      helloTimeoutMs: 200,
      pingIntervalMs: 0,
      log: () => {},
    });
    try {
      const ws = new WebSocket(quick.url(freshEnvId(), "mail"));
      const code = await new Promise<number>((r) => ws.once("close", (c) => r(c)));
      expect(code).toBe(TerminalCloseCode.POLICY);
      expect(quick.handler.sessions()).toHaveLength(0);
    } finally {
      await quick.close();
    }
  });

  it("says ready first, then output from seq", async () => {
    const envId = freshEnvId();
    const ws = new WebSocket(server.url(envId, "partner"));
    const msgs: (ServerMessage | Buffer)[] = [];
    ws.on("message", (d, isBinary) => msgs.push(isBinary ? (d as Buffer) : parseServerMessage(d.toString())!));
    await new Promise((r) => ws.once("open", r));
    ws.send(encodeMessage({ type: "hello", lastSeq: 0, cols: 80, rows: 24 }));
    await expect.poll(() => msgs.some((m) => Buffer.isBuffer(m)), { timeout: 10_000 }).toBe(true);
    const first = msgs[0] as ServerMessage;
    expect(first).toMatchObject({ type: "ready", seq: 0, role: "learner", readOnly: false });
    ws.close();
  });
});

describe("input before ready", () => {
  it("keeps keystrokes sent right after hello and types them once the shell is attached", async () => {
    const envId = freshEnvId(); // a new session: the shell starts only after this hello
    const raw = await rawTerminal(envId, { first: (ws) => ws.send(Buffer.from("echo early-$((2*21))\r")) });
    await expect.poll(() => raw.text(), { timeout: 15_000 }).toContain("early-42\r\n");
    expect(raw.messages[0]).toMatchObject({ type: "ready" });
    raw.ws.close();
  });

  it("refuses a flood before ready visibly (1008), not silently", async () => {
    const slowStart = freshEnvId();
    const raw = await rawTerminal(slowStart, {
      // Two frames (each below maxPayload) that together exceed what is kept before ready.
      first: (ws) => {
        ws.send(Buffer.alloc(TERMINAL_LIMITS.maxEarlyInput / 2, 0x61));
        ws.send(Buffer.alloc(TERMINAL_LIMITS.maxEarlyInput / 2 + 1, 0x61));
      },
    });
    const [code, reason] = await new Promise<[number, string]>((r) => raw.ws.once("close", (c, why) => r([c, why.toString()])));
    expect(code).toBe(TerminalCloseCode.POLICY);
    expect(reason).toMatch(/input before ready/);
  });

  it("the client keeps what is typed while reconnecting and sends it to the same shell", async () => {
    const envId = freshEnvId();
    const t = await ready(envId, { backoff: { initialMs: 700, maxMs: 700, factor: 1, jitter: 0 } });
    const session = t.conn.sessionId;
    const from = t.textLength;
    t.drop();
    await t.waitStatus("reconnecting");
    expect(t.type("echo queued-$((3*3))\r")).toBe(true);
    expect(t.state.queuedInput).toBeGreaterThan(0);
    await t.waitStatus("open", 10_000);
    await t.waitFor("queued-9\r\n", 10_000, from);
    expect(t.conn.sessionId).toBe(session);
    expect(t.state.queuedInput).toBe(0);
    expect(t.state.inputNotice).toBeNull();
  });

  it("the client drops (and says so) what was typed for a shell that did not come back", async () => {
    const envId = freshEnvId();
    const t = await ready(envId, { backoff: { initialMs: 700, maxMs: 700, factor: 1, jitter: 0 } });
    await server.handler.closeEnvironment(envId); // 1012: the next connection gets a new shell
    await t.waitStatus("reconnecting");
    expect(t.type("touch /tmp/typed-for-the-old-shell\r")).toBe(true);
    await t.until(() => t.resets > 0 && t.state.status === "open", "new shell");
    await t.until(() => t.state.inputNotice === "dropped", "dropped notice");
    await t.waitFor(PROMPT);
    expect(await containerExec(container, "test -e /tmp/typed-for-the-old-shell && echo yes || echo no")).toBe("no\n");
    // Typing far too much while away is refused, not silently lost.
    t.drop();
    await t.waitStatus("reconnecting");
    expect(t.type("x".repeat(TERMINAL_LIMITS.maxQueuedInput + 1))).toBe(false);
    expect(t.state.inputNotice).toBe("refused");
  });
});

describe("a client that acks what it never reads", () => {
  it("cannot make the server queue more than maxSocketBuffer for it; the pty pauses", async () => {
    const envId = freshEnvId();
    const raw = await rawTerminal(envId);
    await expect.poll(() => raw.messages.some((m) => m.type === "ready"), { timeout: 10_000 }).toBe(true);
    // Stop reading the socket (the kernel buffers fill, then the server's send queue would),
    // but keep claiming to have processed everything.
    (raw.ws as unknown as { _socket: Socket })._socket.pause();
    raw.ws.send(Buffer.from("yes 0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\r"));
    const liar = setInterval(() => raw.ws.send(encodeMessage({ type: "ack", seq: Number.MAX_SAFE_INTEGER })), 5);
    try {
      const session = () => server.handler.session(envId, "mail")!;
      const rss0 = process.memoryUsage().rss;
      // Long enough for `yes` to fill the kernel's socket buffers many times over.
      await sleep(5000);
      const stats = session().stats();
      console.log("false-ack stats", stats, "rss growth MiB", (process.memoryUsage().rss - rss0) / 2 ** 20);
      expect(stats.maxBufferedAmount).toBeLessThanOrEqual(TERMINAL_FLOW.maxSocketBuffer + TERMINAL_LIMITS.maxOutputFrame);
      expect(stats.socketBufferStalls).toBeGreaterThan(0);
      expect(stats.paused).toBe(true);
      // The shell is held at high water: no more output is produced while nobody reads.
      const head = stats.head;
      await sleep(500);
      expect(session().stats().head - head).toBeLessThanOrEqual(256 * 1024);
    } finally {
      clearInterval(liar);
      raw.ws.terminate();
      await server.handler.closeEnvironment(envId);
    }
  });
});

describe("machines reset", () => {
  it("closes terminals with 4100 first, holds reconnects, and comes back on the new machines without exec errors", async () => {
    const envId = freshEnvId();
    const m = await TestMachines.create(envId);
    envMachines.set(envId, m);
    const mail = await ready(envId);
    const partner = term(envId, {}, "partner");
    await partner.waitFor(PROMPT);
    mail.type("touch /root/old-machine\r");
    await mail.waitFor(PROMPT, 5000, mail.textLength);
    const oldSession = mail.conn.sessionId;

    let resetRan = false;
    await server.handler.resetEnvironment(envId, async () => {
      // The sessions were closed before the machines go, and nothing attaches meanwhile.
      expect(server.handler.sessions().filter((s) => s.envId === envId)).toEqual([]);
      await m.reset();
      await sleep(300); // reconnects arrive while the machines are being replaced: held, not started
      expect(server.handler.sessions().filter((s) => s.envId === envId)).toEqual([]);
      resetRan = true;
    });
    expect(resetRan).toBe(true);
    for (const t of [mail, partner]) {
      await t.until(() => t.state.status === "open" && t.conn.sessionId !== oldSession, "a new shell", 30_000);
      await t.waitFor(PROMPT, 30_000);
      const statuses = t.states.map((s) => s.status);
      expect(statuses).toContain("resetting");
      expect(statuses).not.toContain("exited");
      expect(statuses).not.toContain("failed");
      expect(t.states.some((s) => s.closeCode === TerminalCloseCode.MACHINES_RESET)).toBe(true);
      expect(t.text).not.toMatch(/OCI runtime|exec failed|connection reset by peer/);
    }
    const from = mail.textLength;
    mail.type("test -e /root/old-machine && echo old || echo new-machine\r");
    await mail.waitFor("new-machine\r\n", 10_000, from);
  });
});

describe("the end of an environment", () => {
  it.each([
    ["class-ended", TerminalCloseCode.CLASS_ENDED],
    ["removed", TerminalCloseCode.ENVIRONMENT_REMOVED],
  ] as const)("%s: closes with %i, the client stops for good, late sockets get the same", async (why, code) => {
    const envId = freshEnvId();
    const t = await ready(envId);
    await server.handler.removeEnvironment(envId, why);
    await t.waitStatus("ended");
    expect(t.state.closeCode).toBe(code);
    await sleep(600);
    expect(t.sockets.length).toBe(1); // no reconnect
    t.conn.retryNow();
    await sleep(200);
    expect(t.sockets.length).toBe(1);
    const late = term(envId);
    await late.waitStatus("ended");
    expect(late.state.closeCode).toBe(code);
    expect(server.handler.session(envId, "mail")).toBeUndefined();
  });

  it("an environment that authorize says is gone (410) gets its close code, not an HTTP error the browser would retry", async () => {
    const envId = freshEnvId();
    authz.set(envId, { ok: false, status: 410, gone: "class-ended" });
    const t = term(envId);
    await t.waitStatus("ended");
    expect(t.state.closeCode).toBe(TerminalCloseCode.CLASS_ENDED);
    await sleep(500);
    expect(t.sockets.length).toBe(1);
    expect(server.handler.session(envId, "mail")).toBeUndefined();
  });
});

/**
 * Runs `stty size` until it prints `expected`: the docker CLI passes a pty resize on to
 * the container's pty by an API call of its own, a few ms after ours.
 */
async function sttySays(t: TestTerminal, expected: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const from = t.textLength;
    t.type("stty size\r");
    await t.waitFor(/\d+ \d+\r\n/, 10_000, from);
    if (t.textFrom(from).includes(`${expected}\r\n`)) return;
    if (Date.now() > deadline) throw new Error(`stty size never said ${expected}`);
    await sleep(100);
  }
}

describe("viewers at another size", () => {
  it("get the session's size in ready and every later size in order with the output", async () => {
    const envId = freshEnvId();
    const learner = await ready(envId, { cols: 120, rows: 30 });
    const viewer = term(envId, { cols: 70, rows: 20, ...VIEWER });
    await viewer.waitStatus("open");
    expect(viewer.state.ptySize).toEqual({ cols: 120, rows: 30 });
    expect(viewer.sizes.at(-1)).toMatchObject({ cols: 120, rows: 30 });

    learner.conn.resize(100, 25);
    await viewer.until(() => viewer.sizes.some((z) => z.cols === 100), "size notice");
    const resizedAt = viewer.sizes.find((z) => z.cols === 100)!.atByte;
    await sttySays(learner, "25 100");
    await viewer.waitFor("25 100");
    // The notice came before the output written at that size.
    expect(viewer.output().subarray(0, resizedAt).toString()).not.toContain("25 100");

    // A late viewer replays from the start: 120×30 first, then 100×25 exactly where it changed.
    const late = term(envId, { cols: 60, rows: 20, ...VIEWER });
    await late.waitFor("25 100");
    expect(late.sizes[0]).toMatchObject({ cols: 120, rows: 30, atByte: 0 });
    const lateResize = late.sizes.find((z) => z.cols === 100)!;
    expect(lateResize.atByte).toBeGreaterThan(0);
    const lateOut = late.output();
    expect(lateOut.subarray(0, lateResize.atByte).toString()).not.toContain("25 100");
    expect(lateOut.subarray(lateResize.atByte).toString()).toContain("25 100");

    // An instructor who takes over sets the size; handing back restores the learner's.
    viewer.conn.takeControl(true);
    await viewer.until(() => !viewer.state.readOnly, "control");
    viewer.conn.resize(70, 20);
    await learner.until(() => learner.state.ptySize?.cols === 70, "learner told of the helper's size");
    viewer.conn.takeControl(false);
    await learner.until(() => learner.state.ptySize?.cols === 100, "learner's size restored");
    await sttySays(learner, "25 100");
  });
});

describe("recordings", () => {
  it("stop at the environment's cap across shells and machines, and are deleted with the environment", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "maillab-rec-cap-"));
    const cap = 64 * 1024;
    const capped = await startTestServer({
      authorize: () => ({ ok: true, role: "learner", name: "Ada" }),
      spawnSpec: () => testSpawnSpec(container),
      recordingsDir: dir,
      maxEnvironmentRecordingBytes: cap,
      pingIntervalMs: 0,
      log: () => {},
    });
    try {
      const envId = freshEnvId();
      const used = async () => (await capped.handler.listRecordings(envId)).reduce((n, r) => n + r.bytes, 0);
      for (const machine of ["mail", "partner", "mail"] as const) {
        const t = new TestTerminal(capped.url(envId, machine)).connect();
        terminals.push(t);
        await t.waitFor(PROMPT);
        const from = t.textLength;
        t.type("seq 1 4000; echo DO''NE\r"); // ~19 KB of output, ~25 KB recorded (JSON-escaped) each
        await t.waitFor("DONE\r\n", 20_000, from);
        t.close();
        await capped.handler.closeEnvironment(envId);
      }
      const recs = await capped.handler.listRecordings(envId);
      expect(recs.length).toBeGreaterThanOrEqual(2);
      // The cap holds across the three shells (a closing "truncated" marker may pass it by a line).
      expect(await used()).toBeLessThanOrEqual(cap + 256);
      expect(await used()).toBeGreaterThan(cap / 2);
      const last = await readFile(recs.at(-1)!.file, "utf8").catch(() => "");
      const all = (await Promise.all(recs.map((r) => readFile(r.file, "utf8")))).join("");
      expect(all).toContain("recording truncated: the environment's recording limit reached");
      expect(last.length).toBeLessThanOrEqual(cap);

      await capped.handler.removeEnvironment(envId, "removed");
      await capped.handler.deleteRecordings(envId);
      expect(await capped.handler.listRecordings(envId)).toEqual([]);
      expect(await readdir(dir)).not.toContain(envId);
    } finally {
      await capped.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

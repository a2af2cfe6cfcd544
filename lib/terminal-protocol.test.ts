import { describe, expect, it } from "vitest";
import {
  decodeServerMessage,
  encodeMessage,
  isFatalCloseCode,
  parseClientMessage,
  parseServerMessage,
  parseTerminalPath,
  TERMINAL_FLOW,
  TERMINAL_LIMITS,
  TerminalCloseCode,
  terminalPath,
  type ServerMessage,
} from "./terminal-protocol";

describe("terminal paths", () => {
  it("builds and parses /ws/terminal/<env>/<machine>", () => {
    const p = terminalPath("abcdefghij12", "mail");
    expect(p).toBe("/ws/terminal/abcdefghij12/mail");
    expect(parseTerminalPath(p)).toEqual({ envId: "abcdefghij12", machine: "mail" });
    expect(parseTerminalPath(`${terminalPath("abcdefghij12", "partner")}?x=1`)).toEqual({ envId: "abcdefghij12", machine: "partner" });
  });
  it.each([
    "/ws/terminal/abcdefghij12",
    "/ws/terminal/abcdefghij12/",
    "/ws/terminal/abcdefghij12/mail/x",
    "/ws/terminal/ABCDEFGHIJ12/mail",
    "/ws/terminal/short/mail",
    "/ws/terminal/abcdefghij12/router",
    "/ws/terminal/../abcdefghij12/mail",
    "/ws/other/abcdefghij12/mail",
    "",
  ])("rejects %j", (p) => expect(parseTerminalPath(p)).toBeNull());
});

describe("client messages", () => {
  it("parses each kind", () => {
    expect(parseClientMessage('{"type":"hello","lastSeq":0,"cols":80,"rows":24}')).toEqual({ type: "hello", lastSeq: 0, cols: 80, rows: 24 });
    expect(parseClientMessage('{"type":"hello","session":"abc","lastSeq":12345,"cols":80,"rows":24}')).toMatchObject({ session: "abc", lastSeq: 12345 });
    expect(parseClientMessage('{"type":"resize","cols":120,"rows":40}')).toEqual({ type: "resize", cols: 120, rows: 40 });
    expect(parseClientMessage('{"type":"ack","seq":65536}')).toEqual({ type: "ack", seq: 65536 });
    expect(parseClientMessage('{"type":"control","take":true}')).toEqual({ type: "control", take: true });
  });
  it("round-trips through encodeMessage", () => {
    const m = { type: "resize", cols: 1, rows: TERMINAL_LIMITS.maxRows } as const;
    expect(parseClientMessage(encodeMessage(m))).toEqual(m);
  });
  it.each([
    ["not json", "{"],
    ["not an object", "42"],
    ["null", "null"],
    ["unknown type", '{"type":"shell","cmd":"rm -rf /"}'],
    ["no type", '{"cols":80,"rows":24}'],
    ["hello without size", '{"type":"hello","lastSeq":0}'],
    ["negative seq", '{"type":"ack","seq":-1}'],
    ["fractional seq", '{"type":"ack","seq":1.5}'],
    ["string seq", '{"type":"ack","seq":"5"}'],
    ["huge seq", '{"type":"ack","seq":1e300}'],
    ["zero cols", '{"type":"resize","cols":0,"rows":24}'],
    ["too many cols", '{"type":"resize","cols":100000,"rows":24}'],
    ["take not boolean", '{"type":"control","take":"yes"}'],
    ["long session id", JSON.stringify({ type: "hello", session: "x".repeat(65), lastSeq: 0, cols: 80, rows: 24 })],
    ["oversized frame", JSON.stringify({ type: "ack", seq: 1, pad: "x".repeat(20000) })],
  ])("rejects %s", (_name, text) => expect(parseClientMessage(text)).toBeNull());
});

describe("server messages", () => {
  it("parses ready and notices", () => {
    const ready: ServerMessage = {
      type: "ready",
      session: "s1",
      seq: 10,
      you: "p1",
      role: "learner",
      readOnly: false,
      canControl: false,
      control: null,
      viewers: [{ id: "p1", name: "Ada", role: "learner" }],
      cols: 80,
      rows: 24,
    };
    expect(parseServerMessage(encodeMessage(ready))).toEqual(ready);
    expect(parseServerMessage('{"type":"reset","seq":5}')).toEqual({ type: "reset", seq: 5 });
    expect(parseServerMessage('{"type":"exit","code":130}')).toEqual({ type: "exit", code: 130 });
    expect(parseServerMessage('{"type":"control","holder":{"id":"p2","name":"T","role":"viewer"},"readOnly":true}')).toMatchObject({ type: "control" });
    expect(parseServerMessage('{"type":"size","cols":90,"rows":30}')).toEqual({ type: "size", cols: 90, rows: 30 });
    expect(parseServerMessage('{"type":"ready"}')).toBeNull();
  });
});

describe("constants", () => {
  it("close codes: only 44xx are fatal", () => {
    for (const code of [TerminalCloseCode.UNAUTHORIZED, TerminalCloseCode.FORBIDDEN, TerminalCloseCode.NOT_FOUND]) expect(isFatalCloseCode(code)).toBe(true);
    for (const code of [1000, 1001, 1006, 1007, 1008, 1009, 1011, 1012]) expect(isFatalCloseCode(code)).toBe(false);
  });
  it("close codes: reset is ours and retried; removed / class ended are final; all distinct", () => {
    expect(isFatalCloseCode(TerminalCloseCode.MACHINES_RESET)).toBe(false);
    expect(TerminalCloseCode.MACHINES_RESET).toBeGreaterThanOrEqual(4000);
    expect(isFatalCloseCode(TerminalCloseCode.ENVIRONMENT_REMOVED)).toBe(true);
    expect(isFatalCloseCode(TerminalCloseCode.CLASS_ENDED)).toBe(true);
    const codes = Object.values(TerminalCloseCode);
    expect(new Set(codes).size).toBe(codes.length);
  });
  it("limits: early and queued input fit what the server keeps", () => {
    expect(TERMINAL_LIMITS.maxQueuedInput * 3).toBeLessThanOrEqual(TERMINAL_LIMITS.maxEarlyInput);
    expect(TERMINAL_FLOW.maxSocketBuffer).toBeLessThanOrEqual(TERMINAL_FLOW.replayBytes);
  });
  it("flow-control invariants hold", () => {
    const f = TERMINAL_FLOW;
    expect(f.ackEveryBytes).toBeLessThan(f.lowWater);
    expect(f.lowWater).toBeLessThan(f.highWater);
    expect(f.highWater + TERMINAL_LIMITS.maxOutputFrame).toBeLessThan(f.replayBytes);
    // A full input chunk always fits a frame.
    expect(TERMINAL_LIMITS.inputChunkChars * 3).toBeLessThanOrEqual(TERMINAL_LIMITS.maxPayload);
  });
});

describe("decodeServerMessage (the browser's zod-free decoder)", () => {
  const samples = [
    '{"type":"ready","session":"s","seq":0,"you":"p1","role":"viewer","readOnly":true,"canControl":true,"control":null,"viewers":[],"cols":80,"rows":24}',
    '{"type":"reset","seq":7}',
    '{"type":"exit","code":0}',
    '{"type":"error","message":"x"}',
    '{"type":"viewers","viewers":[]}',
    '{"type":"control","holder":null,"readOnly":false}',
    '{"type":"size","cols":100,"rows":30}',
  ];
  it.each(samples)("accepts what the schema accepts: %s", (text) => {
    expect(parseServerMessage(text)).not.toBeNull();
    expect(decodeServerMessage(text)).toEqual(parseServerMessage(text));
  });
  it.each(['{"type":"reset","seq":-1}', '{"type":"reset"}', '{"type":"size","cols":"80","rows":24}', '{"type":"nope"}', "[]", "x", '{"type":"exit","code":1.5}'])(
    "rejects %s",
    (text) => expect(decodeServerMessage(text)).toBeNull(),
  );
});

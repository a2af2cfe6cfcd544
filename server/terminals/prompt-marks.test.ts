import { describe, expect, it } from "vitest";
import { PromptMarkFilter } from "./prompt-marks";

const MARK = (s: number | string) => `\x1b]7717;prompt;${s}\x07`;

function run(chunks: string[]) {
  const f = new PromptMarkFilter();
  let out = "";
  const marks: number[] = [];
  for (const c of chunks) {
    const r = f.push(Buffer.from(c, "latin1"));
    out += r.output.toString("latin1");
    marks.push(...r.marks.map((m) => m.exitStatus));
  }
  out += f.drain().toString("latin1");
  return { out, marks };
}

describe("PromptMarkFilter", () => {
  it("strips a mark and reports the exit status", () => {
    expect(run([`ls\r\nfile\r\n${MARK(0)}root@mail:~# `])).toEqual({ out: "ls\r\nfile\r\nroot@mail:~# ", marks: [0] });
    expect(run([`${MARK(127)}$ ${MARK(1)}$ `])).toEqual({ out: "$ $ ", marks: [127, 1] });
  });
  it("accepts ST (ESC \\) as terminator", () => {
    expect(run(["a\x1b]7717;prompt;2\x1b\\b"])).toEqual({ out: "ab", marks: [2] });
  });
  it("finds a mark split at every possible position", () => {
    const text = `before${MARK(42)}after`;
    for (let i = 0; i <= text.length; i++) {
      for (let j = i; j <= text.length; j++) {
        expect(run([text.slice(0, i), text.slice(i, j), text.slice(j)])).toEqual({ out: "beforeafter", marks: [42] });
      }
    }
  });
  it("leaves other escape sequences alone", () => {
    const other = "\x1b]0;title\x07\x1b[1;32mgreen\x1b[0m\x1b]7718;x\x07\x1b]771\x07";
    expect(run([other])).toEqual({ out: other, marks: [] });
    // split too
    expect(run([other.slice(0, 3), other.slice(3)])).toEqual({ out: other, marks: [] });
  });
  it("holds back only a possible mark start, and drain returns it", () => {
    const f = new PromptMarkFilter();
    expect(f.push(Buffer.from("abc\x1b]77")).output.toString()).toBe("abc");
    expect(f.pending).toBe(true);
    expect(f.drain().toString()).toBe("\x1b]77");
    expect(f.pending).toBe(false);
    // a lone trailing ESC is held until the next byte decides
    expect(f.push(Buffer.from("x\x1b")).output.toString()).toBe("x");
    expect(f.push(Buffer.from("[A")).output.toString()).toBe("\x1b[A");
  });
  it("gives up on an unterminated, overlong mark", () => {
    const long = `\x1b]7717;prompt;${"9".repeat(100)}`;
    expect(run([long, "tail"])).toEqual({ out: long + "tail", marks: [] });
  });
  it("strips unknown 7717 kinds with status -1", () => {
    expect(run(["a\x1b]7717;cwd;/root\x07b"])).toEqual({ out: "ab", marks: [-1] });
  });
});

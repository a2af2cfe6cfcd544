import { describe, expect, it } from "vitest";
import { ReplayBuffer } from "./replay-buffer";

describe("ReplayBuffer", () => {
  it("keeps at least `capacity` bytes addressed by seq", () => {
    const cap = 64 * 1024;
    const b = new ReplayBuffer(cap);
    const all: number[] = [];
    let x = 0;
    for (let i = 0; i < 500; i++) {
      const n = 1 + ((i * 7919) % 3000);
      const chunk = Buffer.alloc(n);
      for (let k = 0; k < n; k++) chunk[k] = x++ & 0xff;
      for (const v of chunk) all.push(v);
      b.append(chunk);
      expect(b.head).toBe(all.length);
      expect(b.head - b.start).toBeGreaterThanOrEqual(Math.min(cap, all.length));
      expect(b.heldBytes).toBeLessThanOrEqual(cap + 2 * 16 * 1024);
    }
    for (const from of [b.start, b.start + 1, b.start + 16383, b.head - 100, b.head]) {
      const got = b.read(from, 40_000);
      expect([...got]).toEqual(all.slice(from, Math.min(b.head, from + 40_000)));
    }
    expect(() => b.read(b.start - 1, 10)).toThrow(RangeError);
    expect(() => b.read(b.head + 1, 10)).toThrow(RangeError);
    expect(b.read(b.head, 10).length).toBe(0);
  });
  it("returned slices stay valid after more appends", () => {
    const b = new ReplayBuffer(16 * 1024);
    b.append(Buffer.from("hello"));
    const s = b.read(0, 5);
    b.append(Buffer.alloc(10_000, 1));
    expect(s.toString()).toBe("hello");
  });
});

import { describe, expect, it } from "vitest";
import { WarmPool } from "./warm-pool";

function fakePool() {
  let n = 0;
  let concurrent = 0;
  let maxConcurrent = 0;
  const destroyed: string[] = [];
  const pool = new WarmPool({
    createMember: async () => {
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      await new Promise((r) => setTimeout(r, 5));
      concurrent--;
      return `m${++n}`;
    },
    destroyMember: async (id) => void destroyed.push(id),
    whenQuiet: async () => undefined,
    log: () => undefined,
  });
  return { pool, destroyed, maxConcurrent: () => maxConcurrent };
}

describe("WarmPool", () => {
  it("fills to the target one member at a time and refills after a take", async () => {
    const { pool, maxConcurrent } = fakePool();
    pool.setTarget(3);
    await pool.settled();
    expect(pool.status()).toMatchObject({ ready: 3, target: 3 });
    expect(maxConcurrent()).toBe(1);
    expect(pool.take()).toBe("m1");
    pool.refill();
    await pool.settled();
    expect(pool.status().ready).toBe(3);
    expect(pool.take()).toBe("m2");
  });

  it("trims extra members when the target shrinks", async () => {
    const { pool, destroyed } = fakePool();
    pool.setTarget(2);
    await pool.settled();
    pool.setTarget(0);
    await pool.settled();
    expect(pool.status().ready).toBe(0);
    expect(destroyed.sort()).toEqual(["m1", "m2"]);
    expect(pool.take()).toBeUndefined();
  });
});

describe("WarmPool after a restart", () => {
  it("keeps adopted extra members until they are claimed or the target is set again", async () => {
    const { pool, destroyed } = fakePool();
    pool.add("old1");
    pool.add("old2");
    pool.setTarget(1, { trim: false });
    await pool.settled();
    expect(pool.status().ready).toBe(2);
    expect(pool.take()).toBe("old1");
    expect(pool.take()).toBe("old2");
    pool.refill();
    await pool.settled();
    expect(pool.status().ready).toBe(1); // refilled to the target
    expect(destroyed).toEqual([]);
  });
});

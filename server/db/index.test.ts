import { describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { openStore } from "./index";

describe("store", () => {
  it("migrates a fresh data dir and keeps rows across reopen", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "maillab-db-"));
    try {
      const a = openStore(dir);
      a.setSetting("k", "v1");
      a.setSetting("k", "v2");
      a.insertLearner({ id: "l1", name: "Ada", createdAt: 1 });
      a.insertEnvironment({ id: "e1", learnerId: "l1", labId: "12-1", params: "{}", createdAt: 1, lastActiveAt: 1 });
      a.upsertStepResult({ environmentId: "e1", stepId: "s1", status: "fail", checks: "[]", firstSeenAt: 1, updatedAt: 1 });
      a.upsertStepResult({ environmentId: "e1", stepId: "s1", status: "pass", checks: "[]", firstSeenAt: 1, updatedAt: 2, passedAt: 2 });
      a.close();
      const b = openStore(dir);
      expect(b.getSetting("k")).toBe("v2");
      expect(b.liveEnvironmentOfLearner("l1")?.id).toBe("e1");
      expect(b.stepResultsOf("e1")).toMatchObject([{ stepId: "s1", status: "pass", passedAt: 2 }]);
      expect(() => b.insertEnvironment({ id: "e2", learnerId: "nobody", labId: "x", params: "{}", createdAt: 1, lastActiveAt: 1 }))
        .toThrow(/FOREIGN KEY/);
      b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

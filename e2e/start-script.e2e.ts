import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

/**
 * Finding 12 (stale builds): `npm start` must rebuild the web app whenever anything Next bundles
 * changed — server/api, server/http-error.ts and what they import, not only app/ components/ lib/.
 */
const repo = process.cwd();
const lib = path.join(repo, "scripts/lib.sh");

function bash(script: string, cwd: string): string {
  return execFileSync("bash", ["-euo", "pipefail", "-c", `. '${lib}'; ${script}`], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

function buildId(): { id: string; mtimeMs: number } {
  const file = path.join(repo, ".next/BUILD_ID");
  return { id: execFileSync("cat", [file], { encoding: "utf8" }), mtimeMs: statSync(file).mtimeMs };
}

describe("finding 12: npm start rebuilds when anything Next bundles changed", () => {
  it("the staleness check sees edits anywhere in server/, added and removed files, and ignores tests", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "maillab-build-"));
    try {
      const file = (rel: string, text = "x") => {
        mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        writeFileSync(path.join(dir, rel), text);
      };
      const age = (rel: string, secondsAgo: number) => {
        const t = Date.now() / 1000 - secondsAgo;
        utimesSync(path.join(dir, rel), t, t);
      };
      for (const rel of ["app/page.tsx", "lib/a.ts", "server/api/route.ts", "server/http-error.ts", "server/docker/x.ts", "next.config.ts", "tsconfig.json", "package-lock.json", ".next/BUILD_ID"]) {
        file(rel);
        age(rel, 100);
      }
      expect(bash("next_build_stale", dir)).toBe("no build yet");
      const record = () => bash(`record_next_build_stamp "$(next_build_sources)" "$(( $(date +%s) - 50 ))"`, dir);
      record();
      expect(bash("next_build_stale", dir)).toBe("");

      for (const rel of ["server/api/route.ts", "server/http-error.ts", "server/docker/x.ts", "tsconfig.json", "package-lock.json"]) {
        utimesSync(path.join(dir, rel), new Date(), new Date());
        expect(bash("next_build_stale", dir), rel).toBe(`${rel} changed`);
        age(rel, 100);
      }
      // An edit during the last build (after it started) counts too.
      age("server/api/route.ts", 10);
      expect(bash("next_build_stale", dir)).toBe("server/api/route.ts changed");
      age("server/api/route.ts", 100);

      file("server/api/route.test.ts");
      file("server/labs/__fixtures__/f.ts");
      expect(bash("next_build_stale", dir)).toBe("");
      file("server/api/new-module.ts");
      age("server/api/new-module.ts", 100);
      expect(bash("next_build_stale", dir)).toBe("files were added or removed");
      record();
      rmSync(path.join(dir, "server/docker/x.ts"));
      expect(bash("next_build_stale", dir)).toBe("files were added or removed");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("after an edit to server/http-error.ts (bundled into every route), ensure_next_build really rebuilds", () => {
    // Bring the build up to date first (under the same lock npm start takes).
    bash("ensure_next_build", repo);
    const before = buildId();
    expect(bash("ensure_next_build 2>&1", repo)).not.toMatch(/building/);
    expect(buildId()).toEqual(before);
    // "Edit" a module only route handlers use: a new mtime, same content (nothing else changes for others).
    const target = path.join(repo, "server/http-error.ts");
    const now = new Date();
    utimesSync(target, now, now);
    const log = bash("ensure_next_build 2>&1", repo);
    expect(buildId().mtimeMs).toBeGreaterThan(before.mtimeMs);
    expect(log).toMatch(/building the web app \(next build; server\/http-error\.ts changed\)/);
    // And the new build is fresh: the next start does not build again.
    const after = buildId();
    expect(bash("ensure_next_build 2>&1", repo)).not.toMatch(/building/);
    expect(buildId()).toEqual(after);
  }, 900_000);
});

import { defineConfig } from "vitest/config";
import { fileURLToPath } from "node:url";

export default defineConfig({
  resolve: { alias: { "@": fileURLToPath(new URL(".", import.meta.url)) } },
  test: {
    include: ["server/**/*.test.ts", "lib/**/*.test.ts", "components/**/*.test.ts", "e2e/**/*.e2e.ts"],
    // Integration tests start real containers; the 2-core machine needs generous limits.
    testTimeout: 120_000,
    hookTimeout: 600_000,
    // Docker- and browser-backed files share one engine: run files one after another.
    fileParallelism: false,
    pool: "forks",
  },
});

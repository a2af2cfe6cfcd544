import type { DiskStatus } from "./disk-limits";
import type { EnvironmentManager } from "./environments";

/** Whether the Docker engine answers, for /api/health. 2 s: a health probe must not hang. Also says how
 * environments' disks are limited; a forced hard limit the engine cannot give makes it not ok. */
export async function dockerHealth(
  manager: EnvironmentManager,
): Promise<{ ok: boolean; version?: string; error?: string; disk?: DiskStatus }> {
  const disk = manager.diskStatus();
  try {
    const version = await Promise.race([
      manager.docker.version(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error("Docker engine did not answer within 2 s")), 2000).unref()),
    ]);
    return { ok: !disk?.error, version: version.Version, ...(disk ? { disk } : {}) };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error), ...(disk ? { disk } : {}) };
  }
}

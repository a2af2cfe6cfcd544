import type { EnvironmentManager } from "./environments";

/** Whether the Docker engine answers, for /api/health. 2 s: a health probe must not hang. */
export async function dockerHealth(manager: EnvironmentManager): Promise<{ ok: boolean; version?: string; error?: string }> {
  try {
    const version = await Promise.race([
      manager.docker.version(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error("Docker engine did not answer within 2 s")), 2000).unref()),
    ]);
    return { ok: true, version: version.Version };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

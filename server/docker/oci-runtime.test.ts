import Dockerode from "dockerode";
import { describe, expect, it } from "vitest";
import { chooseOciRuntime } from "./environments";

/** An engine that only answers `docker info` with these runtimes. */
const engine = (runtimes: string[]) => ({ info: async () => ({ Runtimes: Object.fromEntries(runtimes.map((r) => [r, {}])) }) }) as unknown as Dockerode;

describe("chooseOciRuntime (MAILLAB_OCI_RUNTIME)", () => {
  it("default leaves the choice to the engine; a name must be one of the engine's runtimes", async () => {
    expect(await chooseOciRuntime(engine(["runc", "crun"]), "default")).toBeUndefined();
    expect(await chooseOciRuntime(engine(["runc", "crun"]), "crun")).toBe("crun");
    await expect(chooseOciRuntime(engine(["io.containerd.runc.v2", "runc"]), "crun")).rejects.toThrow(/MAILLAB_OCI_RUNTIME=crun, but the engine offers only: io.containerd.runc.v2, runc/);
  });

  it("the real engine: a runtime it lists is taken, one it does not is refused", async () => {
    const docker = new Dockerode();
    const offered = Object.keys(((await docker.info()) as { Runtimes?: Record<string, unknown> }).Runtimes ?? {});
    expect(offered).toContain("runc");
    expect(await chooseOciRuntime(docker, "runc")).toBe("runc");
    await expect(chooseOciRuntime(docker, "no-such-runtime")).rejects.toThrow(/offers only/);
  });
});

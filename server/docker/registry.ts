// Images for a Swarm (docs/operations.md "Registry"): every node pulls the lab images from one registry
// that the image build pushes to, since no public registry has them. The images are built on the
// app's own engine (./images.ts, unchanged) and pushed from there; an image is named in the Swarm by
// its registry reference, `<registry>/maillab/mail:<hash>`, so a node can pull exactly that build.
import Docker from "dockerode";
import type { MachineName } from "@/lib/machines";
import { imageTags, toolsImageTag } from "./images";

/** `10.211.0.2:5000` + `maillab/mail:abc` → `10.211.0.2:5000/maillab/mail:abc`. */
export function registryRef(registry: string, localTag: string): string {
  return `${registry.replace(/\/+$/, "")}/${localTag}`;
}

/** The lab machines' images as the Swarm's nodes pull them. */
export function labImageRefs(registry: string): Record<MachineName, string> {
  const tags = imageTags();
  return { mail: registryRef(registry, tags.mail), partner: registryRef(registry, tags.partner) };
}

/** The tools image (registry, iptables) as the nodes pull it. */
export function toolsImageRef(registry: string): string {
  return registryRef(registry, toolsImageTag());
}

interface PushEvent {
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
}

/**
 * Tags each local image with its registry reference and pushes it. Layers the registry has already
 * are skipped by the engine, so pushing what is there costs a few requests (~1 s for all).
 */
export async function pushImages(
  registry: string,
  localTags: readonly string[],
  { docker = new Docker(), onProgress = () => undefined }: { docker?: Docker; onProgress?: (line: string) => void } = {},
): Promise<string[]> {
  const pushed: string[] = [];
  for (const local of localTags) {
    const ref = registryRef(registry, local);
    const colon = ref.lastIndexOf(":");
    await docker.getImage(local).tag({ repo: ref.slice(0, colon), tag: ref.slice(colon + 1) });
    const started = Date.now();
    // The engine wants an X-Registry-Auth header even for a registry without passwords (it checks
    // the client certificate of /etc/docker/certs.d/<registry>/ instead).
    const stream = await docker.getImage(ref).push({ authconfig: { serveraddress: registry } });
    let failure: string | undefined;
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(
        stream,
        (error: Error | null) => (error ? reject(error) : resolve()),
        (event: PushEvent) => {
          if (event.error) failure = event.errorDetail?.message ?? event.error;
        },
      );
    });
    if (failure) throw new Error(`pushing ${ref} failed: ${failure}`);
    onProgress(`pushed ${ref} (${Math.round((Date.now() - started) / 100) / 10} s)`);
    pushed.push(ref);
  }
  return pushed;
}

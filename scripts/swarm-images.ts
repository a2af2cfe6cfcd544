// The images of a Swarm (docs/operations.md "Registry"), from the app's own engine:
//   tsx scripts/swarm-images.ts tools              build maillab/swarm-tools when missing; print its tag
//   tsx scripts/swarm-images.ts push <registry>    build what is missing, push lab + tools images
//   tsx scripts/swarm-images.ts refs <registry>    print the lab images' registry references
// The app does the same at start-up in Swarm mode (server/app.ts); scripts/dev-swarm.sh uses this.
import { ensureImages, ensureToolsImage, imageTags } from "../server/docker/images";
import { labImageRefs, pushImages } from "../server/docker/registry";

const USAGE = "usage: tsx scripts/swarm-images.ts tools | push <registry> | refs <registry>";

async function main(): Promise<number> {
  const [command, registry] = process.argv.slice(2);
  const say = (line: string) => console.error(line);
  if (command === "tools") {
    console.log(await ensureToolsImage({ onProgress: say }));
    return 0;
  }
  if ((command === "push" || command === "refs") && registry && /^[\w.-]+(:\d+)?$/.test(registry)) {
    if (command === "refs") {
      console.log(Object.values(labImageRefs(registry)).join("\n"));
      return 0;
    }
    await ensureImages({ onProgress: say });
    const tools = await ensureToolsImage({ onProgress: say });
    await pushImages(registry, [...Object.values(imageTags()), tools], { onProgress: say });
    return 0;
  }
  console.error(USAGE);
  return 2;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`swarm-images: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);

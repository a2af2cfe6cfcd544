// Builds the lab machine images that are missing (base → mail + partner), printing progress.
//   tsx scripts/build-images.ts            build what is missing
//   tsx scripts/build-images.ts --status   only show the tags and whether they exist (exit 1 if missing)
//   tsx scripts/build-images.ts --force    rebuild mail and partner (Docker's layer cache still applies)
//   tsx scripts/build-images.ts --prune    afterwards remove older maillab/mail|partner images no container uses
// Exits non-zero if an image could not be built. Used by operators, `npm run images` and CI.
import { ensureImages, imagesStatus, removeStaleImages, type ImagesStatus } from "../server/docker/images";

const USAGE = "usage: tsx scripts/build-images.ts [--status] [--force] [--prune] [--quiet]";

function printStatus(status: ImagesStatus): void {
  const row = (name: string, tag: string, present: boolean) => console.log(`  ${name.padEnd(8)} ${tag.padEnd(32)} ${present ? "present" : "missing"}`);
  row("base", status.base.tag, status.base.present);
  row("mail", status.tags.mail, status.present.mail);
  row("partner", status.tags.partner, status.present.partner);
}

async function main(): Promise<number> {
  const args = new Set(process.argv.slice(2));
  for (const arg of args) {
    if (!["--status", "--force", "--prune", "--quiet", "-q", "--help", "-h"].includes(arg)) {
      console.error(`unknown option ${arg}\n${USAGE}`);
      return 2;
    }
  }
  if (args.has("--help") || args.has("-h")) {
    console.log(USAGE);
    return 0;
  }
  const quiet = args.has("--quiet") || args.has("-q");

  const before = await imagesStatus();
  if (args.has("--status")) {
    printStatus(before);
    return before.missing.length === 0 ? 0 : 1;
  }
  if (before.missing.length === 0 && !args.has("--force")) {
    console.log("images are up to date:");
    printStatus(before);
  } else {
    const started = Date.now();
    console.log(`building ${args.has("--force") ? "mail, partner" : before.missing.join(", ")} (a few minutes on first run) ...`);
    let lastStep = "";
    const after = await ensureImages({
      force: args.has("--force"),
      onProgress: (line) => {
        // --quiet: only the Dockerfile steps and results, not every apt line.
        if (quiet && !/\] (Step \d|building|built|ERROR|pull|tagged|\[base-image\])/.test(line)) return;
        if (line !== lastStep) console.log(line);
        lastStep = line;
      },
    });
    console.log(`done in ${Math.round((Date.now() - started) / 1000)} s:`);
    printStatus(after);
  }
  if (args.has("--prune")) {
    const removed = await removeStaleImages({ onProgress: (line) => console.log(`  ${line}`) });
    console.log(`pruned ${removed.length} old image tag(s)`);
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`build-images: ${error instanceof Error ? error.message : String(error)}`);
    const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : "";
    if (code === "ECONNREFUSED" || code === "ENOENT" || code === "EACCES") {
      console.error("Is the Docker engine running? Try: bash scripts/ensure-docker.sh");
    }
    process.exit(1);
  },
);

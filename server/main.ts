import http from "node:http";
import next from "next";
import { parseConfig } from "./config";
import { createApp } from "./app";
import { setContext } from "./context";
import { TERMINAL_PATH_PREFIX } from "./terminals";
import { clientOf, stampClient } from "./api/client";
import { lingerOnEarlyClose, refuseOversizedApiBody } from "./api/early-limits";

/**
 * One Node process (docs/design.md §2): a plain HTTP server that serves Next.js and takes
 * WebSocket upgrades under /ws/ on the same port.
 */
async function main() {
  const config = parseConfig();
  const app = await createApp(config);
  setContext(app.context);

  const nextApp = next({ dev: config.dev, dir: process.cwd(), hostname: config.host, port: config.port });
  await nextApp.prepare();
  const handle = nextApp.getRequestHandler();
  const nextUpgrade = config.dev ? nextApp.getUpgradeHandler() : undefined;

  const server = http.createServer((req, res) => {
    const remote = req.socket.remoteAddress ?? "";
    const client = clientOf(remote, req.headers, config.trustProxy);
    // Lab containers must never reach the app (docs/design.md §3), even if the firewall is missing.
    if (app.isLabAddress(remote) || app.isLabAddress(client.address)) {
      res.writeHead(403, { "content-type": "text/plain" }).end("forbidden from lab networks\n");
      return;
    }
    // Route handlers read the caller's address and scheme from here (rate limits, Secure cookies);
    // whatever a client sent under those names is replaced.
    stampClient(req.headers, client);
    // Before Next sees it: an API body declared too large is refused unread (docs/security.md).
    lingerOnEarlyClose(req);
    if (refuseOversizedApiBody(req, res)) return;
    void handle(req, res);
  });
  server.on("upgrade", (req, socket, head) => {
    if (app.isLabAddress(req.socket.remoteAddress ?? "")) {
      socket.end("HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n");
      return;
    }
    if (req.url?.startsWith(TERMINAL_PATH_PREFIX)) app.handleTerminalUpgrade(req, socket, head);
    else if (nextUpgrade) void nextUpgrade(req, socket, head);
    else socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n");
  });

  server.listen(config.port, config.host, () => {
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : config.port;
    console.log(`maillab listening on http://localhost:${port}`);
  });

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    console.log(`${signal}: shutting down (environments keep running and are adopted on the next start)`);
    server.close();
    await app.dispose();
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});

/**
 * A text/event-stream response whose producer is disposed when the client goes away. `Events`
 * (lib/api-types.ts) names each event and its data: what components/api-client.ts's streams expect.
 */
export function sseResponse<Events>(
  req: Request,
  start: (send: <K extends keyof Events & string>(event: K, data: Events[K]) => void) => () => void,
): Response {
  const encoder = new TextEncoder();
  let dispose: (() => void) | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (event: string, data: unknown) => {
        try {
          controller.enqueue(encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
        } catch {
          // Stream already closed: the abort handler below cleans up.
        }
      };
      dispose = start(send);
      // Proxies drop idle connections after ~60 s; a comment every 25 s keeps the stream open.
      heartbeat = setInterval(() => send("ping", Date.now()), 25_000);
      req.signal.addEventListener("abort", () => {
        clearInterval(heartbeat);
        dispose?.();
        try {
          controller.close();
        } catch {
          // already closed
        }
      });
    },
    cancel() {
      clearInterval(heartbeat);
      dispose?.();
    },
  });
  return new Response(stream, {
    headers: { "content-type": "text/event-stream", "cache-control": "no-cache, no-transform", connection: "keep-alive" },
  });
}

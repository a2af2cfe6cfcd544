"use client";
import { useEffect, useRef } from "react";
import type { EventStream } from "../api-client";

export type EventHandlers<Events> = { [K in keyof Events]?: (data: Events[K]) => void };

/**
 * Subscribes to a server-sent event stream (components/api-client.ts `eventStreams`), typed by the
 * events it sends. EventSource reconnects by itself after drops; `null` closes the stream (a class
 * that has ended has nothing more to say).
 */
export function useEventSource<Events>(stream: EventStream<Events> | null, handlers: EventHandlers<Events>) {
  const ref = useRef(handlers);
  ref.current = handlers;
  const url = stream?.url ?? null;
  useEffect(() => {
    if (!url) return;
    const source = new EventSource(url);
    const names = Object.keys(ref.current) as Array<keyof Events & string>;
    const listeners = names.map((name) => {
      // The server sends exactly the contract's type for each event name (server/api/*.ts).
      const listener = (e: MessageEvent<string>) => ref.current[name]?.(JSON.parse(e.data) as Events[typeof name]);
      source.addEventListener(name, listener);
      return [name, listener] as const;
    });
    return () => {
      for (const [name, listener] of listeners) source.removeEventListener(name, listener);
      source.close();
    };
  }, [url]);
}

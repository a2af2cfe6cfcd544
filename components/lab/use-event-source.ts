"use client";
import { useEffect, useRef } from "react";

/** Subscribes to a server-sent event stream; EventSource reconnects by itself after drops. */
export function useEventSource(url: string | null, handlers: Record<string, (data: unknown) => void>) {
  const ref = useRef(handlers);
  ref.current = handlers;
  useEffect(() => {
    if (!url) return;
    const source = new EventSource(url);
    const names = Object.keys(ref.current);
    const listeners = names.map((name) => {
      const listener = (e: MessageEvent<string>) => ref.current[name]?.(JSON.parse(e.data));
      source.addEventListener(name, listener);
      return [name, listener] as const;
    });
    return () => {
      for (const [name, listener] of listeners) source.removeEventListener(name, listener);
      source.close();
    };
  }, [url]);
}

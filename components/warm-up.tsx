"use client";
import { useEffect } from "react";
import { preloadTerminal } from "@/components/terminal";

/**
 * Loads the lab page's code while the browser is idle on a page that leads there (home, join):
 * the click on "start"/"join" then waits only for the server, not for JavaScript to arrive and be
 * compiled (docs/performance.md "Start → usable terminal").
 */
export function WarmUp() {
  useEffect(() => {
    const run = () => {
      void import("./lab/lab-view").catch(() => undefined);
      void preloadTerminal().catch(() => undefined);
    };
    if ("requestIdleCallback" in window) {
      const handle = window.requestIdleCallback(run, { timeout: 1500 });
      return () => window.cancelIdleCallback(handle);
    }
    const timer = setTimeout(run, 300);
    return () => clearTimeout(timer);
  }, []);
  return null;
}

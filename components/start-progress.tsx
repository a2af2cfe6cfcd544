"use client";
import { useEffect, useState } from "react";
import type { EnvironmentsHealth, Lang } from "@/lib/api-types";
import { translator } from "@/lib/i18n";
import { apiClient } from "./api-client";

/** Nothing is shown for waits shorter than this (a warm environment is there in well under a second). */
const SHOW_AFTER_MS = 1000;
/** How often the queue is asked for while the learner waits. */
const POLL_MS = 1000;

/**
 * While "start" or "join" waits for machines (a class joining without pre-warm: environments are
 * built a few at a time), says how long it has been and how many environments are being started
 * and waiting, instead of a button that just spins. The seconds are not announced to screen
 * readers every second; the queue sentence is, when it changes.
 */
export function StartProgress({ lang, active }: { lang: Lang; active: boolean }) {
  const t = translator(lang);
  const [since, setSince] = useState<number | null>(null);
  const [now, setNow] = useState(() => Date.now());
  const [queue, setQueue] = useState<EnvironmentsHealth["creating"] | null>(null);

  useEffect(() => {
    if (!active) {
      setSince(null);
      setQueue(null);
      return;
    }
    const started = Date.now();
    setSince(started);
    let stopped = false;
    const client = apiClient(lang);
    const tick = setInterval(() => {
      setNow(Date.now());
      if (Date.now() - started >= SHOW_AFTER_MS) {
        void client.environmentsHealth().then(
          (h) => !stopped && setQueue(h.creating),
          () => undefined,
        );
      }
    }, POLL_MS);
    return () => {
      stopped = true;
      clearInterval(tick);
    };
  }, [active, lang]);

  if (!active || since === null || now - since < SHOW_AFTER_MS) return null;
  const seconds = Math.round((now - since) / 1000);
  return (
    <div className="mt-3 text-sm text-slate-700" data-testid="start-progress">
      <div className="h-1.5 overflow-hidden rounded bg-slate-200" aria-hidden>
        <div className="h-full w-1/3 animate-pulse rounded bg-brand" />
      </div>
      <p className="mt-2" aria-hidden>
        {t("start.waited", { s: seconds })}
      </p>
      <p role="status" aria-live="polite" data-testid="start-queue">
        {queue && queue.waiting > 0 ? t("start.queue", { running: queue.running, waiting: queue.waiting }) : ""}
      </p>
    </div>
  );
}

"use client";

/**
 * Replays an asciicast v2 recording (what a learner typed and saw) in xterm.js, for the
 * instructor. Pauses longer than MAX_IDLE_S are shortened: nobody wants to watch a learner
 * read the slides for ten minutes.
 */
import "@xterm/xterm/css/xterm.css";
import type { Terminal } from "@xterm/xterm";
import type { Lang } from "@/lib/api-types";
import { useEffect, useRef, useState } from "react";
import { documentLang } from "./strings";
import { loadTerminalFont, TERMINAL_FONT } from "./terminal-font";

const MAX_IDLE_S = 2;
const SPEEDS = [1, 2, 4, 8] as const;

type PlayerState = "loading" | "playing" | "done" | "error";
const STATE_TEXT: Record<Lang, Record<PlayerState, string> & { speed: string; again: string }> = {
  de: { loading: "lädt …", playing: "läuft", done: "fertig", error: "Aufzeichnung nicht lesbar", speed: "Geschwindigkeit", again: "Noch einmal" },
  en: { loading: "loading …", playing: "playing", done: "done", error: "cannot read the recording", speed: "speed", again: "Play again" },
};

type CastEvent = [number, string, string];

function parseCast(text: string): { width: number; height: number; events: CastEvent[] } {
  const [headerLine, ...lines] = text.split("\n");
  const header = JSON.parse(headerLine ?? "{}") as { width?: number; height?: number };
  const events: CastEvent[] = [];
  let shift = 0;
  let last = 0;
  for (const line of lines) {
    if (!line.trim()) continue;
    try {
      const [t, kind, data] = JSON.parse(line) as CastEvent;
      if (kind !== "o" && kind !== "r") continue;
      if (t - last > MAX_IDLE_S) shift += t - last - MAX_IDLE_S;
      last = t;
      events.push([t - shift, kind, data]);
    } catch {
      // A torn last line (recording still being written) is skipped.
    }
  }
  return { width: header.width ?? 80, height: header.height ?? 24, events };
}

export function CastPlayer({ url, title }: { url: string; title: string }) {
  const host = useRef<HTMLDivElement>(null);
  const [speed, setSpeed] = useState<(typeof SPEEDS)[number]>(2);
  const [state, setState] = useState<PlayerState>("loading");
  const [run, setRun] = useState(0);
  const [lang, setLang] = useState<Lang>("de");
  useEffect(() => setLang(documentLang()), []);
  const text = STATE_TEXT[lang];

  useEffect(() => {
    let term: Terminal | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let cancelled = false;
    void (async () => {
      try {
        const [{ Terminal: XTerm }, res, fontReady] = await Promise.all([
          import("@xterm/xterm"),
          fetch(url, { credentials: "same-origin" }),
          loadTerminalFont(),
        ]);
        if (!res.ok) throw new Error(String(res.status));
        const cast = parseCast(await res.text());
        if (cancelled || !host.current) return;
        // The learners' font and cells (underscores visible at any pixel ratio).
        term = new XTerm({
          cols: cast.width,
          rows: cast.height,
          disableStdin: true,
          convertEol: false,
          fontFamily: fontReady ? TERMINAL_FONT.family : TERMINAL_FONT.fallback,
          fontSize: TERMINAL_FONT.size,
          lineHeight: TERMINAL_FONT.lineHeight,
        });
        term.open(host.current);
        setState("playing");
        let i = 0;
        const started = performance.now();
        const step = () => {
          const now = ((performance.now() - started) / 1000) * speed;
          while (i < cast.events.length && cast.events[i]![0] <= now) {
            const [, kind, data] = cast.events[i++]!;
            if (kind === "o") term!.write(data);
            else {
              const [cols, rows] = data.split("x").map(Number);
              if (cols && rows) term!.resize(cols, rows);
            }
          }
          if (i >= cast.events.length) setState("done");
          else timer = setTimeout(step, Math.max(0, ((cast.events[i]![0] - now) * 1000) / speed));
        };
        step();
      } catch {
        if (!cancelled) setState("error");
      }
    })();
    return () => {
      cancelled = true;
      clearTimeout(timer);
      term?.dispose();
    };
  }, [url, speed, run]);

  return (
    <div className="flex h-full flex-col">
      <div className="flex items-center gap-2 border-b border-slate-700 bg-slate-800 px-3 py-2 text-sm text-slate-100">
        <span className="font-medium">{title}</span>
        <span data-testid="replay-state" data-state={state} className="text-slate-400">{text[state]}</span>
        <div className="ml-auto flex gap-1" role="group" aria-label={text.speed}>
          {SPEEDS.map((s) => (
            <button key={s} type="button" aria-pressed={s === speed} onClick={() => setSpeed(s)}
              className={`rounded px-2 ${s === speed ? "bg-slate-100 text-slate-900" : "hover:bg-slate-700"}`}>
              {s}×
            </button>
          ))}
          <button type="button" className="rounded px-2 hover:bg-slate-700" aria-label={text.again} title={text.again} onClick={() => setRun((r) => r + 1)}>↺</button>
        </div>
      </div>
      <div ref={host} className="min-h-0 flex-1 overflow-auto bg-[#0f172a] p-2" data-testid="replay" />
    </div>
  );
}

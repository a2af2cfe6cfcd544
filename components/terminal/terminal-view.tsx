"use client";

/**
 * One browser terminal: xterm.js bound to `/ws/terminal/<envId>/<machine>`
 * through {@link TerminalConnection}. xterm.js and its addons are loaded on
 * mount (dynamic import: not part of the server render, and a separate chunk).
 *
 * Test hooks: the container has `data-testid="terminal-<machine>"`, the badge
 * `data-testid="terminal-status-<machine>"` with `data-status` = connection
 * status; the visible text is in `.xterm-rows` (DOM renderer).
 */
import "@xterm/xterm/css/xterm.css";
import type { Terminal } from "@xterm/xterm";
import type { FitAddon } from "@xterm/addon-fit";
import { useCallback, useEffect, useRef, useState } from "react";
import type { MachineName } from "@/lib/machines";
import { terminalPath } from "@/lib/terminal-wire";
import { documentLang, terminalStrings, type TerminalLang, type TerminalStrings } from "./strings";
import { TerminalConnection, type ConnectionState } from "./terminal-connection";

export interface TerminalViewProps {
  envId: string;
  machine: MachineName;
  /** Never send keystrokes (an instructor watching). The server enforces read-only for viewers anyway. */
  readOnly?: boolean;
  /** Whether the terminal is visible (tabs): it is fitted and focused when this becomes true. Default true. */
  active?: boolean;
  /** Focus the terminal when it becomes active. Default true. */
  autoFocus?: boolean;
  /** Accessible name; default "Terminal <machine>". */
  label?: string;
  lang?: TerminalLang;
  /** WebSocket URL override (default: same host, `/ws/terminal/<envId>/<machine>`). */
  url?: string;
  onStateChange?: (machine: MachineName, state: ConnectionState) => void;
  className?: string;
}

const RESIZE_DEBOUNCE_MS = 100;

const THEME = {
  background: "#0f172a", // slate-900, like the page around it
  foreground: "#e2e8f0",
  cursor: "#e2e8f0",
  selectionBackground: "#334155",
};

function defaultUrl(envId: string, machine: MachineName): string {
  const proto = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${window.location.host}${terminalPath(envId, machine)}`;
}

function binaryStringToBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

export function TerminalView({
  envId,
  machine,
  readOnly = false,
  active = true,
  autoFocus = true,
  label,
  lang,
  url,
  onStateChange,
  className,
}: TerminalViewProps) {
  const hostRef = useRef<HTMLDivElement>(null);
  const termRef = useRef<Terminal | null>(null);
  const fitRef = useRef<FitAddon | null>(null);
  const connRef = useRef<TerminalConnection | null>(null);
  const [state, setState] = useState<ConnectionState | null>(null);
  const [strings, setStrings] = useState<TerminalStrings>(() => terminalStrings(lang ?? "de"));
  const [now, setNow] = useState(() => Date.now());
  const onStateChangeRef = useRef(onStateChange);
  const activeRef = useRef(active);
  const readOnlyRef = useRef(readOnly);
  useEffect(() => {
    onStateChangeRef.current = onStateChange;
    activeRef.current = active;
    readOnlyRef.current = readOnly;
  });
  /** Read-only viewers show the pty at its own size instead of fitting their pane. */
  const followRef = useRef(false);

  useEffect(() => setStrings(terminalStrings(lang ?? documentLang())), [lang]);

  /** Fit to the pane (when visible and not following the learner's size). */
  const fit = useCallback(() => {
    const host = hostRef.current;
    const term = termRef.current;
    const fitAddon = fitRef.current;
    if (!host || !term || !fitAddon || followRef.current) return;
    if (host.clientWidth === 0 || host.clientHeight === 0) return; // hidden tab
    try {
      fitAddon.fit();
    } catch {
      // not rendered yet
    }
  }, []);

  useEffect(() => {
    let disposed = false;
    let cleanup: (() => void) | null = null;
    void (async () => {
      const [{ Terminal }, { FitAddon }, { WebLinksAddon }] = await Promise.all([
        import("@xterm/xterm"),
        import("@xterm/addon-fit"),
        import("@xterm/addon-web-links"),
      ]);
      const host = hostRef.current;
      if (disposed || !host) return;
      const term = new Terminal({
        cursorBlink: true,
        fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', 'Liberation Mono', monospace",
        fontSize: 14,
        scrollback: 5000,
        screenReaderMode: false,
        disableStdin: true, // until connected
        theme: THEME,
      });
      const fitAddon = new FitAddon();
      term.loadAddon(fitAddon);
      term.loadAddon(
        new WebLinksAddon((event, uri) => {
          event.preventDefault();
          window.open(uri, "_blank", "noopener,noreferrer");
        }),
      );
      term.open(host);
      termRef.current = term;
      fitRef.current = fitAddon;
      fit();

      // Ctrl+Shift+C copies the selection; Ctrl+Shift+V is left to the browser's paste
      // (xterm pastes from the paste event). Plain Ctrl+C/V stay terminal keys.
      term.attachCustomKeyEventHandler((ev) => {
        if (ev.type !== "keydown" || !ev.ctrlKey || !ev.shiftKey || ev.altKey || ev.metaKey) return true;
        if (ev.code === "KeyC") {
          if (term.hasSelection()) void navigator.clipboard?.writeText(term.getSelection()).catch(() => {});
          ev.preventDefault();
          return false;
        }
        if (ev.code === "KeyV") return false;
        return true;
      });

      const conn = new TerminalConnection({
        url: url ?? defaultUrl(envId, machine),
        size: () => ({ cols: term.cols, rows: term.rows }),
        onOutput: (data, processed) => term.write(data, processed),
        // RIS (ESC c) resets xterm in order with the output still queued before it.
        onReset: () => term.write("\x1bc"),
        onState: (s) => {
          const canType = s.status === "open" && !s.readOnly && !readOnlyRef.current;
          // Exited: Enter starts a new shell, so keys must still arrive.
          term.options.disableStdin = !(canType || s.status === "exited");
          term.options.cursorBlink = canType;
          const follow = s.status === "open" && s.readOnly && s.ptySize !== null;
          followRef.current = follow;
          if (follow && s.ptySize && (term.cols !== s.ptySize.cols || term.rows !== s.ptySize.rows)) {
            term.resize(s.ptySize.cols, s.ptySize.rows);
          }
          setState(s);
          onStateChangeRef.current?.(machine, s);
        },
      });
      connRef.current = conn;

      const subs = [
        term.onData((data) => {
          const st = conn.state;
          if (st.status === "exited") {
            if (data === "\r") conn.restart();
            return;
          }
          if (!readOnlyRef.current) conn.sendInput(data);
        }),
        term.onBinary((data) => {
          if (!readOnlyRef.current) conn.sendInput(binaryStringToBytes(data));
        }),
        term.onResize(({ cols, rows }) => {
          if (!followRef.current) conn.resize(cols, rows);
        }),
      ];

      // Refit on pane changes, debounced (dragging a splitter fires many times).
      let resizeTimer: ReturnType<typeof setTimeout> | null = null;
      const observer = new ResizeObserver(() => {
        if (resizeTimer) clearTimeout(resizeTimer);
        resizeTimer = setTimeout(fit, RESIZE_DEBOUNCE_MS);
      });
      observer.observe(host);

      const wake = () => {
        if (document.visibilityState === "visible") conn.retryNow();
      };
      window.addEventListener("online", wake);
      document.addEventListener("visibilitychange", wake);

      conn.connect();
      if (activeRef.current && autoFocus && !readOnlyRef.current) term.focus();

      cleanup = () => {
        window.removeEventListener("online", wake);
        document.removeEventListener("visibilitychange", wake);
        observer.disconnect();
        if (resizeTimer) clearTimeout(resizeTimer);
        for (const s of subs) s.dispose();
        conn.close();
        term.dispose();
        termRef.current = null;
        fitRef.current = null;
        connRef.current = null;
      };
    })();
    return () => {
      disposed = true;
      cleanup?.();
    };
    // A new environment/machine/url is a new terminal; autoFocus is read at creation.
  }, [envId, machine, url, fit]);

  // Becoming visible: fit (the pane had no size while hidden) and take the focus.
  useEffect(() => {
    if (!active) return;
    const id = requestAnimationFrame(() => {
      fit();
      if (autoFocus) termRef.current?.focus();
    });
    return () => cancelAnimationFrame(id);
  }, [active, autoFocus, fit]);

  // Stopped following (took control): fit to our own pane again.
  const following = state?.status === "open" && state.readOnly;
  useEffect(() => {
    if (!following) fit();
  }, [following, fit]);

  // The "retrying in N s" countdown.
  const reconnecting = state?.status === "reconnecting" && state.retryAt !== null;
  useEffect(() => {
    if (!reconnecting) return;
    const id = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(id);
  }, [reconnecting]);

  const conn = connRef.current;
  const badge = statusBadge(state, strings, now, readOnly);
  const helper = state?.control && state.control.id !== state.you ? state.control : null;
  const watchers = state?.viewers.filter((v) => v.id !== state.you && v.role === "viewer") ?? [];

  return (
    <div className={`flex h-full min-h-0 flex-col ${className ?? ""}`}>
      <div className="flex min-h-8 flex-wrap items-center gap-2 border-b border-slate-700 bg-slate-800 px-2 py-1 text-xs text-slate-200">
        <span
          data-testid={`terminal-status-${machine}`}
          data-status={state?.status ?? "connecting"}
          role="status"
          aria-live="polite"
          className={`inline-flex items-center gap-1.5 rounded px-1.5 py-0.5 ${badge.tone}`}
        >
          <span aria-hidden className={`h-2 w-2 rounded-full ${badge.dot}`} />
          {badge.text}
        </span>
        {helper && state?.role === "learner" && (
          <span className="rounded bg-amber-500/20 px-1.5 py-0.5 text-amber-200" data-testid={`terminal-helping-${machine}`}>
            {strings.helping(helper.name)}
          </span>
        )}
        {state?.role === "learner" && watchers.length > 0 && (
          <span className="text-slate-400">{strings.watchedBy(watchers.map((w) => w.name).join(", "))}</span>
        )}
        <span className="flex-1" />
        {state?.status === "reconnecting" && (
          <button type="button" className="underline hover:text-white" onClick={() => conn?.retryNow()}>
            {strings.retryNow}
          </button>
        )}
        {state?.status === "failed" && (
          <button type="button" className="underline hover:text-white" onClick={() => conn?.retryNow()}>
            {strings.retry}
          </button>
        )}
        {state?.status === "exited" && (
          <button
            type="button"
            className="underline hover:text-white"
            data-testid={`terminal-restart-${machine}`}
            onClick={() => {
              conn?.restart();
              termRef.current?.focus();
            }}
          >
            {strings.restart}
          </button>
        )}
        {state?.status === "open" && state.canControl && !readOnly && (
          <button
            type="button"
            data-testid={`terminal-control-${machine}`}
            className="rounded border border-slate-500 px-2 py-0.5 hover:bg-slate-700"
            onClick={() => {
              const mine = state.control?.id === state.you;
              conn?.takeControl(!mine);
              if (!mine) termRef.current?.focus();
            }}
          >
            {state.control?.id === state.you ? strings.releaseControl : strings.takeControl}
          </button>
        )}
      </div>
      <div
        ref={hostRef}
        data-testid={`terminal-${machine}`}
        role="group"
        aria-label={label ?? strings.terminal(machine)}
        className="relative min-h-0 flex-1 overflow-auto bg-[#0f172a] p-1 outline-none focus-within:ring-2 focus-within:ring-inset focus-within:ring-sky-400"
      />
    </div>
  );
}

function statusBadge(
  state: ConnectionState | null,
  s: TerminalStrings,
  now: number,
  forcedReadOnly: boolean,
): { text: string; tone: string; dot: string } {
  const ok = { tone: "bg-emerald-500/15 text-emerald-200", dot: "bg-emerald-400" };
  const warn = { tone: "bg-amber-500/15 text-amber-200", dot: "bg-amber-400" };
  const bad = { tone: "bg-red-500/15 text-red-200", dot: "bg-red-400" };
  const info = { tone: "bg-sky-500/15 text-sky-200", dot: "bg-sky-400" };
  if (!state) return { text: s.connecting, ...warn };
  switch (state.status) {
    case "connecting":
      return { text: s.connecting, ...warn };
    case "open":
      if (state.control && state.control.id === state.you) return { text: s.youHaveControl, ...info };
      if (state.readOnly || forcedReadOnly) return { text: s.readOnly, ...info };
      return { text: s.connected, ...ok };
    case "reconnecting": {
      if (state.retryAt === null) return { text: s.reconnectingNow, ...warn };
      return { text: s.reconnectingIn(Math.max(1, Math.ceil((state.retryAt - now) / 1000))), ...warn };
    }
    case "exited":
      return { text: s.exited(state.exitCode ?? 0), ...bad };
    case "failed":
      return { text: state.message ? `${s.failed}: ${state.message}` : s.failed, ...bad };
    case "closed":
      return { text: s.closed, ...bad };
  }
}

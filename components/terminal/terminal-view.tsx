"use client";

/**
 * One browser terminal: xterm.js bound to `/ws/terminal/<envId>/<machine>`
 * through {@link TerminalConnection}. xterm.js and its addons are loaded on
 * mount (dynamic import: not part of the server render, and a separate chunk),
 * after the terminal font (shipped with the app, see `terminal-font.ts`) so that
 * xterm measures its cells with the real glyphs.
 *
 * Keyboard (docs/accessibility.md): every key goes to the shell, Tab included
 * (completion), except Shift+Tab, which leaves the terminal (to its toolbar, then
 * the page); the toolbar says so and the terminal's input announces it. The
 * screen-reader mode (xterm's accessible output) is a toggle, remembered.
 *
 * Viewers that do not set the size (an instructor watching) render the session at
 * the session's size, changed in order with the output (`onSize`).
 *
 * Test hooks: the container has `data-testid="terminal-<machine>"`, the badge
 * `data-testid="terminal-status-<machine>"` with `data-status` = connection
 * status; the visible text is in `.xterm-rows` (DOM renderer).
 */
import "@xterm/xterm/css/xterm.css";
import type { Terminal } from "@xterm/xterm";
import type { FitAddon } from "@xterm/addon-fit";
import { useCallback, useEffect, useId, useLayoutEffect, useRef, useState, useSyncExternalStore } from "react";
import type { Lang } from "@/lib/api-types";
import type { MachineName } from "@/lib/machines";
import { terminalPath, TerminalCloseCode } from "@/lib/terminal-wire";
import { getScreenReaderMode, setScreenReaderMode, subscribeScreenReaderMode } from "./preferences";
import { documentLang, terminalStrings, type TerminalStrings } from "./strings";
import { TerminalConnection, type ConnectionState } from "./terminal-connection";
import { loadTerminalFont, TERMINAL_FONT } from "./terminal-font";

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
  lang?: Lang;
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

const EMPTY = new Uint8Array(0);

function defaultUrl(envId: string, machine: MachineName): string {
  const proto = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${window.location.host}${terminalPath(envId, machine)}`;
}

function binaryStringToBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

/** Whether this socket shows the session at the session's size rather than fitting its pane. */
function follows(s: ConnectionState): boolean {
  if (s.status !== "open" || !s.ptySize) return false;
  // Read-only viewers, and anyone while somebody else holds the keyboard (and so the size).
  return s.readOnly || (s.control !== null && s.control.id !== s.you);
}

const noServerSnapshot = () => false;

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
  const hintId = useId();
  const screenReader = useSyncExternalStore(subscribeScreenReaderMode, getScreenReaderMode, noServerSnapshot);
  const screenReaderRef = useRef(screenReader);
  const onStateChangeRef = useRef(onStateChange);
  const activeRef = useRef(active);
  const readOnlyRef = useRef(readOnly);
  useEffect(() => {
    onStateChangeRef.current = onStateChange;
    activeRef.current = active;
    readOnlyRef.current = readOnly;
    screenReaderRef.current = screenReader;
  });
  /** Following the session's size (see `follows`) instead of fitting the pane. */
  const followRef = useRef(false);
  /** The session's size as of the output written so far. */
  const sessionSizeRef = useRef<{ cols: number; rows: number } | null>(null);

  useEffect(() => setStrings(terminalStrings(lang ?? documentLang())), [lang]);

  /** Fit to the pane (when visible and not following the session's size). */
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
      const [{ Terminal }, { FitAddon }, { WebLinksAddon }, fontReady] = await Promise.all([
        import("@xterm/xterm"),
        import("@xterm/addon-fit"),
        import("@xterm/addon-web-links"),
        loadTerminalFont(),
      ]);
      const host = hostRef.current;
      if (disposed || !host) return;
      const term = new Terminal({
        cursorBlink: true,
        // Until the shipped font is there (it normally is by now), the fallback; then re-measured.
        fontFamily: fontReady ? TERMINAL_FONT.family : TERMINAL_FONT.fallback,
        fontSize: TERMINAL_FONT.size,
        lineHeight: TERMINAL_FONT.lineHeight,
        scrollback: 5000,
        screenReaderMode: screenReaderRef.current,
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
      // The way out is announced where the keyboard is: on the terminal's input.
      term.textarea?.setAttribute("aria-describedby", hintId);
      termRef.current = term;
      fitRef.current = fitAddon;
      fit();
      if (!fontReady) {
        void loadTerminalFont(10_000).then((ok) => {
          if (!ok || disposed) return;
          term.options.fontFamily = TERMINAL_FONT.family;
          fit();
        });
      }

      term.attachCustomKeyEventHandler((ev) => {
        // Shift+Tab leaves the terminal: not handled here, so the browser moves the focus back.
        if (ev.key === "Tab" && ev.shiftKey && !ev.ctrlKey && !ev.altKey && !ev.metaKey) return false;
        // Ctrl+Shift+C copies the selection; Ctrl+Shift+V is left to the browser's paste
        // (xterm pastes from the paste event). Plain Ctrl+C/V stay terminal keys.
        if (ev.type !== "keydown" || !ev.ctrlKey || !ev.shiftKey || ev.altKey || ev.metaKey) return true;
        if (ev.code === "KeyC") {
          if (term.hasSelection()) void navigator.clipboard?.writeText(term.getSelection()).catch(() => {});
          ev.preventDefault();
          return false;
        }
        if (ev.code === "KeyV") return false;
        return true;
      });

      /**
       * Takes the session's size as of now, once everything written before this point has been
       * parsed (in order with output: a replay brings sizes and output in one burst, and each
       * byte must be parsed at the size the shell wrote it).
       */
      const followSize = () => {
        const size = sessionSizeRef.current;
        if (!size) return;
        term.write(EMPTY, () => {
          if (!followRef.current) return;
          if (term.cols !== size.cols || term.rows !== size.rows) term.resize(size.cols, size.rows);
        });
      };

      const conn = new TerminalConnection({
        url: url ?? defaultUrl(envId, machine),
        size: () => ({ cols: term.cols, rows: term.rows }),
        onOutput: (data, processed) => term.write(data, processed),
        // RIS (ESC c) resets xterm in order with the output still queued before it.
        onReset: () => term.write("\x1bc"),
        onSize: (cols, rows) => {
          sessionSizeRef.current = { cols, rows };
          followSize();
        },
        onState: (s) => {
          const canType = conn.acceptsInput && !readOnlyRef.current;
          // Exited: Enter starts a new shell, so keys must still arrive.
          term.options.disableStdin = !(canType || s.status === "exited");
          term.options.cursorBlink = s.status === "open" && !s.readOnly && !readOnlyRef.current;
          const follow = follows(s);
          if (follow !== followRef.current) {
            followRef.current = follow;
            if (follow) followSize();
            else fit(); // our own pane again (took control, or the helper handed back)
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
  }, [envId, machine, url, fit, hintId]);

  // The screen-reader toggle (shared by all terminals, remembered).
  useEffect(() => {
    const term = termRef.current;
    if (term && term.options.screenReaderMode !== screenReader) term.options.screenReaderMode = screenReader;
  }, [screenReader]);

  // Becoming visible: take the focus at once (keys typed right after the tab click must reach the
  // shell, not the tab button), then fit once the pane has its size (it had none while hidden).
  useLayoutEffect(() => {
    if (active && autoFocus) termRef.current?.focus();
  }, [active, autoFocus]);
  useEffect(() => {
    if (!active) return;
    const id = requestAnimationFrame(() => fit());
    return () => cancelAnimationFrame(id);
  }, [active, fit]);

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
  const inputNote = inputNotice(state, strings);

  return (
    <div className={`flex h-full min-h-0 flex-col ${className ?? ""}`}>
      <div className="flex min-h-8 flex-wrap items-center gap-2 border-b border-slate-700 bg-slate-800 px-2 py-1 text-xs text-slate-200">
        <span
          data-testid={`terminal-status-${machine}`}
          data-status={state?.status ?? "connecting"}
          data-close-code={state?.closeCode ?? undefined}
          role="status"
          aria-live="polite"
          className={`inline-flex items-center gap-1.5 rounded px-1.5 py-0.5 ${badge.tone}`}
        >
          <span aria-hidden className={`h-2 w-2 rounded-full ${badge.dot}`} />
          {badge.text}
        </span>
        {inputNote && (
          <span role="alert" data-testid={`terminal-input-notice-${machine}`} className="text-amber-200">
            {inputNote}
          </span>
        )}
        {helper && state?.role === "learner" && (
          <span className="rounded bg-amber-500/20 px-1.5 py-0.5 text-amber-200" data-testid={`terminal-helping-${machine}`}>
            {strings.helping}
          </span>
        )}
        {state?.role === "learner" && watchers.length > 0 && (
          <span className="text-slate-400" data-testid={`terminal-watched-${machine}`}>{strings.watchedBy}</span>
        )}
        <span className="flex-1" />
        <span id={hintId} data-testid={`terminal-keyboard-hint-${machine}`} className="text-slate-400">
          {strings.keyboardHint}
        </span>
        <button
          type="button"
          data-testid={`terminal-screen-reader-${machine}`}
          aria-pressed={screenReader}
          title={strings.screenReaderHelp}
          className={`rounded border px-1.5 py-0.5 ${screenReader ? "border-sky-400 bg-sky-500/20" : "border-slate-500"} hover:bg-slate-700`}
          onClick={() => setScreenReaderMode(!screenReader)}
        >
          {strings.screenReader}
        </button>
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

function inputNotice(state: ConnectionState | null, s: TerminalStrings): string | null {
  if (!state) return null;
  if (state.inputNotice === "refused") return s.inputRefused;
  if (state.inputNotice === "dropped") return s.inputDropped;
  if (state.queuedInput > 0) return s.inputQueued;
  return null;
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
    case "resetting":
      return { text: s.resetting, ...info };
    case "exited":
      return { text: s.exited(state.exitCode ?? 0), ...bad };
    case "failed":
      return { text: state.message ? `${s.failed}: ${state.message}` : s.failed, ...bad };
    case "ended":
      return { text: state.closeCode === TerminalCloseCode.CLASS_ENDED ? s.classEnded : s.environmentRemoved, ...bad };
    case "closed":
      return { text: s.closed, ...bad };
  }
}

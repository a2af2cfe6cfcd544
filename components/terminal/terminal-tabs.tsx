"use client";

/**
 * Tabs for an environment's machines (`mail`, `partner`). Every terminal stays
 * mounted and connected while hidden, so switching tabs loses nothing. The hidden
 * ones start only once the open tab's terminal is connected (or after
 * HIDDEN_START_MS): the prompt the learner looks at comes first, which matters
 * when a whole class's browsers load at once on slow machines.
 */
import { useCallback, useEffect, useId, useRef, useState, type KeyboardEvent } from "react";
import type { Lang } from "@/lib/api-types";
import type { MachineName } from "@/lib/machines";
import { documentLang, terminalStrings } from "./strings";
import type { ConnectionStatus, ConnectionState } from "./terminal-connection";
import { TerminalView } from "./terminal-view";

export interface TerminalTabsProps {
  envId: string;
  machines?: readonly MachineName[];
  /** Never type, not even after taking over (a pure watch view). */
  readOnly?: boolean;
  /**
   * The instructor's view. Informational: the server makes instructor sockets
   * read-only by itself (from `authorize`) and offers them "take over".
   */
  viewer?: boolean;
  /** Tab labels; default the machine names. */
  labels?: Partial<Record<MachineName, string>>;
  lang?: Lang;
  /** Which tab is open first; default the first machine. */
  initial?: MachineName;
  /**
   * Every connection state change of every terminal, e.g. for the page to show its
   * "class ended" view when a terminal ends with status `ended` and closeCode 4411.
   */
  onStateChange?: (machine: MachineName, state: ConnectionState) => void;
  className?: string;
}

/** Start the hidden tabs' terminals at the latest after this long, connected or not. */
const HIDDEN_START_MS = 1500;

const DOT: Record<ConnectionStatus, string> = {
  connecting: "bg-amber-400",
  open: "bg-emerald-400",
  reconnecting: "bg-amber-400",
  resetting: "bg-sky-400",
  exited: "bg-red-400",
  failed: "bg-red-400",
  ended: "bg-red-400",
  closed: "bg-red-400",
};

export function TerminalTabs({
  envId,
  machines = ["mail", "partner"],
  readOnly,
  viewer,
  labels,
  lang,
  initial,
  onStateChange: onStateChangeProp,
  className,
}: TerminalTabsProps) {
  const idBase = useId();
  const [active, setActive] = useState<MachineName>(initial ?? machines[0] ?? "mail");
  /** Focus follows the tab only after the user switched (no focus stealing on page load). */
  const [switched, setSwitched] = useState(false);
  const [status, setStatus] = useState<Partial<Record<MachineName, ConnectionStatus>>>({});
  const [strings, setStrings] = useState(() => terminalStrings(lang ?? "de"));
  useEffect(() => setStrings(terminalStrings(lang ?? documentLang())), [lang]);

  const onStateChangeRef = useRef(onStateChangeProp);
  useEffect(() => {
    onStateChangeRef.current = onStateChangeProp;
  });
  const [startHidden, setStartHidden] = useState(false);
  useEffect(() => {
    const timer = setTimeout(() => setStartHidden(true), HIDDEN_START_MS);
    return () => clearTimeout(timer);
  }, []);
  const onStateChange = useCallback((machine: MachineName, s: ConnectionState) => {
    setStatus((prev) => (prev[machine] === s.status ? prev : { ...prev, [machine]: s.status }));
    if (s.status !== "connecting") setStartHidden(true);
    onStateChangeRef.current?.(machine, s);
  }, []);

  const select = (m: MachineName) => {
    setActive(m);
    setSwitched(true);
    setStartHidden(true);
  };

  const onKeyDown = (ev: KeyboardEvent<HTMLDivElement>) => {
    if (ev.key !== "ArrowRight" && ev.key !== "ArrowLeft") return;
    const i = machines.indexOf(active);
    const next = machines[(i + (ev.key === "ArrowRight" ? 1 : machines.length - 1)) % machines.length];
    if (next) {
      setActive(next);
      document.getElementById(`${idBase}-tab-${next}`)?.focus();
    }
    ev.preventDefault();
  };

  const ro = Boolean(readOnly);
  return (
    <div className={`flex h-full min-h-0 flex-col ${className ?? ""}`} data-testid="terminal-tabs">
      <div
        role="tablist"
        aria-label={strings.tabs}
        className="flex gap-1 border-b border-slate-700 bg-slate-900 px-2 pt-1"
        onKeyDown={onKeyDown}
      >
        {machines.map((m) => {
          const selected = m === active;
          const st = status[m] ?? "connecting";
          return (
            <button
              key={m}
              id={`${idBase}-tab-${m}`}
              type="button"
              role="tab"
              aria-selected={selected}
              aria-controls={`${idBase}-panel-${m}`}
              tabIndex={selected ? 0 : -1}
              data-testid={`terminal-tab-${m}`}
              onClick={() => select(m)}
              className={`flex items-center gap-2 rounded-t px-3 py-1.5 font-mono text-sm ${
                selected ? "bg-slate-800 text-white" : "text-slate-400 hover:bg-slate-800/60 hover:text-slate-200"
              }`}
            >
              <span aria-hidden className={`h-2 w-2 rounded-full ${DOT[st]}`} />
              {labels?.[m] ?? m}
            </button>
          );
        })}
      </div>
      {machines.map((m) => (
        <div
          key={m}
          id={`${idBase}-panel-${m}`}
          role="tabpanel"
          aria-labelledby={`${idBase}-tab-${m}`}
          hidden={m !== active}
          className="min-h-0 flex-1"
        >
          {(m === active || startHidden) && <TerminalView
            envId={envId}
            machine={m}
            readOnly={ro}
            active={m === active}
            autoFocus={switched && !viewer}
            label={labels?.[m] ? `${strings.terminal(m)} (${labels[m]})` : undefined}
            lang={lang}
            onStateChange={onStateChange}
          />}
        </div>
      ))}
    </div>
  );
}

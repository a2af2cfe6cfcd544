/** UI strings of the terminal components (German first, like the course). */
export type TerminalLang = "de" | "en";

export interface TerminalStrings {
  terminal: (machine: string) => string;
  tabs: string;
  connecting: string;
  connected: string;
  reconnectingIn: (seconds: number) => string;
  reconnectingNow: string;
  retryNow: string;
  readOnly: string;
  helping: (name: string) => string;
  youHaveControl: string;
  takeControl: string;
  releaseControl: string;
  watchedBy: (names: string) => string;
  exited: (code: number) => string;
  restart: string;
  failed: string;
  retry: string;
  closed: string;
}

const de: TerminalStrings = {
  terminal: (m) => `Terminal ${m}`,
  tabs: "Maschinen",
  connecting: "verbinde …",
  connected: "verbunden",
  reconnectingIn: (s) => `Verbindung unterbrochen – neuer Versuch in ${s} s`,
  reconnectingNow: "Verbindung unterbrochen – verbinde neu …",
  retryNow: "Jetzt verbinden",
  readOnly: "nur ansehen",
  helping: (n) => `${n} hilft gerade`,
  youHaveControl: "Du tippst mit",
  takeControl: "Übernehmen",
  releaseControl: "Zurückgeben",
  watchedBy: (n) => `Zuschauer: ${n}`,
  exited: (c) => `Shell beendet (Exit-Code ${c})`,
  restart: "Neue Shell starten",
  failed: "Keine Verbindung zum Terminal",
  retry: "Erneut versuchen",
  closed: "getrennt",
};

const en: TerminalStrings = {
  terminal: (m) => `Terminal ${m}`,
  tabs: "Machines",
  connecting: "connecting …",
  connected: "connected",
  reconnectingIn: (s) => `connection lost – retrying in ${s} s`,
  reconnectingNow: "connection lost – reconnecting …",
  retryNow: "Reconnect now",
  readOnly: "read-only",
  helping: (n) => `${n} is helping`,
  youHaveControl: "You are typing too",
  takeControl: "Take over",
  releaseControl: "Hand back",
  watchedBy: (n) => `Watching: ${n}`,
  exited: (c) => `Shell exited (code ${c})`,
  restart: "Start a new shell",
  failed: "Cannot connect to the terminal",
  retry: "Try again",
  closed: "disconnected",
};

export function terminalStrings(lang: TerminalLang | undefined): TerminalStrings {
  return lang === "en" ? en : de;
}

/** The page's language (`<html lang>`), for when no `lang` prop was given. */
export function documentLang(): TerminalLang {
  return typeof document !== "undefined" && document.documentElement.lang.startsWith("en") ? "en" : "de";
}

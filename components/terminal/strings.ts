/** UI strings of the terminal components (German first, like the course; the German product says "Sie"). */
import type { Lang } from "@/lib/api-types";

export interface TerminalStrings {
  terminal: (machine: string) => string;
  tabs: string;
  connecting: string;
  connected: string;
  reconnectingIn: (seconds: number) => string;
  reconnectingNow: string;
  /** The machines are being replaced; the terminal comes back by itself. */
  resetting: string;
  retryNow: string;
  readOnly: string;
  /** An instructor holds the keyboard (every instructor is "the instructor" to the learner). */
  helping: string;
  youHaveControl: string;
  takeControl: string;
  releaseControl: string;
  /** Instructors are watching (read-only). */
  watchedBy: string;
  exited: (code: number) => string;
  restart: string;
  failed: string;
  retry: string;
  closed: string;
  /** Close code 4410. */
  environmentRemoved: string;
  /** Close code 4411. */
  classEnded: string;
  /** Keys typed while disconnected are waiting. */
  inputQueued: string;
  /** Keys typed while disconnected were dropped because a new shell came back. */
  inputDropped: string;
  /** Too much typed while disconnected: not sent. */
  inputRefused: string;
  /** Visible in the toolbar and read by screen readers when the terminal gets focus. */
  keyboardHint: string;
  screenReader: string;
  screenReaderHelp: string;
}

const de: TerminalStrings = {
  terminal: (m) => `Terminal ${m}`,
  tabs: "Maschinen",
  connecting: "verbinde …",
  connected: "verbunden",
  reconnectingIn: (s) => `Verbindung unterbrochen – neuer Versuch in ${s} s`,
  reconnectingNow: "Verbindung unterbrochen – verbinde neu …",
  resetting: "Maschinen werden zurückgesetzt – die neue Shell startet gleich von selbst …",
  retryNow: "Jetzt verbinden",
  readOnly: "nur ansehen",
  helping: "Ihre Lehrkraft hilft gerade",
  youHaveControl: "Sie tippen mit",
  takeControl: "Übernehmen",
  releaseControl: "Zurückgeben",
  watchedBy: "Ihre Lehrkraft sieht zu",
  exited: (c) => `Shell beendet (Exit-Code ${c})`,
  restart: "Neue Shell starten",
  failed: "Keine Verbindung zum Terminal",
  retry: "Erneut versuchen",
  closed: "getrennt",
  environmentRemoved: "Diese Umgebung wurde entfernt; ihre Maschinen gibt es nicht mehr.",
  classEnded: "Die Kurssitzung ist beendet; die Maschinen wurden entfernt.",
  inputQueued: "Ihre Eingaben werden gesendet, sobald die Verbindung wieder steht.",
  inputDropped: "Eingaben während der Unterbrechung wurden verworfen: eine neue Shell hat begonnen.",
  inputRefused: "Nicht verbunden – weitere Eingaben werden nicht gesendet.",
  keyboardHint: "Tab ergänzt · Umschalt+Tab verlässt das Terminal",
  screenReader: "Screenreader-Modus",
  screenReaderHelp: "Terminalausgabe für Screenreader vorlesen (wird gespeichert)",
};

const en: TerminalStrings = {
  terminal: (m) => `Terminal ${m}`,
  tabs: "Machines",
  connecting: "connecting …",
  connected: "connected",
  reconnectingIn: (s) => `connection lost – retrying in ${s} s`,
  reconnectingNow: "connection lost – reconnecting …",
  resetting: "machines are being reset – the new shell starts by itself in a moment …",
  retryNow: "Reconnect now",
  readOnly: "read-only",
  helping: "Your instructor is helping",
  youHaveControl: "You are typing too",
  takeControl: "Take over",
  releaseControl: "Hand back",
  watchedBy: "Your instructor is watching",
  exited: (c) => `Shell exited (code ${c})`,
  restart: "Start a new shell",
  failed: "Cannot connect to the terminal",
  retry: "Try again",
  closed: "disconnected",
  environmentRemoved: "This environment was removed; its machines are gone.",
  classEnded: "The class session has ended; its machines were removed.",
  inputQueued: "What you type is sent as soon as the connection is back.",
  inputDropped: "Keys typed while disconnected were dropped: a new shell started.",
  inputRefused: "Not connected – further keys are not sent.",
  keyboardHint: "Tab completes · Shift+Tab leaves the terminal",
  screenReader: "Screen reader mode",
  screenReaderHelp: "Read terminal output to screen readers (remembered)",
};

export function terminalStrings(lang: Lang | undefined): TerminalStrings {
  return lang === "en" ? en : de;
}

/** The page's language (`<html lang>`), for when no `lang` prop was given. */
export function documentLang(): Lang {
  // Through globalThis: this module is also read by Node-side tests (no DOM types there).
  const doc = (globalThis as { document?: { documentElement: { lang: string } } }).document;
  return doc?.documentElement.lang.startsWith("en") ? "en" : "de";
}

import { loadTerminalFont } from "./terminal-font";

/**
 * Fetches and evaluates what a terminal needs (xterm.js and its addons, the shipped font) ahead of
 * time. Pages that lead to the lab (home, join) call it while the learner reads or types a name:
 * after the click, the lab page's terminals then start from memory instead of loading ~86 KiB gzip
 * of JavaScript and a font, which matters most when a whole class joins at once.
 */
export function preloadTerminal(): Promise<unknown> {
  return Promise.all([import("@xterm/xterm"), import("@xterm/addon-fit"), import("@xterm/addon-web-links"), loadTerminalFont(10_000)]);
}

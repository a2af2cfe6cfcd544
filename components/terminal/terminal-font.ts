/**
 * The terminal font, shipped with the app (@fontsource/dejavu-mono: DejaVu Sans
 * Mono, the full font: Latin with umlauts, box drawing, block elements) instead of
 * whatever the learner's system calls "monospace": every learner sees the same
 * glyphs and xterm measures the same cells.
 *
 * Cells: xterm sizes a row from the font's line box; DejaVu's underscore sits at
 * the very bottom of that box (descent 0.236 em), so at 14 px and device pixel
 * ratio 1 a row of exactly 1.0 line box (16 px) clipped it away: `inet_interfaces`
 * read "inet interfaces". A line height of 1.2 gives every glyph (underscore,
 * descenders, umlaut dots, box drawing still joining) about 1.5 px of room above
 * and below. Checked by e2e/terminal-ui.e2e.ts at ratio 1.
 */
import "@fontsource/dejavu-mono/400.css";
import "@fontsource/dejavu-mono/700.css";

export const TERMINAL_FONT = {
  /** The @font-face family of the package (distinct from a locally installed "DejaVu Sans Mono"). */
  family: "'DejaVu Mono', monospace",
  /** While the shipped font is not loaded (it failed or is slow): the system's. */
  fallback: "'DejaVu Sans Mono', monospace",
  size: 14,
  lineHeight: 1.2,
} as const;

/**
 * Loads the regular and bold faces before xterm measures its cells. Resolves
 * `true` when both are there, `false` after `timeoutMs` (the terminal then starts
 * with the fallback and switches when the font arrives).
 */
export async function loadTerminalFont(timeoutMs = 3000): Promise<boolean> {
  if (typeof document === "undefined" || !("fonts" in document)) return false;
  const face = "'DejaVu Mono'";
  const load = Promise.all([
    document.fonts.load(`${TERMINAL_FONT.size}px ${face}`),
    document.fonts.load(`bold ${TERMINAL_FONT.size}px ${face}`),
  ]).then(
    (faces) => faces.every((f) => f.length > 0),
    () => false,
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
  try {
    return await Promise.race([load, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// Slides: one Markdown file per language, slides separated by a line `---`, each starting with a
// heading (`## Title`, the title slide may use `# `), speaker notes after a line `Note:`.
import type { Slide } from "@/lib/lab-schema";

const FENCE_RE = /^\s*(```|~~~)/;

/** Splits at lines that are exactly `---` (outside fenced code blocks). */
function splitSlides(markdown: string): string[] {
  const chunks: string[] = [];
  let current: string[] = [];
  let fence: string | null = null;
  for (const line of markdown.replace(/\r\n?/g, "\n").split("\n")) {
    const m = FENCE_RE.exec(line);
    if (m) fence = fence === null ? m[1]! : fence === m[1] ? null : fence;
    if (fence === null && line.trim() === "---") {
      chunks.push(current.join("\n"));
      current = [];
    } else {
      current.push(line);
    }
  }
  chunks.push(current.join("\n"));
  return chunks;
}

export function parseSlide(chunk: string): Slide {
  // HTML comments (file headers, author remarks) are not shown.
  const text = chunk.replace(/<!--[\s\S]*?-->/g, "");
  const lines = text.split("\n");
  let fence: string | null = null;
  let noteAt = -1;
  for (let i = 0; i < lines.length; i++) {
    const m = FENCE_RE.exec(lines[i]!);
    if (m) fence = fence === null ? m[1]! : fence === m[1] ? null : fence;
    if (fence === null && /^(Note|Notes):\s*$/.test(lines[i]!.trim())) {
      noteAt = i;
      break;
    }
  }
  const bodyLines = noteAt >= 0 ? lines.slice(0, noteAt) : lines;
  const notes = noteAt >= 0 ? lines.slice(noteAt + 1).join("\n").trim() : "";
  let title = "";
  const headingIndex = bodyLines.findIndex((l) => l.trim() !== "");
  if (headingIndex >= 0) {
    const h = /^#{1,2}\s+(.*?)\s*#*\s*$/.exec(bodyLines[headingIndex]!);
    if (h) {
      title = h[1]!.replace(/^\*\*(.*)\*\*$/, "$1");
      bodyLines.splice(headingIndex, 1);
    }
  }
  return { title, body: bodyLines.join("\n").trim(), notes };
}

/** Parses a slides file; empty chunks (e.g. a trailing `---`) are dropped. */
export function parseSlides(markdown: string): Slide[] {
  return splitSlides(markdown)
    .filter((chunk) => chunk.replace(/<!--[\s\S]*?-->/g, "").trim() !== "")
    .map(parseSlide);
}

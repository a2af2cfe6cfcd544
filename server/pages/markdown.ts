import { Marked } from "marked";

/**
 * Markdown → HTML on the server, so the browser gets no Markdown parser. Content comes from
 * labs/ (trusted, reviewed like code); raw HTML in it is escaped anyway, and links open safely.
 */
const marked = new Marked({
  gfm: true,
  breaks: false,
  renderer: {
    html({ text }) {
      return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
    },
    link({ href, text }) {
      const safe = /^(https?:|mailto:|\/|#)/i.test(href) ? href : "#";
      const external = /^https?:/i.test(safe);
      return `<a href="${safe.replace(/"/g, "&quot;")}"${external ? ' target="_blank" rel="noreferrer noopener"' : ""}>${text}</a>`;
    },
  },
});

/** A table header row of empty cells (`| | |`, Markdown tables must have one): no row at all on the page. */
const EMPTY_THEAD = /<thead>\s*<tr>\s*(?:<th[^>]*>\s*<\/th>\s*)+<\/tr>\s*<\/thead>\s*/g;

export function renderMarkdown(source: string): string {
  return marked.parse(source, { async: false }).replace(EMPTY_THEAD, "");
}


import { Fragment, type ReactNode } from "react";

/**
 * The Markdown a one-line hint or check message uses: `code`, **bold** and *emphasis*, rendered as
 * React elements (no HTML strings, so nothing in a message can inject markup). Hints arrive in the
 * API's JSON at run time, so they cannot be pre-rendered with the lab texts (server/pages/markdown.ts).
 * `_` never marks emphasis: Postfix parameter names are full of underscores.
 */
const TOKEN = /(`+)([\s\S]*?[^`])\1(?!`)|\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*/g;

export function InlineMarkdown({ text }: { text: string }): ReactNode {
  const parts: ReactNode[] = [];
  let last = 0;
  for (const m of text.matchAll(TOKEN)) {
    const at = m.index;
    if (at > last) parts.push(text.slice(last, at));
    if (m[2] !== undefined) parts.push(<code key={at}>{m[2].replace(/^ (.*) $/, "$1")}</code>);
    else if (m[3] !== undefined) parts.push(<strong key={at}><InlineMarkdown text={m[3]} /></strong>);
    else if (m[4] !== undefined) parts.push(<em key={at}><InlineMarkdown text={m[4]} /></em>);
    last = at + m[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return <Fragment>{parts}</Fragment>;
}

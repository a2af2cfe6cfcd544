/**
 * Shell integration: the lab machines' bash prints, before every prompt,
 *
 *     ESC ] 7717 ; prompt ; <exit status> BEL        (ST = ESC \ also accepted)
 *
 * {@link PromptMarkFilter} removes these marks from the pty byte stream and
 * reports them, so they never reach the browser, the replay buffer or the
 * recording. It is a small streaming state machine: a mark split across pty
 * reads is still found, and bytes that merely look like the start of one are
 * held back only until the next byte decides (or {@link PromptMarkFilter.drain}).
 */

const ESC = 0x1b;
const BEL = 0x07;
const BACKSLASH = 0x5c;
/** What follows ESC: `]7717;` */
const PREFIX = Buffer.from("]7717;", "latin1");
/** A mark is short (`prompt;255`); anything longer is not ours and passes through unchanged. */
const MAX_MARK = 64;

export interface PromptMark {
  /** The previous command's exit status (`$?`), or -1 when the mark carried none. */
  exitStatus: number;
}

export interface FilterResult {
  /** The input minus complete marks (may be empty). */
  output: Buffer;
  marks: PromptMark[];
}

export class PromptMarkFilter {
  /** Bytes of a possible mark, starting with ESC, held back from the previous chunk. */
  private held: Buffer | null = null;

  /** Feeds the next pty chunk. */
  push(chunk: Buffer): FilterResult {
    const data = this.held ? Buffer.concat([this.held, chunk]) : chunk;
    this.held = null;
    const marks: PromptMark[] = [];
    const parts: Buffer[] = [];
    let copied = 0; // data[copied..i) is plain output not yet put in parts
    let i = data.indexOf(ESC);
    while (i !== -1) {
      const m = this.matchAt(data, i);
      if (m === "partial") {
        parts.push(data.subarray(copied, i));
        this.held = Buffer.from(data.subarray(i)); // copy: do not pin the pty's read buffer
        copied = data.length;
        break;
      }
      if (m !== null) {
        parts.push(data.subarray(copied, i));
        marks.push(m.mark);
        copied = m.end;
        i = data.indexOf(ESC, m.end);
      } else {
        i = data.indexOf(ESC, i + 1);
      }
    }
    if (copied < data.length) parts.push(data.subarray(copied));
    const output = parts.length === 1 && parts[0] ? parts[0] : Buffer.concat(parts);
    return { output, marks };
  }

  /** Whether bytes are held back waiting for the next chunk. */
  get pending(): boolean {
    return this.held !== null;
  }

  /** Gives up on a held partial mark (no more bytes came): returns it as plain output. */
  drain(): Buffer {
    const held = this.held ?? Buffer.alloc(0);
    this.held = null;
    return held;
  }

  /**
   * At `data[i] === ESC`: a complete mark (its end), `null` when these bytes are
   * certainly not a mark, or "partial" when the data ends before that is known.
   */
  private matchAt(data: Buffer, i: number): { mark: PromptMark; end: number } | null | "partial" {
    for (let k = 0; k < PREFIX.length; k++) {
      const at = i + 1 + k;
      if (at >= data.length) return "partial";
      if (data[at] !== PREFIX[k]) return null;
    }
    const bodyStart = i + 1 + PREFIX.length;
    for (let j = bodyStart; j < data.length; j++) {
      if (j - i > MAX_MARK) return null;
      const b = data[j];
      if (b === BEL) return { mark: parseBody(data.subarray(bodyStart, j)), end: j + 1 };
      if (b === ESC) {
        if (j + 1 >= data.length) return "partial";
        if (data[j + 1] === BACKSLASH) return { mark: parseBody(data.subarray(bodyStart, j)), end: j + 2 };
        return null;
      }
    }
    return data.length - i > MAX_MARK ? null : "partial";
  }
}

/** `prompt;<status>` → mark. Unknown kinds still get stripped (they are ours) with status -1. */
function parseBody(body: Buffer): PromptMark {
  const [kind, status] = body.toString("latin1").split(";");
  if (kind === "prompt" && status !== undefined && /^\d{1,3}$/.test(status)) {
    return { exitStatus: Number(status) };
  }
  return { exitStatus: -1 };
}

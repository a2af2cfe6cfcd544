/**
 * The last N bytes of a session's output, addressed by absolute byte sequence
 * numbers (seq 0 = the first byte the shell ever printed). Stored in fixed
 * 16 KiB blocks that are filled by copying, so memory is exactly the blocks
 * held (never pinned pty read buffers) and old blocks are dropped whole.
 */
const BLOCK = 16 * 1024;

export class ReplayBuffer {
  private blocks: Buffer[] = [];
  /** Bytes used in the last block. */
  private tailUsed = 0;
  /** Seq of the first byte of blocks[0]. */
  private firstSeq = 0;
  private total = 0;

  /** @param capacity bytes that are always retained (memory held ≤ capacity + one block). */
  constructor(readonly capacity: number) {
    if (!(capacity >= BLOCK)) throw new Error(`replay capacity must be at least ${BLOCK} bytes`);
  }

  /** Seq of the next byte to be appended = bytes ever appended. */
  get head(): number {
    return this.total;
  }

  /** Oldest seq still available. */
  get start(): number {
    return this.firstSeq;
  }

  /** Bytes of memory held by the buffer. */
  get heldBytes(): number {
    return this.blocks.length * BLOCK;
  }

  append(data: Uint8Array): void {
    let off = 0;
    while (off < data.length) {
      let tail = this.blocks[this.blocks.length - 1];
      if (!tail || this.tailUsed === BLOCK) {
        tail = Buffer.allocUnsafe(BLOCK);
        this.blocks.push(tail);
        this.tailUsed = 0;
      }
      const n = Math.min(BLOCK - this.tailUsed, data.length - off);
      tail.set(data.subarray(off, off + n), this.tailUsed);
      this.tailUsed += n;
      off += n;
    }
    this.total += data.length;
    // Drop whole blocks while what remains still covers `capacity` bytes.
    while (this.blocks.length > 1 && this.total - (this.firstSeq + BLOCK) >= this.capacity) {
      this.blocks.shift();
      this.firstSeq += BLOCK;
    }
  }

  /**
   * Up to `max` bytes starting at `from` (start ≤ from ≤ head). The result may
   * share memory with the buffer; those bytes are never overwritten.
   */
  read(from: number, max: number): Buffer {
    if (from < this.firstSeq || from > this.total) {
      throw new RangeError(`seq ${from} outside [${this.firstSeq}, ${this.total}]`);
    }
    const end = Math.min(this.total, from + Math.max(0, max));
    if (end <= from) return Buffer.alloc(0);
    const parts: Buffer[] = [];
    let pos = from;
    while (pos < end) {
      const rel = pos - this.firstSeq;
      const bi = Math.floor(rel / BLOCK);
      const block = this.blocks[bi];
      if (!block) break;
      const inBlock = rel - bi * BLOCK;
      const n = Math.min(BLOCK - inBlock, end - pos);
      parts.push(block.subarray(inBlock, inBlock + n));
      pos += n;
    }
    return parts.length === 1 && parts[0] ? parts[0] : Buffer.concat(parts);
  }
}

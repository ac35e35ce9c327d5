// A builder's output as Nix turns it into log lines, for display (the
// live log, the "last N log lines" of a failure). The log file itself keeps
// the bytes as written.
//
// Lines: a carriage return moves back to the start of the line, so what
// follows overwrites it (progress bars), and the line ends at that cursor;
// "\r\n" ends a line like "\n". Display is filterAnsiEscapes's
// (src/ansi-escapes.ts), as for every message Nix prints.

import { decodeBytes } from '../byte-strings.js';

/** Splits a builder's output into lines as Nix's build log does. */
export class LogLines {
  private buf = Buffer.alloc(256);
  /** How far the line has been written (a carriage return leaves text beyond the cursor). */
  private len = 0;
  private pos = 0;
  private pendingCR = false;

  /** The lines that `chunk` completes. */
  push(chunk: Uint8Array): string[] {
    const lines: string[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (this.pendingCR) {
        this.pendingCR = false;
        if (c !== 0x0a) this.pos = 0;
      }
      if (c === 0x0d) this.pendingCR = true;
      else if (c === 0x0a) lines.push(this.take());
      else {
        if (this.pos === this.buf.length) {
          const bigger = Buffer.alloc(this.buf.length * 2);
          this.buf.copy(bigger);
          this.buf = bigger;
        }
        this.buf[this.pos++] = c;
        if (this.pos > this.len) this.len = this.pos;
      }
    }
    return lines;
  }

  /** The unterminated last line, if anything was written to it. */
  flush(): string[] {
    return this.len > 0 ? [this.take()] : [];
  }

  private take(): string {
    // Bytes that are not UTF-8 stay bytes (printed as Nix prints them), not U+FFFD.
    const s = decodeBytes(this.buf.subarray(0, this.pos));
    this.len = 0;
    this.pos = 0;
    return s;
  }
}

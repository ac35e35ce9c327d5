// A builder's output as Nix turns it into log lines, for display (the
// live log, the "last N log lines" of a failure). The log file itself keeps
// the bytes as written.
//
// Lines: a carriage return moves back to the start of the line, so what
// follows overwrites it (progress bars), and the line ends at that cursor;
// "\r\n" ends a line like "\n". Display: terminal escape sequences are
// removed (colours are kept on a terminal), tabs become spaces up to the
// next multiple of eight, carriage returns and bells are dropped.

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
    const s = this.buf.toString('utf8', 0, this.pos);
    this.len = 0;
    this.pos = 0;
    return s;
  }
}

/**
 * A log line as Nix prints it: escape sequences (CSI, OSC and two-byte
 * ones) removed, except colours when `keepColours` (on a terminal); tabs
 * expanded to the next multiple of eight columns (a character counts as
 * one column); carriage returns and bells dropped.
 */
export function filterAnsiEscapes(s: string, keepColours: boolean): string {
  if (!/[\x1b\t\r\x07]/.test(s)) return s;
  let t = '';
  let w = 0;
  let i = 0;
  const at = (k: number) => s.charCodeAt(k);
  while (i < s.length) {
    const c = at(i);
    if (c === 0x1b) {
      const start = i++;
      let last = 0;
      if (i < s.length && at(i) === 0x5b /* [ */) {
        i++;
        while (i < s.length && at(i) >= 0x30 && at(i) <= 0x3f) i++; // parameters
        while (i < s.length && at(i) >= 0x20 && at(i) <= 0x2f) i++; // intermediates
        if (i < s.length && at(i) >= 0x40 && at(i) <= 0x7e) last = at(i++); // final
      } else if (i < s.length && at(i) === 0x5d /* ] */) {
        // An operating system command, ended by BEL or ESC \.
        i++;
        while (i < s.length && at(i) !== 0x1b && at(i) !== 0x07) i++;
        if (i < s.length) {
          const end = at(i++);
          if (i < s.length && end === 0x1b && at(i) === 0x5c) last = at(i++);
        }
      } else if (i < s.length && at(i) >= 0x40 && at(i) <= 0x5f) i++;
      if (keepColours && last === 0x6d /* m */) t += s.slice(start, i);
    } else if (c === 0x09) {
      do {
        t += ' ';
        w++;
      } while (w % 8 !== 0);
      i++;
    } else if (c === 0x0d || c === 0x07) {
      i++;
    } else {
      const n = c >= 0xd800 && c <= 0xdbff && i + 1 < s.length ? 2 : 1;
      t += s.slice(i, i + n);
      i += n;
      w++;
    }
  }
  return t;
}

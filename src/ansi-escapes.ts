// What Nix does to every message it writes to the terminal or a log
// (its filterANSIEscapes): builder output, traces, warnings and errors,
// which can hold escape sequences from the strings being shown.

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

/** filterAnsiEscapes for text written to stderr: colours kept only when it is a terminal. */
export function forStderr(s: string): string {
  return filterAnsiEscapes(s, process.stderr.isTTY === true);
}

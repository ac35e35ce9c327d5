// A builder's output cut into log lines and cleaned for display as current
// Nix does (its BuildLog and filterANSIEscapes).
import { describe, expect, it } from 'vitest';
import { LogLines } from '../../src/build/log-lines.js';
import { filterAnsiEscapes } from '../../src/ansi-escapes.js';
import { lastLogLines } from '../../src/build/build-log.js';
import { encodeBytes } from '../../src/byte-strings.js';

function lines(...chunks: string[]): string[] {
  const s = new LogLines();
  const out = chunks.flatMap((c) => s.push(Buffer.from(c)));
  return [...out, ...s.flush()];
}

describe('log lines', () => {
  it('ends lines at \\n and \\r\\n, even when a chunk ends between them', () => {
    expect(lines('a\nb\r\nc')).toEqual(['a', 'b', 'c']);
    expect(lines('a\r', '\nb')).toEqual(['a', 'b']);
    expect(lines('', '\n\n')).toEqual(['', '']);
  });

  it('lets a carriage return overwrite the line, which ends at the cursor', () => {
    expect(lines('abc\rX\n')).toEqual(['X']);
    expect(lines('10%\r50%\r100%\n')).toEqual(['100%']);
    expect(lines('last\r', 'Z')).toEqual(['Z']);
    expect(lines('abc\r')).toEqual(['abc']);
  });

  it('keeps bytes that are not UTF-8 as bytes', () => {
    const [line] = new LogLines().push(Buffer.from([0x61, 0xff, 0xc3, 0x0a]));
    expect(encodeBytes(line!)).toEqual(Buffer.from([0x61, 0xff, 0xc3]));
  });

  it('keeps multi-byte characters split across chunks', () => {
    const e = Buffer.from('é\n');
    const s = new LogLines();
    expect([...s.push(e.subarray(0, 1)), ...s.push(e.subarray(1))]).toEqual(['é']);
  });
});

describe('filterAnsiEscapes', () => {
  it('removes escape sequences, keeping colours only on a terminal', () => {
    const red = '\x1b[31mred\x1b[0m';
    expect(filterAnsiEscapes(red, false)).toBe('red');
    expect(filterAnsiEscapes(red, true)).toBe(red);
    // A two-byte sequence takes only a byte in 0x40–0x5f after ESC: `ESC (` leaves "(B", as in Nix.
    expect(filterAnsiEscapes('a\x1b[2Kb\x1b]8;;http://x\x07link\x1b]8;;\x1b\\c\x1bMd\x1b(B', true)).toBe('ablinkcd(B');
  });

  it('expands tabs to the next multiple of eight and drops \\r and bells', () => {
    expect(filterAnsiEscapes('\ttab', false)).toBe('        tab');
    expect(filterAnsiEscapes('ab\tc\x07\r', false)).toBe('ab      c');
  });
});

describe('the last log lines of a failure', () => {
  it('are the lines as Nix makes them, cleaned', () => {
    expect(lastLogLines(Buffer.from('abc\rX\nfoo\r\nlast\rZ'), 3)).toEqual(['X', 'foo', 'Z']);
    expect(lastLogLines(Buffer.from('\x1b[31mred\x1b[0m\n\ttab\n'), 1)).toEqual(['        tab']);
  });
});

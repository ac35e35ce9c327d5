// Nix strings are byte strings; ours are JavaScript strings. Text that is
// valid UTF-8 (nearly all of it) is held as its characters. A byte that is
// not part of valid UTF-8 (binary data read with builtins.readFile, a
// source file with a stray byte, half of a character cut by substring) is
// held as the lone low surrogate U+DC00 + byte (U+DC80–U+DCFF), which no
// valid UTF-8 decodes to, and turned back into that byte wherever a string
// becomes bytes again: hashing, length and substring, output, files. So
// such strings hash, measure and print as Nix's do.
//
// Such strings are rare, so the first decoding that makes one sets a flag,
// and until then every conversion takes the plain path.

import { isUtf8 } from 'node:buffer';

/**
 * Set once a decoding has produced a raw byte: until then no string holds
 * one (hot concatenation sites test it before calling concatBytes).
 */
export let rawBytesSeen = false;

const FIRST_RAW = 0xdc80;
const LAST_RAW = 0xdcff;
const RAW_BYTE = /[\uDC80-\uDCFF]/;

/**
 * False when `s` holds no raw byte; true when it may (the second half of a
 * character above U+FFFF looks like one to this quick test), leaving the
 * routines below to look exactly.
 */
export function hasRawBytes(s: string): boolean {
  return rawBytesSeen && RAW_BYTE.test(s);
}

/** A string for bytes: their UTF-8 text, invalid bytes held as U+DC80–U+DCFF. */
export function decodeBytes(bytes: Uint8Array): string {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (isUtf8(b)) return b.toString('utf8');
  rawBytesSeen = true;
  // Decoded by hand into UTF-16 code units (binary data alternates valid
  // and invalid bytes too often for a native call per run), then made a
  // string in one call.
  const units = new Uint16Array(b.length * 2);
  let n = 0;
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    const len = sequenceLength(b, i);
    if (len === 0) units[n++] = 0xdc00 + c;
    else if (len === 1) units[n++] = c;
    else if (len === 2) units[n++] = ((c & 0x1f) << 6) | (b[i + 1]! & 0x3f);
    else if (len === 3) units[n++] = ((c & 0x0f) << 12) | ((b[i + 1]! & 0x3f) << 6) | (b[i + 2]! & 0x3f);
    else {
      const cp = (((c & 0x07) << 18) | ((b[i + 1]! & 0x3f) << 12) | ((b[i + 2]! & 0x3f) << 6) | (b[i + 3]! & 0x3f)) - 0x10000;
      units[n++] = 0xd800 + (cp >> 10);
      units[n++] = 0xdc00 + (cp & 0x3ff);
    }
    i += len === 0 ? 1 : len;
  }
  return Buffer.from(units.buffer, 0, n * 2).toString('utf16le');
}

/**
 * For a byte ≥ 0x80 that starts a character: how many continuation bytes
 * it needs and the range of the first of them (the rest are 0x80–0xBF),
 * packed as need | lo << 8 | hi << 16; -1 for a byte that cannot start one
 * (the ranges of RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF).
 */
export function utf8Lead(c: number): number {
  if (c >= 0xc2 && c <= 0xdf) return 1 | (0x80 << 8) | (0xbf << 16);
  if (c === 0xe0) return 2 | (0xa0 << 8) | (0xbf << 16);
  if (c === 0xed) return 2 | (0x80 << 8) | (0x9f << 16);
  if (c >= 0xe1 && c <= 0xef) return 2 | (0x80 << 8) | (0xbf << 16);
  if (c === 0xf0) return 3 | (0x90 << 8) | (0xbf << 16);
  if (c === 0xf4) return 3 | (0x80 << 8) | (0x8f << 16);
  if (c >= 0xf1 && c <= 0xf3) return 3 | (0x80 << 8) | (0xbf << 16);
  return -1;
}

/**
 * Whether `d`, the `k`-th continuation byte (from 1) of a character whose
 * lead is `lead` (utf8Lead), is in range.
 */
export function utf8Continues(lead: number, k: number, d: number): boolean {
  return k === 1 ? d >= ((lead >> 8) & 0xff) && d <= ((lead >> 16) & 0xff) : d >= 0x80 && d <= 0xbf;
}

/** The length of the valid UTF-8 sequence at `i` (1–4), or 0 when the byte there does not start one. */
function sequenceLength(b: Uint8Array, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  const lead = utf8Lead(c);
  if (lead < 0) return 0;
  const need = lead & 0xff;
  for (let k = 1; k <= need; k++) if (i + k >= b.length || !utf8Continues(lead, k, b[i + k]!)) return 0;
  return need + 1;
}

/**
 * `a + b`, where raw bytes meeting at the join that together form valid
 * UTF-8 (a character cut by substring, joined again) become that
 * character: so the result equals, and is the same attribute name as, the
 * text it spells, as Nix's byte strings are. Only both sides' raw bytes at
 * the join can form one (a character is at most four bytes), and until some
 * string holds a raw byte this is plain concatenation.
 */
export function concatBytes(a: string, b: string): string {
  if (!rawBytesSeen || !isRawAt(a, a.length - 1) || !isRawAt(b, 0)) return a + b;
  let i = a.length - 1;
  while (i > 0 && a.length - i < 3 && isRawAt(a, i - 1)) i--;
  let j = 1;
  while (j < b.length && j < 3 && isRawAt(b, j)) j++;
  return a.slice(0, i) + decodeBytes(encodeBytes(a.slice(i) + b.slice(0, j))) + b.slice(j);
}

/** `xs.join(sep)` as concatBytes joins. */
export function joinBytes(xs: readonly string[], sep: string): string {
  if (!rawBytesSeen) return xs.join(sep);
  let out = '';
  for (let i = 0; i < xs.length; i++) out = concatBytes(i === 0 ? out : concatBytes(out, sep), xs[i]!);
  return out;
}

/** Where the first raw byte of `s` is (an index into the string), or -1. */
export function firstRawByteIndex(s: string): number {
  if (!hasRawBytes(s)) return -1;
  for (let i = 0; i < s.length; i++) if (isRawAt(s, i)) return i;
  return -1;
}

/** True when the character at `i` is a raw byte (not the second half of a surrogate pair). */
function isRawAt(s: string, i: number): boolean {
  if (i < 0 || i >= s.length) return false;
  const c = s.charCodeAt(i);
  return c >= FIRST_RAW && c <= LAST_RAW && !(i > 0 && isHighSurrogate(s.charCodeAt(i - 1)));
}

/**
 * A path for node's file-system calls: the string itself, or its bytes when
 * it holds raw bytes (node would encode those as U+FFFD and name another
 * file), as for a name builtins.readDir returned.
 */
export function fsPath(p: string): string | Buffer {
  return hasRawBytes(p) ? encodeBytes(p) : p;
}

/** The bytes a string stands for (its UTF-8 encoding, raw bytes as themselves). */
export function encodeBytes(s: string): Buffer {
  if (!hasRawBytes(s)) return Buffer.from(s, 'utf8');
  // Encoded by hand, into one buffer (see decodeBytes).
  const out = Buffer.allocUnsafe(s.length * 3);
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) out[n++] = c;
    else if (c < 0x800) {
      out[n++] = 0xc0 | (c >> 6);
      out[n++] = 0x80 | (c & 0x3f);
    } else if (isHighSurrogate(c) && i + 1 < s.length && isLowSurrogate(s.charCodeAt(i + 1))) {
      const cp = 0x10000 + ((c - 0xd800) << 10) + (s.charCodeAt(++i) - 0xdc00);
      out[n++] = 0xf0 | (cp >> 18);
      out[n++] = 0x80 | ((cp >> 12) & 0x3f);
      out[n++] = 0x80 | ((cp >> 6) & 0x3f);
      out[n++] = 0x80 | (cp & 0x3f);
    } else if (c >= FIRST_RAW && c <= LAST_RAW) out[n++] = c - 0xdc00;
    else {
      // Any other lone surrogate becomes U+FFFD, as node encodes it.
      const u = c >= 0xd800 && c <= 0xdfff ? 0xfffd : c;
      out[n++] = 0xe0 | (u >> 12);
      out[n++] = 0x80 | ((u >> 6) & 0x3f);
      out[n++] = 0x80 | (u & 0x3f);
    }
  }
  return out.subarray(0, n);
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

/** The number of bytes a string stands for (Nix's string length). */
export function byteCount(s: string): number {
  const n = Buffer.byteLength(s, 'utf8');
  // Each raw byte counts 3 there (the replacement character node encodes it as).
  return hasRawBytes(s) ? n - 2 * rawByteCount(s) : n;
}

function rawByteCount(s: string): number {
  let k = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= FIRST_RAW && c <= LAST_RAW && !(i > 0 && isHighSurrogate(s.charCodeAt(i - 1)))) k++;
  }
  return k;
}

/**
 * Where the bytes `s` stands for stop being valid UTF-8, read left to right
 * as a strict decoder does: the first byte that cannot start or continue a
 * sequence, or a sequence cut off by the end.
 */
export function utf8Error(s: string): { kind: 'invalid'; index: number; byte: number } | { kind: 'incomplete'; last: number } | undefined {
  if (!hasRawBytes(s)) return undefined;
  const b = encodeBytes(s);
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    const lead = utf8Lead(c);
    if (lead < 0) return { kind: 'invalid', index: i, byte: c };
    const need = lead & 0xff;
    for (let k = 1; k <= need; k++) {
      if (i + k >= b.length) return { kind: 'incomplete', last: b[b.length - 1]! };
      const d = b[i + k]!;
      if (!utf8Continues(lead, k, d)) return { kind: 'invalid', index: i + k, byte: d };
    }
    i += need + 1;
  }
  return undefined;
}

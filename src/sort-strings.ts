// Sorting strings as Nix does (by the bytes of their UTF-8 encodings), and
// the short string arrays evaluation sorts constantly (the names of a small
// attribute set, a derivation's outputs, inputs and sources) without the
// work space Array.prototype.sort allocates on every call, which for arrays
// of a handful of strings costs more than the sorting: an insertion sort
// here allocates nothing. Longer arrays go to the built-in sort.

import { encodeBytes, hasRawBytes } from './byte-strings.js';

const SMALL = 16;

/**
 * Sorts `xs` in place by UTF-16 code units (JS's `<`) and returns it. This
 * is byte order of the UTF-8 encodings unless a string holds a surrogate;
 * callers that must honour byte order check for those first.
 */
export function sortStringsInPlace(xs: string[]): string[] {
  const n = xs.length;
  if (n > SMALL) return xs.sort();
  for (let i = 1; i < n; i++) {
    const x = xs[i]!;
    let j = i - 1;
    while (j >= 0 && xs[j]! > x) {
      xs[j + 1] = xs[j]!;
      j--;
    }
    xs[j + 1] = x;
  }
  return xs;
}

/**
 * Byte order of the UTF-8 encodings, which is code point order; JS's default
 * sort compares UTF-16 units and differs for characters above U+FFFF.
 */
export function compareBytewise(a: string, b: string): number {
  // Raw bytes (byte-strings.ts) are compared as the bytes they are.
  if (hasRawBytes(a) || hasRawBytes(b)) return Buffer.compare(encodeBytes(a), encodeBytes(b));
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      if (x < 0x80 && y < 0x80) return x - y;
      return (a.codePointAt(i)! - b.codePointAt(i)!) || (x - y);
    }
  }
  return a.length - b.length;
}

/** Surrogates: the only code units where UTF-16 order differs from byte order. */
const SURROGATE = /[\uD800-\uDFFF]/;

/**
 * Sorts `xs` in place by the bytes of the UTF-8 encodings and returns it:
 * as sortStringsInPlace (UTF-16 order, much faster than a comparator) unless
 * a string holds a character above U+FFFF.
 */
export function sortBytewiseInPlace(xs: string[]): string[] {
  for (let i = 0; i < xs.length; i++) if (SURROGATE.test(xs[i]!)) return xs.sort(compareBytewise);
  return sortStringsInPlace(xs);
}

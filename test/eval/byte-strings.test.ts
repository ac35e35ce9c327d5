// Strings that stand for bytes which are not valid UTF-8 (src/byte-strings.ts):
// every byte string survives the round trip, lengths count bytes, cut
// characters join back into the character, and toJSON rejects them with the
// words current Nix uses. What Nix answers for such strings is checked
// against the reference in test/fixtures/eval-libs/byte-strings.nix.
import { describe, expect, it } from 'vitest';
import { byteCount, concatBytes, decodeBytes, encodeBytes, joinBytes, utf8Error } from '../../src/byte-strings.js';
import { compareBytewise } from '../../src/sort-strings.js';
import { evalError, evalNix } from './eval-helpers.js';

/** A deterministic pseudo-random generator (xorshift32), so failures reproduce. */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** Bytes mixing ASCII, valid multi-byte characters and stray bytes. */
function randomBytes(next: () => number, n: number): Buffer {
  const pieces: Buffer[] = [];
  while (pieces.length < n) {
    const r = next();
    if (r < 0.4) pieces.push(Buffer.of(1 + Math.floor(next() * 127)));
    else if (r < 0.7) pieces.push(Buffer.of(0x80 + Math.floor(next() * 128)));
    else pieces.push(Buffer.from(String.fromCodePoint(0x80 + Math.floor(next() * 0x10ff00)).replace(/[\uD800-\uDFFF]/, 'x'), 'utf8'));
  }
  return Buffer.concat(pieces);
}

describe('byte strings', () => {
  it('give back every byte string they were made from', () => {
    const next = random(7);
    for (let k = 0; k < 500; k++) {
      const bytes = randomBytes(next, 1 + Math.floor(next() * 40));
      const s = decodeBytes(bytes);
      expect(encodeBytes(s).equals(bytes)).toBe(true);
      expect(byteCount(s)).toBe(bytes.length);
    }
  });

  it('are plain text when the bytes are valid UTF-8', () => {
    for (const text of ['', 'abc', 'é', '€ and 😀', '\u{10080}\u{10FFFF}']) {
      expect(decodeBytes(Buffer.from(text, 'utf8'))).toBe(text);
    }
  });

  it('join the pieces of a cut character back into it', () => {
    for (const text of ['é', '😀', 'a€b', 'x\u{10080}y', '日本語']) {
      const bytes = Buffer.from(text, 'utf8');
      for (let cut = 0; cut <= bytes.length; cut++) {
        expect(concatBytes(decodeBytes(bytes.subarray(0, cut)), decodeBytes(bytes.subarray(cut)))).toBe(text);
      }
      const single = [...bytes].map((b) => decodeBytes(Buffer.of(b)));
      expect(joinBytes(single, '')).toBe(text);
      // A stray byte next to a character stays a byte.
      const stray = decodeBytes(Buffer.of(0xff));
      expect(encodeBytes(concatBytes(stray, text)).equals(Buffer.concat([Buffer.of(0xff), bytes]))).toBe(true);
    }
  });

  it('sort by their bytes', () => {
    const cutE = decodeBytes(Buffer.of(0xc3));
    const strayFF = decodeBytes(Buffer.of(0xff));
    const sorted = ['z', strayFF, '😀', cutE, 'é'].sort(compareBytewise).map((s) => encodeBytes(s).toString('hex'));
    expect(sorted).toEqual(['7a', 'c3', 'c3a9', 'f09f9880', 'ff']);
  });

  it('say where UTF-8 stops being valid, as a strict decoder reads it', () => {
    const at = (...b: number[]) => utf8Error(decodeBytes(Buffer.from(b)));
    expect(at(0x61, 0xff)).toEqual({ kind: 'invalid', index: 1, byte: 0xff });
    expect(at(0xc3, 0x61)).toEqual({ kind: 'invalid', index: 1, byte: 0x61 });
    expect(at(0x61, 0xc3)).toEqual({ kind: 'incomplete', last: 0xc3 });
    expect(at(0xe0, 0x80, 0x80)).toEqual({ kind: 'invalid', index: 1, byte: 0x80 });
    expect(at(0xed, 0xa0, 0x80)).toEqual({ kind: 'invalid', index: 1, byte: 0xa0 });
    expect(at(0xf4, 0x90, 0x80, 0x80)).toEqual({ kind: 'invalid', index: 1, byte: 0x90 });
    expect(utf8Error('plain é 😀')).toBeUndefined();
  });

  it('make toJSON fail as current Nix does', () => {
    expect(evalError('builtins.toJSON { a = [ (builtins.substring 0 1 "é") ]; }')).toBe(
      'JSON serialization error: [json.exception.type_error.316] incomplete UTF-8 string; last byte: 0xC3',
    );
    expect(evalNix('builtins.toJSON (builtins.substring 0 1 "é" + builtins.substring 1 1 "é")')).toBe('"\\"é\\""');
  });
});

import { describe, expect, it } from 'vitest';
import { decodeBase32, encodeBase32 } from '../../src/store/base32.js';
import {
  compressHash,
  hashString,
  parseHashAny,
  parseHashAnyPrefixed,
  parseHashAllowEmpty,
  parseHashSRI,
  printHash,
  type Hash,
} from '../../src/store/hash.js';

const helloSha256 = '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824';

describe('nix base-32', () => {
  it('encodes sha256("hello") as nix-hash --base32 does', () => {
    expect(encodeBase32(hashString('sha256', 'hello').bytes)).toBe('094qif9n4cq4fdg459qzbhg1c6wywawwaaivx0k0x8xhbyx4vwic');
  });
  it('round-trips arbitrary byte lengths', () => {
    for (let len = 1; len <= 64; len++) {
      const bytes = Uint8Array.from({ length: len }, (_, i) => (i * 37 + len) & 0xff);
      expect(decodeBase32(encodeBase32(bytes), len)).toEqual(bytes);
    }
  });
  it('puts the lowest bits last', () => {
    const b = new Uint8Array(20);
    b[0] = 1;
    expect(encodeBase32(b)).toBe('0000000000000000000000000000000' + '1');
  });
  it('rejects characters outside the alphabet and overflowing high bits', () => {
    expect(decodeBase32('e'.repeat(32), 20)).toBeUndefined();
    // 32 chars carry 160 bits exactly for 20 bytes, but for sha256 (52 chars, 260 bits) the top 4 bits must be 0
    expect(decodeBase32('z' + '0'.repeat(51), 32)).toBeUndefined();
    expect(decodeBase32('1' + '0'.repeat(51), 32)).toBeDefined();
  });
});

describe('hash parsing and printing', () => {
  const h: Hash = hashString('sha256', 'hello');
  it('prints every encoding', () => {
    expect(printHash(h, 'base16')).toBe(helloSha256);
    expect(printHash(h, 'base16', true)).toBe(`sha256:${helloSha256}`);
    expect(printHash(h, 'base64')).toBe('LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=');
    expect(printHash(h, 'sri')).toBe('sha256-LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=');
  });
  it('parses every encoding back, picking it by length', () => {
    for (const enc of ['base16', 'base32', 'base64'] as const) {
      expect(parseHashAny(printHash(h, enc), 'sha256')).toEqual(h);
      expect(parseHashAny(printHash(h, enc, true))).toEqual(h);
      expect(parseHashAnyPrefixed(printHash(h, enc, true))).toEqual(h);
    }
    expect(parseHashAny(printHash(h, 'sri'))).toEqual(h);
    expect(parseHashSRI(printHash(h, 'sri'))).toEqual(h);
    expect(parseHashAny(helloSha256.toUpperCase(), 'sha256')).toEqual(h);
  });
  it('gives Nix error messages', () => {
    expect(() => parseHashAny(helloSha256)).toThrow(
      `hash '${helloSha256}' does not include a type, nor is the type otherwise known from context`,
    );
    expect(() => parseHashAny(`sha1:${helloSha256}`, 'sha256')).toThrow(`hash 'sha1:${helloSha256}' should have type 'sha256'`);
    expect(() => parseHashAny('sha256:abc')).toThrow("hash 'abc' has wrong length for hash type 'sha256'");
    expect(() => parseHashAny('foo:abc')).toThrow("unknown hash algorithm 'foo'");
    expect(() => parseHashAny('sha256:' + 'g'.repeat(64))).toThrow(`invalid base-16 hash '${'g'.repeat(64)}'`);
    expect(() => parseHashAny('sha256:' + 'e'.repeat(52))).toThrow(`invalid base-32 hash '${'e'.repeat(52)}'`);
    expect(() => parseHashAny('sha256-AAAA')).toThrow("invalid SRI hash 'AAAA'");
    expect(() => parseHashAnyPrefixed(helloSha256)).toThrow(`hash '${helloSha256}' does not include a type`);
    expect(() => parseHashSRI('abc')).toThrow("hash 'abc' is not SRI");
  });
  it('treats an empty hash as all zeros with a warning', () => {
    const r = parseHashAllowEmpty('', 'sha256');
    expect(printHash(r.hash, 'base16')).toBe('0'.repeat(64));
    expect(r.warning).toBe("found empty hash, assuming 'sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='");
  });
  it('compresses by XOR folding', () => {
    const c = compressHash({ algo: 'sha256', bytes: Uint8Array.from({ length: 32 }, (_, i) => i) }, 20);
    expect(Array.from(c.bytes.slice(0, 3))).toEqual([0 ^ 20, 1 ^ 21, 2 ^ 22]);
    expect(c.bytes[19]).toBe(19);
  });
});

// Hashes as Nix has them: an algorithm plus raw bytes, parsed from and printed
// to base-16, Nix base-32, base-64 and SRI, with Nix's exact acceptance rules
// (the encoding is chosen by the string's length) and error messages.

import type * as NodeCrypto from 'node:crypto';
import type { Hash as NodeHash } from 'node:crypto';
import { closeSync, readSync } from 'node:fs';
import { openForReading } from '../byte-fs.js';
import { NixError, UsageError } from '../eval/errors.js';
import type { HashAlgo } from './store-api.js';
import { base32Length, decodeBase32, encodeBase32 } from './base32.js';
import { encodeBytes, hasRawBytes } from '../byte-strings.js';

export type { HashAlgo };

export interface Hash {
  readonly algo: HashAlgo;
  readonly bytes: Uint8Array;
}

export type HashEncoding = 'base16' | 'base32' | 'base64' | 'sri';

/** A malformed hash string (Nix's BadHash). */
export class BadHashError extends NixError {}

export const HASH_ALGOS: readonly HashAlgo[] = ['md5', 'sha1', 'sha256', 'sha512'];

const SIZES: Record<HashAlgo, number> = { md5: 16, sha1: 20, sha256: 32, sha512: 64 };

export function hashSize(algo: HashAlgo): number {
  return SIZES[algo];
}
export function base16Len(algo: HashAlgo): number {
  return SIZES[algo] * 2;
}
export function base32Len(algo: HashAlgo): number {
  return base32Length(SIZES[algo]);
}
export function base64Len(algo: HashAlgo): number {
  return Math.ceil(SIZES[algo] / 3) * 4;
}

export function parseHashAlgoOpt(s: string): HashAlgo | undefined {
  return (HASH_ALGOS as readonly string[]).includes(s) ? (s as HashAlgo) : undefined;
}

export function parseHashAlgo(s: string): HashAlgo {
  const algo = parseHashAlgoOpt(s);
  if (!algo) throw new UsageError(`unknown hash algorithm '${s}'`);
  return algo;
}

/** The all-zero hash of an algorithm (what Nix assumes for an empty hash string). */
export function zeroHash(algo: HashAlgo): Hash {
  return { algo, bytes: new Uint8Array(SIZES[algo]) };
}

// ---------------------------------------------------------------------------
// Printing

export function toBase16(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/**
 * Prints a hash. With includeType the algorithm is prefixed as `algo:`; SRI
 * always carries it as `algo-`.
 */
export function printHash(hash: Hash, encoding: HashEncoding, includeType = false): string {
  let prefix = '';
  if (encoding === 'sri') prefix = `${hash.algo}-`;
  else if (includeType) prefix = `${hash.algo}:`;
  switch (encoding) {
    case 'base16':
      return prefix + toBase16(hash.bytes);
    case 'base32':
      return prefix + encodeBase32(hash.bytes);
    case 'base64':
    case 'sri':
      return prefix + toBase64(hash.bytes);
  }
}

/** md5 is shown in base-16 and everything else in base-32, as Nix does in listings. */
export function printHash16or32(hash: Hash): string {
  return printHash(hash, hash.algo === 'md5' ? 'base16' : 'base32');
}

export function hashEquals(a: Hash, b: Hash): boolean {
  return a.algo === b.algo && Buffer.compare(a.bytes, b.bytes) === 0;
}

// ---------------------------------------------------------------------------
// Parsing

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * Nix's lenient base-64 decoder: stops at the first '=', skips newlines, and
 * rejects any other character outside the alphabet.
 */
export function decodeBase64Lenient(s: string): Uint8Array {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const ch of s) {
    if (ch === '=') break;
    if (ch === '\n') continue;
    const digit = BASE64_ALPHABET.indexOf(ch);
    if (digit < 0) throw new NixError(`invalid character in Base64 string: '${ch}'`);
    acc = ((acc << 6) | digit) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 0xff);
    }
  }
  return Uint8Array.from(out);
}

function parseHexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** Parses the hash body for a known algorithm; the encoding is chosen by length. */
function parseHashBody(rest: string, algo: HashAlgo, isSRI: boolean): Hash {
  const size = SIZES[algo];
  if (!isSRI && rest.length === base16Len(algo)) {
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i++) {
      const hi = parseHexDigit(rest.charCodeAt(2 * i));
      const lo = parseHexDigit(rest.charCodeAt(2 * i + 1));
      if (hi < 0 || lo < 0) throw new BadHashError(`invalid base-16 hash '${rest}'`);
      bytes[i] = (hi << 4) | lo;
    }
    return { algo, bytes };
  }
  if (!isSRI && rest.length === base32Len(algo)) {
    const bytes = decodeBase32(rest, size);
    if (!bytes) throw new BadHashError(`invalid base-32 hash '${rest}'`);
    return { algo, bytes };
  }
  if (isSRI || rest.length === base64Len(algo)) {
    const bytes = decodeBase64Lenient(rest);
    if (bytes.length !== size) throw new BadHashError(`invalid ${isSRI ? 'SRI' : 'base-64'} hash '${rest}'`);
    return { algo, bytes };
  }
  throw new BadHashError(`hash '${rest}' has wrong length for hash type '${algo}'`);
}

/** Splits off `algo:` or, failing that, `algo-` (SRI). */
function splitTypePrefix(s: string): { algo?: HashAlgo; isSRI: boolean; rest: string } {
  let sep = s.indexOf(':');
  let isSRI = false;
  if (sep < 0) {
    sep = s.indexOf('-');
    if (sep >= 0) isSRI = true;
  }
  if (sep < 0) return { isSRI: false, rest: s };
  return { algo: parseHashAlgo(s.slice(0, sep)), isSRI, rest: s.slice(sep + 1) };
}

/** The algorithm a hash string names (`algo:…` or SRI), if it names one. */
export function hashTypePrefix(s: string): HashAlgo | undefined {
  return splitTypePrefix(s).algo;
}

/**
 * Parses `algo:hash`, `algo-base64` (SRI) or a bare hash when `algo` is given.
 * If both the string and the caller name an algorithm they must agree.
 */
export function parseHashAny(s: string, algo?: HashAlgo): Hash {
  const p = splitTypePrefix(s);
  if (!p.algo && !algo)
    throw new BadHashError(`hash '${p.rest}' does not include a type, nor is the type otherwise known from context`);
  if (p.algo && algo && p.algo !== algo) throw new BadHashError(`hash '${s}' should have type '${algo}'`);
  return parseHashBody(p.rest, (p.algo ?? algo)!, p.isSRI);
}

/** Parses a hash that must carry its own type (`algo:hash` or SRI). */
export function parseHashAnyPrefixed(s: string): Hash {
  const p = splitTypePrefix(s);
  if (!p.algo) throw new BadHashError(`hash '${p.rest}' does not include a type`);
  return parseHashBody(p.rest, p.algo, p.isSRI);
}

/** Parses strictly SRI: `algo-base64`. */
export function parseHashSRI(s: string): Hash {
  const sep = s.indexOf('-');
  if (sep < 0) throw new BadHashError(`hash '${s}' is not SRI`);
  return parseHashBody(s.slice(sep + 1), parseHashAlgo(s.slice(0, sep)), true);
}

/** A bare base-16/32/64 hash of a known algorithm (as in .drv files and content addresses). */
export function parseHashNonSRIUnprefixed(s: string, algo: HashAlgo): Hash {
  return parseHashBody(s, algo, false);
}

/**
 * Like parseHashAny but an empty string yields the zero hash, with the warning
 * Nix prints (returned, so the caller decides where it goes).
 */
export function parseHashAllowEmpty(s: string, algo?: HashAlgo): { hash: Hash; warning?: string } {
  if (s === '') {
    if (!algo) throw new BadHashError('empty hash requires explicit hash type');
    const hash = zeroHash(algo);
    return { hash, warning: `found empty hash, assuming '${printHash(hash, 'sri')}'` };
  }
  return { hash: parseHashAny(s, algo) };
}

// ---------------------------------------------------------------------------
// Computing

type Bytes = string | Uint8Array;

/**
 * node:crypto, loaded on first use: it pulls in some fifty internal modules
 * (streams among them), ≈4 ms of every start-up, and evaluations that
 * build no derivation never hash anything.
 */
let nodeCrypto: typeof NodeCrypto | undefined;
function loadCrypto(): typeof NodeCrypto {
  if (nodeCrypto === undefined) {
    nodeCrypto = process.getBuiltinModule('node:crypto');
    oneShot = (nodeCrypto as { hash?: typeof oneShot }).hash;
    oneShotText = oneShot as typeof oneShotText;
  }
  return nodeCrypto;
}

/** Node's incremental hash object (node:crypto's createHash, loaded on first use). */
export function createHash(algo: string): NodeHash {
  return loadCrypto().createHash(algo);
}

/** Node's one-shot hash (20.12+), much cheaper than a Hash object for the many small texts of evaluation. */
let oneShot: ((algo: string, data: Bytes, enc: 'buffer') => Buffer) | undefined;
let oneShotText: ((algo: string, data: Bytes, enc: 'hex' | 'latin1') => string) | undefined;

export function hashBytes(algo: HashAlgo, data: Bytes): Hash {
  if (nodeCrypto === undefined) loadCrypto();
  if (typeof data === 'string' && hasRawBytes(data)) data = encodeBytes(data);
  if (oneShot !== undefined) {
    // A plain Uint8Array view of the result's own (unpooled) memory: no copy.
    const b = oneShot(algo, data, 'buffer');
    return { algo, bytes: new Uint8Array(b.buffer, b.byteOffset, b.length) };
  }
  const h = createHash(algo);
  h.update(data);
  return { algo, bytes: new Uint8Array(h.digest()) };
}

/** Hash of the bytes a string stands for (see byte-strings.ts). */
export const hashString = hashBytes;

/** The sha256 of a string's UTF-8 bytes as text, without a Buffer (several per derivation). */
function sha256Text(data: string, enc: 'hex' | 'latin1'): string {
  if (nodeCrypto === undefined) loadCrypto();
  const bytes = hasRawBytes(data) ? encodeBytes(data) : data;
  return oneShotText !== undefined ? oneShotText('sha256', bytes, enc) : createHash('sha256').update(bytes).digest(enc === 'hex' ? 'hex' : 'binary');
}

/** The base-16 sha256 of a string's UTF-8 bytes. */
export function sha256Hex(data: string): string {
  return sha256Text(data, 'hex');
}

/**
 * The sha256 of a string's UTF-8 bytes as a string of 32 characters, one per
 * digest byte (latin1): what a store path folds. Reading 32 character codes
 * takes about a quarter of the time parsing 64 hex digits does, and node
 * encodes the digest no slower.
 */
export function sha256Latin1(data: string): string {
  return sha256Text(data, 'latin1');
}

/** Incremental hashing that also counts bytes (Nix's HashSink). */
export class HashSink {
  private readonly h: NodeHash;
  size = 0;
  constructor(readonly algo: HashAlgo) {
    this.h = createHash(algo);
  }
  update(data: Uint8Array | string): void {
    this.size += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    this.h.update(data);
  }
  finish(): { hash: Hash; size: number } {
    return { hash: { algo: this.algo, bytes: new Uint8Array(this.h.digest()) }, size: this.size };
  }
}

export const READ_CHUNK_SIZE = 64 * 1024;

/** Hash of a file's bytes, read in chunks so large files are not held in memory. */
export function hashFile(algo: HashAlgo, path: string): Hash {
  const sink = new HashSink(algo);
  const fd = openForReading(path);
  try {
    const buf = Buffer.allocUnsafe(READ_CHUNK_SIZE);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n <= 0) break;
      sink.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return sink.finish().hash;
}

/** Hash of an async byte stream (e.g. stdin). */
export async function hashStream(algo: HashAlgo, stream: AsyncIterable<Uint8Array | string>): Promise<{ hash: Hash; size: number }> {
  const sink = new HashSink(algo);
  for await (const chunk of stream) sink.update(chunk);
  return sink.finish();
}

/** Folds a hash to `newSize` bytes by XOR (store path hashes are sha256 folded to 160 bits). */
export function compressHash(hash: Hash, newSize: number): Hash {
  const bytes = new Uint8Array(newSize);
  for (let i = 0; i < hash.bytes.length; i++) bytes[i % newSize] ^= hash.bytes[i]!;
  return { algo: hash.algo, bytes };
}

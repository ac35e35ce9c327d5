// The `nix-store --export` / `--import` stream: for each path (dependencies
// first) the number 1, the path's NAR, the magic 0x4558494e ("NIXE"), the
// path, its references, its deriver ("" if none) and 0 (no legacy
// signature); then 0. Numbers are 64-bit little-endian; strings are a
// length, the bytes and zero padding to a multiple of 8.

import { NixError } from '../eval/errors.js';
import { HashSink, parseHashAnyPrefixed, printHash, hashEquals } from './hash.js';
import { dumpPath, type SyncSource } from './nar.js';
import type { ValidPathInfo } from './store-api.js';

export const EXPORT_MAGIC = 0x4558494e;

export class ExportFormatError extends NixError {}

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}

function str(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  const pad = (8 - (bytes.length % 8)) % 8;
  return Buffer.concat([u64(bytes.length), bytes, Buffer.alloc(pad)]);
}

/** What exporting needs from a store. */
export interface ExportSource {
  queryPathInfo(path: string): ValidPathInfo | undefined;
  toRealPath(path: string): string;
}

/**
 * Writes the export of `sortedPaths` (already in dependency-first order).
 * Refuses, like Nix, a path whose contents no longer match its hash.
 * `write` gets borrowed chunks (see BorrowedSink): copy what you keep.
 */
export function writeExport(store: ExportSource, sortedPaths: string[], write: (chunk: Buffer) => void): void {
  for (const path of sortedPaths) {
    const info = store.queryPathInfo(path);
    if (!info) throw new ExportFormatError(`path '${path}' is not valid`);
    write(u64(1));
    const sink = new HashSink('sha256');
    dumpPath(store.toRealPath(path), (chunk) => {
      sink.update(chunk);
      write(chunk);
    });
    const expected = parseHashAnyPrefixed(info.narHash);
    const got = sink.finish().hash;
    if (!hashEquals(expected, got) && !expected.bytes.every((b) => b === 0))
      throw new ExportFormatError(
        `hash of path '${path}' has changed from '${printHash(expected, 'base32', true)}' to '${printHash(got, 'base32', true)}'!`);
    const refs = [...info.references].sort();
    write(Buffer.concat([u64(EXPORT_MAGIC), str(path), u64(refs.length), ...refs.map(str), str(info.deriver ?? ''), u64(0)]));
  }
  write(u64(0));
}

function readU64(source: SyncSource): number {
  const n = source.read(8).readBigUInt64LE(0);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new ExportFormatError(`serialised integer ${n} is too large`);
  return Number(n);
}

function readString(source: SyncSource, max = 1 << 20): string {
  const len = readU64(source);
  if (len > max) throw new ExportFormatError('string is too long');
  const s = len === 0 ? '' : source.read(len).toString('utf8');
  const pad = (8 - (len % 8)) % 8;
  if (pad) source.read(pad);
  return s;
}

/** The fields that follow a path's NAR in the stream. */
export interface ExportTrailer {
  path: string;
  references: string[];
  deriver?: string;
}

/**
 * Reads an export stream. For each path, `importOne` must consume exactly
 * the NAR from the source and then call `readTrailer` to get the metadata
 * (it follows the NAR in the stream).
 */
export function readExport(source: SyncSource, importOne: (readTrailer: () => ExportTrailer) => void): void {
  for (;;) {
    const n = readU64(source);
    if (n === 0) break;
    if (n !== 1) throw new ExportFormatError("input doesn't look like something created by 'nix-store --export'");
    importOne(() => {
      const magic = readU64(source);
      if (magic !== EXPORT_MAGIC) throw new ExportFormatError('Nix archive cannot be imported; wrong format');
      const path = readString(source);
      const count = readU64(source);
      const references: string[] = [];
      for (let i = 0; i < count; i++) references.push(readString(source));
      const deriver = readString(source);
      // An optional legacy signature.
      if (readU64(source) === 1) readString(source);
      return { path, references, ...(deriver !== '' ? { deriver } : {}) };
    });
  }
}

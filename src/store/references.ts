// Finding which store paths a tree refers to: look for the 32-character hash
// parts of candidate paths anywhere in its NAR serialisation (file contents,
// symlink targets, names). Hashes may straddle chunk boundaries, so the last
// 32 bytes of each chunk are searched again together with the next one.

import { NIX_BASE32_ALPHABET } from './base32.js';
import { HashSink, type Hash, type HashAlgo } from './hash.js';
import { dumpPath, type PathFilter } from './nar.js';
import { HASH_PART_LEN, storePathHashPart } from './store-path.js';

const isBase32 = new Uint8Array(256);
for (const c of NIX_BASE32_ALPHABET) isBase32[c.charCodeAt(0)] = 1;

/** Streaming scanner for a set of hash parts. */
export class RefScanSink {
  private readonly pending: Set<string>;
  readonly found = new Set<string>();
  private tail: Buffer = Buffer.alloc(0);

  constructor(hashParts: Iterable<string>) {
    this.pending = new Set(hashParts);
  }

  private search(s: Buffer): void {
    let i = 0;
    while (i + HASH_PART_LEN <= s.length && this.pending.size > 0) {
      // Check from the end of the window: a non-base-32 byte lets us skip past it.
      let j = HASH_PART_LEN - 1;
      while (j >= 0 && isBase32[s[i + j]!]) j--;
      if (j >= 0) {
        i += j + 1;
        continue;
      }
      const ref = s.toString('latin1', i, i + HASH_PART_LEN);
      if (this.pending.delete(ref)) this.found.add(ref);
      i++;
    }
  }

  update(data: Uint8Array): void {
    const chunk = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const headLen = Math.min(chunk.length, HASH_PART_LEN);
    this.search(Buffer.concat([this.tail, chunk.subarray(0, headLen)]));
    this.search(chunk);
    const keep = HASH_PART_LEN - headLen;
    const oldTail = keep < this.tail.length ? this.tail.subarray(this.tail.length - keep) : this.tail;
    this.tail = Buffer.concat([oldTail, chunk.subarray(chunk.length - headLen)]);
  }
}

/** Which of the candidate hash parts occur in the bytes. */
export function scanBytesForHashParts(data: Uint8Array, hashParts: Iterable<string>): Set<string> {
  const sink = new RefScanSink(hashParts);
  sink.update(data);
  return sink.found;
}

export interface ScanResult {
  /** The candidate store paths that occur, sorted. */
  references: string[];
  narHash: Hash;
  narSize: number;
}

/**
 * Scans the NAR of `path` for the candidate store paths, hashing the NAR in
 * the same pass (what registering a build output needs).
 */
export function scanForReferences(path: string, candidates: Iterable<string>, algo: HashAlgo = 'sha256', filter?: PathFilter): ScanResult {
  const byHashPart = new Map<string, string>();
  for (const c of candidates) byHashPart.set(storePathHashPart(c), c);
  const scanner = new RefScanSink(byHashPart.keys());
  const hasher = new HashSink(algo);
  // The scanner copies what it keeps (its tail), so borrowed chunks do.
  dumpPath(path, (chunk) => {
    scanner.update(chunk);
    hasher.update(chunk);
  }, filter);
  const { hash, size } = hasher.finish();
  const references = [...scanner.found].map((h) => byHashPart.get(h)!).sort();
  return { references, narHash: hash, narSize: size };
}

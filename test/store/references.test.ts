import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RefScanSink, scanBytesForHashParts, scanForReferences } from '../../src/store/references.js';
import { hashPath } from '../../src/store/nar.js';

const a = '/nix/store/g76zcpqc540lrc8i6g7xy6ip0npn2hnp-a';
const b = '/nix/store/9v1i3w349bxwp3wfj0xphi27i6vhfhi3-basic';
const c = '/nix/store/4k5ziqfxly7p7v5wz0f5dgn89w9n6gnp-basic';
const work = mkdtempSync(join(tmpdir(), 'tsnix-refs-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('reference scanning', () => {
  it('finds hash parts in contents and symlink targets, not others', () => {
    const dir = join(work, 'tree');
    mkdirSync(dir);
    writeFileSync(join(dir, 'script'), `#!${a}/bin/sh\n`);
    symlinkSync(`${b}/lib`, join(dir, 'link'));
    const r = scanForReferences(dir, [a, b, c]);
    expect(r.references).toEqual([b, a].sort());
    const h = hashPath('sha256', dir);
    expect(r.narHash).toEqual(h.hash);
    expect(r.narSize).toBe(h.size);
  });

  it('finds a hash split across chunks at every position', () => {
    const hashPart = a.slice(11, 43);
    const data = Buffer.from(`xx-${hashPart}-yy`);
    for (let cut = 0; cut <= data.length; cut++) {
      for (let cut2 = cut; cut2 <= data.length; cut2 += 5) {
        const sink = new RefScanSink([hashPart]);
        sink.update(data.subarray(0, cut));
        sink.update(data.subarray(cut, cut2));
        sink.update(data.subarray(cut2));
        expect([...sink.found]).toEqual([hashPart]);
      }
    }
  });

  it('finds a hash that straddles the 1 MiB buffers of the dumper, and hashes the NAR as hashPath does', () => {
    const file = join(work, 'straddle');
    const contents = Buffer.alloc(3 * 1024 * 1024, 0x2e);
    // The NAR of a lone regular file has 96 bytes before the contents.
    const hashPart = a.slice('/nix/store/'.length, '/nix/store/'.length + 32);
    contents.write(hashPart, 1024 * 1024 - 96 - 16, 'latin1');
    writeFileSync(file, contents);
    const r = scanForReferences(file, [a, b]);
    expect(r.references).toEqual([a]);
    const h = hashPath('sha256', file);
    expect(Buffer.from(r.narHash.bytes).equals(Buffer.from(h.hash.bytes))).toBe(true);
    expect(r.narSize).toBe(h.size);
  });

  it('handles one-byte chunks', () => {
    const hashPart = b.slice(11, 43);
    const sink = new RefScanSink([hashPart]);
    for (const byte of Buffer.from(`!!${hashPart}`)) sink.update(Uint8Array.of(byte));
    expect(sink.found.has(hashPart)).toBe(true);
  });

  it('does not match near-misses', () => {
    const hashPart = a.slice(11, 43);
    expect(scanBytesForHashParts(Buffer.from(hashPart.slice(1)), [hashPart]).size).toBe(0);
    expect(scanBytesForHashParts(Buffer.from(hashPart.slice(0, 16) + 'e' + hashPart.slice(17)), [hashPart]).size).toBe(0);
  });
});

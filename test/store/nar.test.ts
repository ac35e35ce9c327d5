import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, lstatSync, mkdtempSync, openSync, readFileSync, readlinkSync, rmSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { printHash } from '../../src/store/hash.js';
import {
  dumpPath,
  FdSource,
  hashPath,
  restorePath,
  narOfString,
  narToBuffer,
  parseNarAsync,
  restoreFromBuffer,
  restorePathAsync,
  validateNar,
} from '../../src/store/nar.js';
import { buildTree, NAR_TREES } from './golden.js';

const work = mkdtempSync(join(tmpdir(), 'tsnix-nar-'));
afterAll(() => {
  spawnSync('chmod', ['-R', 'u+w', work]);
  rmSync(work, { recursive: true, force: true });
});
let counter = 0;
const fresh = (): string => join(work, `t${counter++}`);

const haveNix = spawnSync('nix-store', ['--version']).status === 0;

// Builds a NAR by hand, for archives no file tree produces.
function str(s: string | Buffer): Buffer {
  const b = typeof s === 'string' ? Buffer.from(s) : s;
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(b.length));
  return Buffer.concat([len, b, Buffer.alloc((8 - (b.length % 8)) % 8)]);
}
const nar = (...items: (string | Buffer)[]): Buffer => Buffer.concat(items.map(str));
const file = (contents: string): string[] => ['(', 'type', 'regular', 'contents', contents, ')'];
const entry = (name: string | Buffer, node: (string | Buffer)[]): (string | Buffer)[] => ['entry', '(', 'name', name, 'node', ...node, ')'];
const dir = (...entries: (string | Buffer)[][]): (string | Buffer)[] => ['(', 'type', 'directory', ...entries.flat(), ')'];

describe('NAR serialisation', () => {
  for (const [name, spec] of Object.entries(NAR_TREES)) {
    it(`dumps the ${name} tree like nix-store --dump`, () => {
      const p = fresh();
      buildTree(p, spec);
      const ours = narToBuffer(p);
      validateNar(ours);
      const { hash, size } = hashPath('sha256', p);
      expect(size).toBe(ours.length);
      if (haveNix) {
        const theirs = execFileSync('nix-store', ['--dump', p], { maxBuffer: 1 << 26 });
        expect(ours.toString('hex')).toBe(theirs.toString('hex'));
        const nixHash = execFileSync('nix-hash', ['--type', 'sha256', '--base32', p]).toString().trim();
        expect(printHash(hash, 'base32')).toBe(nixHash);
      }
    });
  }

  it('dumps a file larger than one read chunk identically', () => {
    const p = fresh();
    const big = Buffer.alloc(3 * 65536 + 13);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    writeFileSync(p, big);
    const ours = narToBuffer(p);
    expect(ours.length).toBe(big.length + 3 + 112);
    if (haveNix) expect(ours.equals(execFileSync('nix-store', ['--dump', p], { maxBuffer: 1 << 26 }))).toBe(true);
  });

  it('dumpPath (reused buffers) writes the bytes nix-store --dump writes, across buffer boundaries', () => {
    const p = fresh();
    mkdirSync(join(p, 'd'), { recursive: true });
    // Files that end exactly at, just past and well past the 1 MiB framing buffer, many small ones, odd sizes.
    for (const [name, size] of [['a', 1024 * 1024 - 200], ['b', 1024 * 1024 + 5], ['c', 2 * 1024 * 1024 + 3], ['e', 0], ['f', 7]] as const) {
      const b = Buffer.alloc(size);
      for (let i = 0; i < size; i += 997) b[i] = (i / 997) & 0xff;
      writeFileSync(join(p, name), b);
    }
    for (let i = 0; i < 300; i++) writeFileSync(join(p, 'd', `f${i}`), 'x'.repeat((i * 37) % 5000));
    chmodSync(join(p, 'b'), 0o755);
    const copies: Buffer[] = [];
    dumpPath(p, (chunk) => copies.push(Buffer.from(chunk)));
    const ours = Buffer.concat(copies);
    expect(ours.equals(narToBuffer(p))).toBe(true);
    validateNar(ours);
    if (haveNix) {
      expect(ours.equals(execFileSync('nix-store', ['--dump', p], { maxBuffer: 1 << 26 }))).toBe(true);
      const nixHash = execFileSync('nix-hash', ['--type', 'sha256', '--base32', p]).toString().trim();
      expect(printHash(hashPath('sha256', p).hash, 'base32')).toBe(nixHash);
    }
  });

  it('FdSource reads ahead but serves consecutive archives on one descriptor intact', () => {
    const a = fresh();
    mkdirSync(join(a, 'many'), { recursive: true });
    for (let i = 0; i < 400; i++) writeFileSync(join(a, 'many', `f${i}`), Buffer.alloc((i * 613) % 9000, i & 0xff));
    const big = Buffer.alloc(1024 * 1024 + 77);
    for (let i = 0; i < big.length; i += 101) big[i] = i & 0xff;
    writeFileSync(join(a, 'big'), big);
    chmodSync(join(a, 'big'), 0o755);
    const b = fresh();
    writeFileSync(b, 'second archive\n');
    const stream = fresh();
    writeFileSync(stream, Buffer.concat([narToBuffer(a), narToBuffer(b), Buffer.from('trailer')]));
    const fd = openSync(stream, 'r');
    try {
      const src = new FdSource(fd);
      const ra = fresh();
      const rb = fresh();
      restorePath(ra, src);
      restorePath(rb, src);
      expect(narToBuffer(ra).equals(narToBuffer(a))).toBe(true);
      expect(narToBuffer(rb).equals(narToBuffer(b))).toBe(true);
      expect(src.read(7).toString()).toBe('trailer');
      expect(() => src.read(1)).toThrow('unexpected end-of-file');
    } finally {
      closeSync(fd);
    }
  });

  it('keeps names that are not UTF-8 byte for byte', () => {
    const p = fresh();
    mkdirSync(p);
    const name = Buffer.from([0x66, 0xff, 0x6f]);
    writeFileSync(Buffer.concat([Buffer.from(p + '/'), name]), 'x');
    const ours = narToBuffer(p);
    expect(ours.includes(name)).toBe(true);
    if (haveNix) expect(ours.equals(execFileSync('nix-store', ['--dump', p]))).toBe(true);
  });

  it('applies the filter to entries below the root', () => {
    const p = fresh();
    buildTree(p, NAR_TREES.mixed!);
    const seen: string[] = [];
    const filtered = narToBuffer(p, (path, type) => {
      seen.push(`${type}:${path.slice(p.length)}`);
      return !path.endsWith('.txt');
    });
    expect(seen).toContain('directory:/bin');
    expect(seen).toContain('symlink:/link');
    expect(filtered.includes(Buffer.from('b.txt'))).toBe(false);
    expect(filtered.includes(Buffer.from('link'))).toBe(true);
  });

  it('serialises a string as a single regular file', () => {
    const p = fresh();
    writeFileSync(p, 'some text');
    expect(narOfString('some text').equals(narToBuffer(p))).toBe(true);
  });
});

describe('NAR restore', () => {
  it('round-trips every tree with canonical metadata', () => {
    for (const spec of Object.values(NAR_TREES)) {
      const src = fresh();
      buildTree(src, spec);
      const dst = fresh();
      const bytes = narToBuffer(src);
      restoreFromBuffer(dst, bytes, { canonicalise: true });
      expect(narToBuffer(dst).equals(bytes)).toBe(true);
      const st = lstatSync(dst);
      if (!st.isSymbolicLink()) {
        expect(st.mtimeMs).toBe(1000);
        expect(st.mode & 0o777).toBe(st.isDirectory() || st.mode & 0o100 ? 0o555 : 0o444);
      }
    }
  });

  it('restores executables 0555 and plain files 0444', () => {
    const src = fresh();
    buildTree(src, NAR_TREES.mixed!);
    const dst = fresh();
    restoreFromBuffer(dst, narToBuffer(src), { canonicalise: true });
    expect(lstatSync(join(dst, 'bin/run')).mode & 0o777).toBe(0o555);
    expect(lstatSync(join(dst, 'a.txt')).mode & 0o777).toBe(0o444);
    expect(lstatSync(join(dst, 'empty')).mode & 0o777).toBe(0o555);
    expect(readlinkSync(join(dst, 'link'))).toBe('a.txt');
    expect(lstatSync(join(dst, 'bin/run')).mtimeMs).toBe(1000);
  });

  it('restores from an async stream split at odd offsets', async () => {
    const src = fresh();
    buildTree(src, NAR_TREES.mixed!);
    const bytes = narToBuffer(src);
    async function* pieces(): AsyncGenerator<Buffer> {
      for (let i = 0; i < bytes.length; i += 7) yield bytes.subarray(i, i + 7);
    }
    const dst = fresh();
    await restorePathAsync(dst, pieces());
    expect(narToBuffer(dst).equals(bytes)).toBe(true);
  });

  if (haveNix) {
    it('restores what nix-store --restore restores', () => {
      const src = fresh();
      buildTree(src, NAR_TREES.mixed!);
      const bytes = narToBuffer(src);
      const theirs = fresh();
      execFileSync('nix-store', ['--restore', theirs], { input: bytes });
      const ours = fresh();
      restoreFromBuffer(ours, bytes);
      expect(narToBuffer(ours).equals(narToBuffer(theirs))).toBe(true);
    });
  }
});

describe('NAR restore refuses hostile archives', () => {
  const attempt = (bytes: Buffer): { target: string; error: string } => {
    const target = fresh();
    try {
      restoreFromBuffer(target, bytes);
    } catch (e) {
      return { target, error: (e as Error).message };
    }
    return { target, error: '' };
  };

  it.each([
    ['..', "NAR contains invalid file name '..'"],
    ['.', "NAR contains invalid file name '.'"],
    ['', "NAR contains invalid file name ''"],
    ['a/b', "NAR contains invalid file name 'a/b'"],
    ['../../etc/passwd', "NAR contains invalid file name '../../etc/passwd'"],
    ['a\0b', "NAR contains invalid file name 'a\0b'"],
  ])('refuses the entry name %j', (name, message) => {
    const { target, error } = attempt(nar('nix-archive-1', ...dir(entry(name, file('pwned')))));
    expect(error).toBe(message);
    expect(existsSync(join(target, '..', 'passwd'))).toBe(false);
  });

  it('refuses duplicate entries (a symlink then a directory of the same name)', () => {
    const outside = fresh();
    mkdirSync(outside);
    const bytes = nar(
      'nix-archive-1',
      ...dir(entry('x', ['(', 'type', 'symlink', 'target', outside, ')']), entry('x', dir(entry('evil', file('pwned'))))),
    );
    expect(attempt(bytes).error).toBe('NAR directory is not sorted');
    expect(existsSync(join(outside, 'evil'))).toBe(false);
  });

  it('refuses unsorted entries', () => {
    expect(attempt(nar('nix-archive-1', ...dir(entry('b', file('')), entry('a', file(''))))).error).toBe('NAR directory is not sorted');
  });

  it('never writes through a symlink that already exists at the target', () => {
    const outside = fresh();
    writeFileSync(outside, 'original');
    const target = fresh();
    execFileSync('ln', ['-s', outside, target]);
    expect(() => restoreFromBuffer(target, nar('nix-archive-1', ...file('pwned')))).toThrow();
    expect(readFileSync(outside, 'utf8')).toBe('original');
  });

  it('does not write into an existing directory at the target', () => {
    const target = fresh();
    mkdirSync(target);
    expect(() => restoreFromBuffer(target, nar('nix-archive-1', ...dir(entry('a', file('x')))))).toThrow(/EEXIST/);
    expect(existsSync(join(target, 'a'))).toBe(false);
  });

  it('refuses malformed framing with Nix messages', () => {
    expect(attempt(nar('nix-archive-2', ...file(''))).error).toBe("bad archive: input doesn't look like a Nix archive");
    expect(attempt(nar('nix-archive-1', 'x')).error).toBe('bad archive: expected open tag');
    expect(attempt(nar('nix-archive-1', '(', 'type', 'fifo', ')')).error).toBe('bad archive: unknown file type fifo');
    expect(attempt(nar('nix-archive-1', '(', 'type', 'regular', 'type', 'regular', ')')).error).toBe('bad archive: multiple type fields');
    expect(attempt(nar('nix-archive-1', '(', 'type', 'regular', 'executable', 'x', ')')).error).toBe(
      'bad archive: executable marker has non-empty value',
    );
    expect(attempt(nar('nix-archive-1', '(', 'type', 'directory', 'entry', '(', 'node', ')')).error).toBe('bad archive: entry name missing');
    expect(attempt(nar('nix-archive-1', '(', 'type', 'regular', 'target', 'x', ')')).error).toBe('bad archive: unknown field target');
    expect(attempt(nar('nix-archive-1', '(', 'type')).error).toBe('unexpected end-of-file');
    const badPad = nar('nix-archive-1', ...file('abc'));
    badPad[badPad.length - 16 - 1] = 1; // a padding byte of "abc"
    expect(attempt(badPad).error).toBe('non-zero padding');
    const huge = Buffer.concat([str('nix-archive-1'), str('('), str('type'), str('symlink'), str('target'), Buffer.from([0, 0, 0, 0, 0, 0, 1, 0])]);
    expect(attempt(huge).error).toBe('string is too long');
  });

  it('rejects trailing garbage when validating', () => {
    expect(() => validateNar(Buffer.concat([nar('nix-archive-1', ...file('')), Buffer.alloc(8)]))).toThrow('trailing data');
  });

  it('parses asynchronously with the same checks', async () => {
    async function* once(b: Buffer): AsyncGenerator<Buffer> {
      yield b;
    }
    const v = { createDirectory() {}, createRegularFile() {}, isExecutable() {}, receiveContents() {}, createSymlink() {} };
    await expect(parseNarAsync(once(nar('nix-archive-1', ...dir(entry('..', file(''))))), v)).rejects.toThrow(
      "NAR contains invalid file name '..'",
    );
  });
});

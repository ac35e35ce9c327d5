// The two-thread dump (nar-parallel.ts) must give exactly the bytes and the
// errors of the synchronous one, wherever the hand-over to the worker
// happens: at the first entry, deep in the tree, in the middle of a file.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NixError } from '../../src/eval/errors.js';
import { printHash } from '../../src/store/hash.js';
import { dumpPath, hashPath, narToBuffer } from '../../src/store/nar.js';
import { dumpPathParallel, hashPathParallel, type ParallelDumpOptions } from '../../src/store/nar-parallel.js';
import { haveNix } from './golden.js';

const work = mkdtempSync(join(tmpdir(), 'tsnix-nar-parallel-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Pseudo-random bytes (no two blocks alike, so misplaced pieces change the hash). */
function noise(size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b.writeUInt32LE(x >>> 0, i - (i + 4 > size ? i + 4 - size : 0));
  }
  return b;
}

/** Executables, symlinks (one dangling), empty directories and files, non-ASCII and non-UTF-8 names, large files first and last. */
function buildTree(tree: string): void {
  mkdirSync(tree);
  writeFileSync(join(tree, 'A-large.bin'), noise(3 * 1024 * 1024 + 5, 1));
  for (let d = 0; d < 6; d++) {
    const dir = join(tree, `dir${d}`, 'sub');
    mkdirSync(dir, { recursive: true });
    mkdirSync(join(tree, `dir${d}`, 'empty'));
    for (let f = 0; f < 40; f++) {
      const p = join(dir, `f${f}`);
      writeFileSync(p, noise((f * 977) % 9000, d * 100 + f));
      if (f % 7 === 0) chmodSync(p, 0o755);
      if (f % 9 === 0) symlinkSync(`f${f}`, join(dir, `l${f}`));
    }
  }
  writeFileSync(join(tree, 'dir2', 'ünïcödé-名前'), 'non-ASCII\n');
  writeFileSync(Buffer.concat([Buffer.from(join(tree, 'dir3', 'latin1-')), Buffer.from([0xe9])]), 'not UTF-8\n');
  writeFileSync(join(tree, 'empty-file'), '');
  symlinkSync('/nonexistent/target', join(tree, 'dangling'));
  writeFileSync(join(tree, 'z-large.bin'), noise(2 * 1024 * 1024 + 3, 2));
  chmodSync(join(tree, 'z-large.bin'), 0o755);
}

const tree = join(work, 'tree');
buildTree(tree);
const bigFile = join(tree, 'A-large.bin');

function parallelBytes(path: string, options: ParallelDumpOptions): Buffer {
  const chunks: Buffer[] = [];
  // Chunks are borrowed: copy them.
  dumpPathParallel(path, (c) => chunks.push(Buffer.from(c)), options);
  return Buffer.concat(chunks);
}

// Where the hand-over happens: at once, after some entries (deep in a
// directory), after some bytes (inside the first large file); the worker
// leaving no files, or all of them, to the main thread (they share them by
// need otherwise).
const HAND_OVERS: [string, ParallelDumpOptions][] = [
  ['at the first entry', { spawnAfterEntries: 0, waitForWorker: true }],
  ['deep in the tree', { spawnAfterEntries: 57, waitForWorker: true }],
  ['inside a large file', { spawnAfterBytes: 1, spawnAfterEntries: 1e9, waitForWorker: true }],
];

describe('dumpPathParallel', () => {
  const expected = narToBuffer(tree);

  for (const [where, options] of HAND_OVERS) {
    for (const leaveFilesBelow of [0, Infinity]) {
      it(`gives the synchronous NAR, hand-over ${where}${leaveFilesBelow ? ', main thread writing the files' : ''}`, () => {
        const got = parallelBytes(tree, { ...options, leaveFilesBelow });
        expect(got.length).toBe(expected.length);
        expect(got.equals(expected)).toBe(true);
      });
    }
  }

  it('hands a single large file over in the middle', () => {
    const got = parallelBytes(bigFile, { spawnAfterBytes: 1, waitForWorker: true });
    expect(got.equals(narToBuffer(bigFile))).toBe(true);
  });

  it('reads on from the file it handed over inside, even if its path now names another file, as the synchronous dump does', () => {
    for (const mode of ['sync', 'parallel']) {
      const file = join(work, `replaced-${mode}`);
      writeFileSync(file, noise(3 * 1024 * 1024, 11));
      const expected = narToBuffer(file);
      const chunks: Buffer[] = [];
      const sink = (c: Buffer): void => {
        // The first bytes go out from inside the file, just before the hand-over.
        if (chunks.length === 0) {
          rmSync(file);
          writeFileSync(file, noise(3 * 1024 * 1024, 12));
        }
        chunks.push(Buffer.from(c));
      };
      if (mode === 'sync') dumpPath(file, sink);
      else dumpPathParallel(file, sink, { spawnAfterBytes: 1, waitForWorker: true });
      expect(Buffer.concat(chunks).equals(expected)).toBe(true);
    }
  });

  it('closes the file it handed over inside, when done and when the sink fails', async () => {
    const openOnFile = (): number =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`) === bigFile;
        } catch {
          return false;
        }
      }).length;
    for (let k = 0; k < 3; k++) {
      parallelBytes(bigFile, { spawnAfterBytes: 1, waitForWorker: true });
      let calls = 0;
      const fail = (): void => {
        if (++calls === 2) throw new Error('sink failed');
      };
      expect(() => dumpPathParallel(bigFile, fail, { spawnAfterBytes: 1, waitForWorker: true })).toThrow('sink failed');
    }
    // An aborted worker closes it after the main thread has returned: give it a moment.
    for (let t = 0; t < 100 && openOnFile() > 0; t++) await new Promise((r) => setTimeout(r, 20));
    expect(openOnFile()).toBe(0);
  });

  it('stays on the main thread for a small tree', () => {
    const got = parallelBytes(join(tree, 'dir1'), {});
    expect(got.equals(narToBuffer(join(tree, 'dir1')))).toBe(true);
  });

  it('hashes like hashPath', () => {
    const sync = hashPath('sha256', tree);
    const par = hashPathParallel('sha256', tree);
    expect(par.size).toBe(sync.size);
    expect(printHash(par.hash, 'base32')).toBe(printHash(sync.hash, 'base32'));
  });

  it.runIf(haveNix)('matches nix-hash on the tree', () => {
    const theirs = execFileSync('nix-hash', ['--type', 'sha256', '--base32', tree], { encoding: 'utf8' }).trim();
    expect(printHash(hashPathParallel('sha256', tree).hash, 'base32')).toBe(theirs);
  });
});

describe('dumpPathParallel errors', () => {
  const bad = join(work, 'bad');
  mkdirSync(join(bad, 'a'), { recursive: true });
  for (let f = 0; f < 30; f++) writeFileSync(join(bad, 'a', `f${f}`), noise(1000 + f, f));
  // A FIFO after the hand-over: the worker meets it.
  mkdirSync(join(bad, 'b'));
  execFileSync('mkfifo', [join(bad, 'b', 'fifo')]);

  const message = `file '${join(bad, 'b', 'fifo')}' has an unsupported type`;

  it('reports what the synchronous dump reports', () => {
    expect(() => dumpPath(bad, () => {})).toThrow(message);
  });

  for (const leaveFilesBelow of [0, Infinity]) {
    it(`reports an error met by the worker as a NixError${leaveFilesBelow ? ' (main thread writing the files)' : ''}`, () => {
      let err: unknown;
      try {
        dumpPathParallel(bad, () => {}, { spawnAfterEntries: 2, waitForWorker: true, leaveFilesBelow });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(NixError);
      expect((err as Error).message).toBe(message);
    });
  }

  for (const leaveFilesBelow of [0, Infinity]) {
    it(`reports a file that vanished as Nix does, by the error of getting its status${leaveFilesBelow ? ' (main thread writing the files)' : ''}`, () => {
      const dir = join(work, `vanishing-${leaveFilesBelow}`);
      mkdirSync(dir);
      writeFileSync(join(dir, 'a'), 'first');
      writeFileSync(join(dir, 'z'), 'last');
      let deleted = false;
      const sink = (): void => {
        // The root was listed before the hand-over; its last file goes now.
        if (!deleted) rmSync(join(dir, 'z'));
        deleted = true;
      };
      expect(() => dumpPathParallel(dir, sink, { spawnAfterEntries: 0, waitForWorker: true, leaveFilesBelow })).toThrow(
        expect.objectContaining({ code: 'ENOENT', syscall: 'lstat', path: join(dir, 'z') }),
      );
    });
  }

  // Entries' types come from the listing of their directory; Nix lstats each
  // entry when it comes to it. An entry that is gone by then is reported as
  // that lstat's error by the synchronous dump, the worker and the main thread alike.
  for (const kind of ['file', 'directory', 'symlink']) {
    it(`reports a ${kind} that vanished after its directory was listed the same way on every path`, () => {
      const errors: unknown[] = [];
      for (const mode of ['sync', 0, Infinity] as const) {
        const dir = join(work, `gone-${kind}-${mode}`);
        mkdirSync(dir);
        writeFileSync(join(dir, 'a'), noise(3 * 1024 * 1024, 3));
        const z = join(dir, 'z');
        if (kind === 'file') writeFileSync(z, 'last');
        if (kind === 'directory') mkdirSync(z);
        if (kind === 'symlink') symlinkSync('a', z);
        let deleted = false;
        // The first bytes go out once the root is listed; z goes then.
        const sink = (): void => {
          if (!deleted) rmSync(z, { recursive: true });
          deleted = true;
        };
        try {
          if (mode === 'sync') dumpPath(dir, sink);
          else dumpPathParallel(dir, sink, { spawnAfterEntries: 0, waitForWorker: true, leaveFilesBelow: mode });
        } catch (e) {
          const err = e as NodeJS.ErrnoException;
          errors.push({ code: err.code, syscall: err.syscall, path: err.path?.replace(dir, '<dir>') });
        }
      }
      expect(errors).toEqual(Array(3).fill({ code: 'ENOENT', syscall: 'lstat', path: '<dir>/z' }));
    });
  }

  // The worker dies outside its own error handling (as when killed for
  // memory): the main thread, waiting for its next slot, must not wait forever.
  for (const exitAt of [0, 3]) {
    it(`fails when the worker thread dies without reporting (before slot ${exitAt})`, () => {
      let err: unknown;
      try {
        dumpPathParallel(tree, () => {}, { spawnAfterEntries: 0, waitForWorker: true, workerExitAtSlot: exitAt });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(NixError);
      expect((err as Error).message).toBe(`the worker thread writing the NAR of '${tree}' ended unexpectedly`);
      // The next dump works.
      expect(parallelBytes(tree, { spawnAfterEntries: 0, waitForWorker: true }).equals(narToBuffer(tree))).toBe(true);
    });
  }

  it('reports a missing path as a system error', () => {
    expect(() => dumpPathParallel(join(work, 'missing'), () => {})).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'lstat' }));
  });

  it('stops the worker when the sink fails', () => {
    let calls = 0;
    const fail = (): void => {
      if (++calls === 3) throw new Error('sink failed');
    };
    expect(() => dumpPathParallel(tree, fail, { spawnAfterEntries: 0, waitForWorker: true, leaveFilesBelow: Infinity })).toThrow('sink failed');
    // The next dump works (nothing left over from the failed one).
    expect(parallelBytes(tree, { spawnAfterEntries: 0, waitForWorker: true }).equals(narToBuffer(tree))).toBe(true);
  });
});

describe('the commands with a worker', () => {
  const bin = join(__dirname, '..', '..', 'bin');
  // The tree is too small for a worker: make the commands hand over at once.
  const handOver = { ...process.env, TSNIX_TEST_NAR_HAND_OVER: '1' };

  it('nix-store --dump writes the NAR', () => {
    const r = spawnSync(join(bin, 'nix-store'), ['--dump', tree], { env: handOver, maxBuffer: 64 * 1024 * 1024 });
    expect(r.status).toBe(0);
    expect(r.stdout.equals(narToBuffer(tree))).toBe(true);
  });

  it('nix-hash prints the hash, with or without a worker', () => {
    for (const env of [process.env, handOver]) {
      const r = spawnSync(join(bin, 'nix-hash'), ['--type', 'sha256', '--base32', tree], { env, encoding: 'utf8' });
      expect(r.status).toBe(0);
      expect(r.stdout.trim()).toBe(printHash(hashPath('sha256', tree).hash, 'base32'));
    }
  });

  it('leaves a pipe on stdout blocking, so a slow reader is not polled', () => {
    // Node pipes a worker's output to process.stdout unless told not to,
    // which makes fd 1 non-blocking; dumps write it synchronously.
    const script = `
      const { dumpPathParallel } = await import(${JSON.stringify(join(__dirname, '..', '..', 'dist', 'store', 'nar-parallel.js'))});
      const fs = await import('node:fs');
      dumpPathParallel(${JSON.stringify(tree)}, () => {}, { spawnAfterEntries: 0, waitForWorker: true });
      const flags = /flags:\\s+([0-7]+)/.exec(fs.readFileSync('/proc/self/fdinfo/1', 'utf8'))[1];
      fs.writeSync(2, flags);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(Number.parseInt(r.stderr, 8) & 0o4000).toBe(0);
  });

  it('nix-store --dump and nix-hash fail with an error when the worker dies, and exit 1', () => {
    const env = { ...handOver, TSNIX_TEST_NAR_WORKER_EXIT: '2' };
    for (const args of [['nix-store', '--dump', tree], ['nix-hash', '--type', 'sha256', tree]]) {
      const r = spawnSync(join(bin, args[0]!), args.slice(1), { env, maxBuffer: 64 * 1024 * 1024, timeout: 20_000 });
      expect(r.status).toBe(1);
      expect(r.stderr.toString()).toBe(`error: the worker thread writing the NAR of '${tree}' ended unexpectedly\n`);
    }
  });

  it('nix-store --dump reports a FIFO met by the worker and exits 1', () => {
    const dir = join(work, 'big-bad');
    mkdirSync(dir);
    writeFileSync(join(dir, 'a-big'), noise(1024 * 1024, 7));
    mkdirSync(join(dir, 'b'));
    for (let f = 0; f < 100; f++) writeFileSync(join(dir, 'b', `f${f}`), noise(5000, f));
    execFileSync('mkfifo', [join(dir, 'b', 'z-fifo')]);
    const r = spawnSync(join(bin, 'nix-store'), ['--dump', dir], { env: handOver, maxBuffer: 64 * 1024 * 1024, timeout: 20_000 });
    expect(r.status).toBe(1);
    expect(r.stderr.toString()).toBe(`error: file '${join(dir, 'b', 'z-fifo')}' has an unsupported type\n`);
  });
});

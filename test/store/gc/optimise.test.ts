// nix-store --optimise: the same store optimised by tsnix and by Nix gets
// the same .links entries, the same sharing and the same summary; contents
// stay verifiable; a second pass does nothing; a collection afterwards
// removes the links nobody uses; EMLINK, files changing under the pass and
// writable files are skipped safely.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { LocalStore } from '../../../src/store/local/local-store.js';
import { resolveStoreConfig } from '../../../src/store/local/store-config.js';
import { BackgroundCloser, formatOptimiseSummary, narHashOfFile, optimiseStore, optimiseNewPath, type OptimiseLog } from '../../../src/store/optimise.js';
import { hashPath } from '../../../src/store/nar.js';
import { printHash } from '../../../src/store/hash.js';
import { collectGarbage } from '../../../src/store/gc/collect.js';
import { copyStore, haveNix, RefStore, removeTree, runStatus, tempDir } from './fixtures.js';

function openStore(root: string): LocalStore {
  const cfg = resolveStoreConfig({ uri: root, env: {} });
  if (cfg.kind !== 'local') throw new Error('expected a local store');
  return LocalStore.open(cfg);
}

function quietLog(): OptimiseLog & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(m), warn: (m) => lines.push(`warning: ${m}`) };
}

/** name → [nlink, ino-class] for every file in the store, ino replaced by the .links name it shares. */
function sharing(s: RefStore): Map<string, string> {
  const linkByIno = new Map<number, string>();
  const linksDir = path.join(s.realStoreDir, '.links');
  for (const n of fs.readdirSync(linksDir)) linkByIno.set(fs.lstatSync(path.join(linksDir, n)).ino, n);
  const out = new Map<string, string>();
  const walk = (p: string, rel: string): void => {
    const st = fs.lstatSync(p);
    if (st.isDirectory()) {
      for (const n of fs.readdirSync(p)) walk(path.join(p, n), `${rel}/${n}`);
      return;
    }
    out.set(rel, `${st.nlink}:${linkByIno.get(st.ino) ?? 'unlinked'}`);
  };
  for (const n of fs.readdirSync(s.realStoreDir)) if (n !== '.links') walk(path.join(s.realStoreDir, n), n);
  return out;
}

describe('.links names', () => {
  const work = tempDir();
  afterAll(() => removeTree(work));
  it('are the base-32 SHA-256 of the NAR of the file, as nar.ts computes it', () => {
    const files: [string, string | Buffer, number][] = [
      ['empty', '', 0o444], ['seven', '1234567', 0o444], ['eight', '12345678', 0o555],
      ['big', Buffer.alloc(300_001, 7), 0o444], ['exe', '#!/bin/sh\n', 0o555],
      ['at-limit', Buffer.alloc(65536, 3), 0o555], ['over-limit', Buffer.alloc(65537, 4), 0o444],
      // Around the largest file hashed in one piece (256 KiB less the framing).
      ...[261_991, 261_992, 261_993, 262_144].flatMap((n): [string, Buffer, number][] => [
        [`one-shot-${n}`, Buffer.alloc(n, n % 251), 0o444],
        [`one-shot-exe-${n}`, Buffer.alloc(n, n % 241), 0o555],
      ]),
    ];
    for (const [name, contents, mode] of files) {
      const p = path.join(work, name);
      fs.writeFileSync(p, contents, { mode });
      expect(narHashOfFile(p, fs.lstatSync(p))).toBe(printHash(hashPath('sha256', p).hash, 'base32'));
    }
    const l = path.join(work, 'link');
    fs.symlinkSync('some/target/of-odd-length', l);
    expect(narHashOfFile(l, fs.lstatSync(l))).toBe(printHash(hashPath('sha256', l).hash, 'base32'));
  });

  it('refuse a file whose size is not the one stat saw (it changed while hashed)', () => {
    for (const size of [100, 200_000]) {
      const p = path.join(work, `changing-${size}`);
      fs.writeFileSync(p, Buffer.alloc(size, 1));
      const st = fs.lstatSync(p);
      fs.appendFileSync(p, 'more');
      expect(() => narHashOfFile(p, st)).toThrow(expect.objectContaining({ code: 'ECHANGED' }));
      fs.truncateSync(p, size - 10);
      expect(() => narHashOfFile(p, st)).toThrow(expect.objectContaining({ code: 'ECHANGED' }));
    }
  });

  it('refuse a file rewritten in place with the same size (its times changed)', () => {
    const p = path.join(work, 'rewritten');
    fs.writeFileSync(p, 'old contents');
    const st = fs.lstatSync(p);
    fs.utimesSync(p, st.atime, new Date(st.mtimeMs + 5000));
    fs.writeFileSync(p, 'new contents');
    expect(() => narHashOfFile(p, st)).toThrow(expect.objectContaining({ code: 'ECHANGED' }));
  });
});

describe('closing replaced files in the background', () => {
  const work = tempDir();
  afterAll(() => removeTree(work));
  const isOpen = (fd: number): boolean => {
    try {
      fs.fstatSync(fd);
      return true;
    } catch {
      return false;
    }
  };

  it('closes every descriptor, at most MAX_PENDING at a time, and settle(0) waits for all', async () => {
    const p = path.join(work, 'file');
    fs.writeFileSync(p, 'x');
    const closer = new BackgroundCloser(true);
    const fds: number[] = [];
    for (let i = 0; i < BackgroundCloser.MAX_PENDING + 20; i++) {
      const fd = fs.openSync(p, 'r');
      fds.push(fd);
      closer.close(fd);
      expect(closer.outstanding).toBeLessThanOrEqual(BackgroundCloser.MAX_PENDING);
    }
    // Past the limit, descriptors were closed at once.
    expect(fds.slice(BackgroundCloser.MAX_PENDING).some(isOpen)).toBe(false);
    await closer.settle(0);
    expect(closer.outstanding).toBe(0);
    expect(fds.some(isOpen)).toBe(false);
  });

  it('closes at once while closing is quick, and moves to the pool when it is slow', async () => {
    const p = path.join(work, 'file3');
    fs.writeFileSync(p, 'x');
    const quick = new BackgroundCloser();
    for (let i = 0; i < 3 * BackgroundCloser.SAMPLE; i++) {
      const fd = fs.openSync(p, 'r');
      quick.close(fd);
      expect(isOpen(fd)).toBe(false);
    }
    expect(quick.background).toBe(false);
    const realClose = fs.closeSync;
    vi.spyOn(fs, 'closeSync').mockImplementation((fd) => {
      // A close that waits for the device, as a synchronous discard does.
      const until = process.hrtime.bigint() + BigInt(2 * BackgroundCloser.SLOW_CLOSE_NS);
      while (process.hrtime.bigint() < until);
      realClose(fd);
    });
    const slow = new BackgroundCloser();
    try {
      for (let i = 0; i < BackgroundCloser.SAMPLE; i++) slow.close(fs.openSync(p, 'r'));
      expect(slow.background).toBe(true);
      const fd = fs.openSync(p, 'r');
      slow.close(fd);
      expect(slow.outstanding).toBe(1);
      await slow.settle(0);
      expect(isOpen(fd)).toBe(false);
    } finally {
      vi.restoreAllMocks();
    }
  });

  it('settle(high, low) returns at once up to `high` and otherwise waits down to `low`', async () => {
    const p = path.join(work, 'file2');
    fs.writeFileSync(p, 'x');
    const closer = new BackgroundCloser(true);
    for (let i = 0; i < 10; i++) closer.close(fs.openSync(p, 'r'));
    await closer.settle(10);
    await closer.settle(5, 2);
    expect(closer.outstanding).toBeLessThanOrEqual(2);
    await closer.settle(0);
    expect(closer.outstanding).toBe(0);
  });
});

describe.runIf(haveNix)('optimising the store', () => {
  let work: string;
  let template: RefStore;
  let n = 0;
  const fresh = (): RefStore => copyStore(template, path.join(work, `copy${n++}`));

  beforeAll(() => {
    work = tempDir();
    template = new RefStore(path.join(work, 'template'));
    const src = path.join(work, 'src');
    for (let k = 0; k < 4; k++) {
      const d = path.join(src, `tree${k}`);
      fs.mkdirSync(path.join(d, 'sub'), { recursive: true });
      fs.writeFileSync(path.join(d, 'same.txt'), 'identical contents\n'.repeat(1000));
      fs.writeFileSync(path.join(d, 'sub', 'same-too'), 'identical contents\n'.repeat(1000));
      fs.writeFileSync(path.join(d, 'exe'), 'identical contents\n'.repeat(1000), { mode: 0o755 });
      fs.writeFileSync(path.join(d, 'own'), `unique ${k}\n`);
      fs.writeFileSync(path.join(d, 'empty'), '');
      fs.symlinkSync('same.txt', path.join(d, 'link'));
      template.nixStore('--add', d);
    }
    fs.writeFileSync(path.join(src, 'flat'), 'identical contents\n'.repeat(1000));
    template.nixStore('--add', path.join(src, 'flat'));
  });

  afterAll(() => {
    if (work) removeTree(work);
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('links the same files as nix-store --optimise and prints the same summary', async () => {
    const a = fresh();
    const b = fresh();
    const store = openStore(a.root);
    let summary: string;
    try {
      summary = formatOptimiseSummary(await optimiseStore(store, quietLog()));
    } finally {
      store.close();
    }
    const theirs = runStatus('nix-store', ['--store', b.root, '--optimise']);
    expect(theirs.status).toBe(0);
    expect(theirs.stderr.trim().split('\n').pop()).toBe(summary);
    // 4 trees × (same.txt, same-too, exe, empty, link) + flat, minus the first of each kind.
    expect(summary).toMatch(/ freed by hard-linking 1[0-9] files$/);
    expect(fs.readdirSync(path.join(a.realStoreDir, '.links')).sort()).toEqual(fs.readdirSync(path.join(b.realStoreDir, '.links')).sort());
    expect(sharing(a)).toEqual(sharing(b));
    const verify = runStatus('nix-store', ['--store', a.root, '--verify', '--check-contents']);
    expect(verify.status).toBe(0);
    expect(verify.stderr).not.toMatch(/error/);
  });

  it('frees the expected bytes, is incremental, and a collection removes unused links afterwards', async () => {
    const a = fresh();
    const store = openStore(a.root);
    try {
      const first = await optimiseStore(store, quietLog());
      const fileSize = 'identical contents\n'.length * 1000;
      // 9 non-executable and 4 executable copies of the contents (one of each kept), 3 extra symlinks to 'same.txt'.
      expect(first.bytesFreed).toBe(11 * fileSize + 3 * 'same.txt'.length);
      expect(first.filesLinked).toBe(17);
      const second = await optimiseStore(store, quietLog());
      expect(second.filesLinked).toBe(0);
      expect(second.bytesFreed).toBe(0);
      expect(fs.readdirSync(path.join(a.realStoreDir, '.links')).length).toBe(8);
    } finally {
      // Closing drops the temporary roots the pass took on every path.
      store.close();
    }
    const gcStore = openStore(a.root);
    try {
      await collectGarbage(gcStore, { action: 'delete-dead', keep: { keepDerivations: true, keepOutputs: false } }, () => {});
    } finally {
      gcStore.close();
    }
    expect(fs.readdirSync(path.join(a.realStoreDir, '.links'))).toEqual([]);
  });

  it('skips a file that changes while the pass runs, and one with too many links', async () => {
    const a = fresh();
    const store = openStore(a.root);
    const realLink = fs.linkSync;
    const changed: string[] = [];
    let swaps = 0;
    const filesLike = (original: string): string[] => {
      const want = fs.readFileSync(original);
      const ino = fs.lstatSync(original).ino;
      const found: string[] = [];
      const walk = (p: string): void => {
        const st = fs.lstatSync(p);
        if (st.isDirectory()) {
          for (const n of fs.readdirSync(p)) if (n !== '.links') walk(path.join(p, n));
        } else if (st.isFile() && st.ino !== ino && st.nlink === 1 && fs.readFileSync(p).equals(want)) found.push(p);
      };
      walk(store.realStoreDir);
      return found;
    };
    vi.spyOn(fs, 'linkSync').mockImplementation((existing, newPath) => {
      const target = String(newPath);
      if (target.includes('.tmp-link-') && swaps === 0 && fs.lstatSync(String(existing)).isFile() && fs.lstatSync(String(existing)).size > 0) {
        swaps++;
        // Between hashing and swapping, the copies still to be linked change:
        // none of them may be replaced by the old contents.
        for (const victim of filesLike(String(existing))) {
          const dir = path.dirname(victim);
          const mode = fs.lstatSync(dir).mode & 0o7777;
          fs.chmodSync(dir, mode | 0o200);
          const fileMode = fs.lstatSync(victim).mode & 0o777;
          fs.rmSync(victim);
          fs.writeFileSync(victim, 'changed\n', { mode: fileMode });
          fs.chmodSync(dir, mode);
          changed.push(victim);
        }
      } else if (target.includes('.tmp-link-') && swaps === 1 && fs.lstatSync(String(existing)).size > 0) {
        swaps++;
        throw Object.assign(new Error('EMLINK: too many links'), { code: 'EMLINK' });
      }
      return realLink(existing, newPath);
    });
    try {
      const log = quietLog();
      const stats = await optimiseStore(store, log);
      expect(swaps).toBe(2);
      expect(changed.length).toBeGreaterThan(0);
      expect(stats.filesLinked).toBeGreaterThan(0);
      for (const victim of changed) expect(fs.readFileSync(victim, 'utf8')).toBe('changed\n');
      expect(log.lines.some((l) => l.includes('has maximum number of links'))).toBe(true);
      expect(fs.readdirSync(store.realStoreDir).filter((x) => x.startsWith('.tmp-link-'))).toEqual([]);
    } finally {
      store.close();
    }
  });

  it('skips immutable files instead of failing, and a collection deletes around them', async () => {
    const a = fresh();
    const tree = fs.readdirSync(a.realStoreDir).find((x) => x.endsWith('-tree3'))!;
    const immutable = path.join(a.realStoreDir, tree, 'same.txt');
    const { spawnSync } = await import('node:child_process');
    if (spawnSync('chattr', ['+i', immutable]).status !== 0) return; // file system without attributes
    try {
      const store = openStore(a.root);
      try {
        const stats = await optimiseStore(store, quietLog());
        expect(stats.filesLinked).toBe(16);
        expect(fs.lstatSync(immutable).nlink).toBe(1);
      } finally {
        store.close();
      }
      const log: string[] = [];
      const gcStore = openStore(a.root);
      try {
        const r = await collectGarbage(gcStore, { action: 'delete-dead', keep: { keepDerivations: true, keepOutputs: false } }, (m) => log.push(m));
        expect(r.paths.size).toBe(5);
      } finally {
        gcStore.close();
      }
      expect(log.some((l) => l.startsWith(`error: cannot delete all of '/nix/store/${tree}'`))).toBe(true);
      expect(fs.readdirSync(a.realStoreDir).filter((x) => !x.startsWith('.'))).toEqual([]);
    } finally {
      // Wherever the file ended up, let the clean-up remove it.
      spawnSync('sh', ['-c', `chattr -R -i '${a.realStoreDir}' 2>/dev/null`]);
    }
  });

  it('leaves no replaced file open, and recreates a .links entry removed during the pass', async () => {
    const a = fresh();
    const store = openStore(a.root);
    const realLink = fs.linkSync;
    let removed = '';
    vi.spyOn(fs, 'linkSync').mockImplementation((existing, newPath) => {
      // A collection removes the entry just before the second copy of its contents is swapped.
      if (!removed && String(newPath).includes('.tmp-link-') && fs.lstatSync(String(existing)).size > 0) {
        removed = String(existing);
        fs.unlinkSync(removed);
      }
      return realLink(existing, newPath);
    });
    const openFds = (): number => fs.readdirSync('/proc/self/fd').length;
    // (The temproots file is opened with the first root.)
    store.addTempRoot(store.queryAllValidPaths()[0]!);
    const before = openFds();
    try {
      const stats = await optimiseStore(store, quietLog());
      expect(openFds()).toBe(before);
      expect(removed).not.toBe('');
      // The copy whose swap failed became the new entry; the others share it.
      expect(fs.existsSync(removed)).toBe(true);
      expect(fs.lstatSync(removed).nlink).toBeGreaterThan(2);
      expect(stats.filesLinked).toBe(16);
    } finally {
      store.close();
    }
    const verify = runStatus('nix-store', ['--store', a.root, '--verify', '--check-contents']);
    expect(verify.status).toBe(0);
    expect(verify.stderr).not.toMatch(/error/);
  });

  it('does not make a file that changed after it was hashed a .links entry', async () => {
    const a = fresh();
    const store = openStore(a.root);
    const realFstat = fs.fstatSync;
    const own = fs.readdirSync(store.realStoreDir).filter((x) => /-tree[0-3]$/.test(x)).map((t) => path.join(store.realStoreDir, t, 'own'));
    const ownInodes = new Set(own.map((p) => fs.lstatSync(p).ino));
    // The unique files report new times after being read, as if rewritten meanwhile.
    vi.spyOn(fs, 'fstatSync').mockImplementation(((fd: number, options?: fs.StatOptions) => {
      const st = realFstat(fd, options as fs.StatOptions & { bigint?: false }) as fs.Stats;
      if (ownInodes.has(st.ino)) return Object.assign(Object.create(Object.getPrototypeOf(st)), st, { mtimeMs: st.mtimeMs + 1000 });
      return st;
    }) as typeof fs.fstatSync);
    try {
      await optimiseStore(store, quietLog());
      const linked = new Set(fs.readdirSync(store.linksDir).map((n) => fs.lstatSync(path.join(store.linksDir, n)).ino));
      for (const p of own) {
        expect(linked.has(fs.lstatSync(p).ino)).toBe(false);
        expect(fs.lstatSync(p).nlink).toBe(1);
      }
      // The other contents (text, executable, empty file, symlink) still were.
      expect(linked.size).toBe(4);
    } finally {
      store.close();
    }
  });

  it('skips writable files with Nix\'s warning, and optimises one new path for auto-optimise-store', () => {
    const a = fresh();
    const store = openStore(a.root);
    try {
      const trees = fs.readdirSync(store.realStoreDir).filter((x) => x.endsWith('-tree0') || x.endsWith('-tree2'));
      const writable = path.join(store.realStoreDir, trees[0]!, 'own');
      fs.chmodSync(writable, 0o644);
      const log = quietLog();
      const stats = optimiseNewPath(store.realStoreDir, store.linksDir, path.join(store.realStoreDir, trees[0]!), log);
      expect(log.lines).toContain(`warning: skipping suspicious writable file '${writable}'`);
      // Within one tree only same.txt and sub/same-too share contents.
      expect(stats.filesLinked).toBe(1);
      // The next tree shares everything but its own file with the first.
      const stats2 = optimiseNewPath(store.realStoreDir, store.linksDir, path.join(store.realStoreDir, trees[1]!), quietLog());
      expect(stats2.filesLinked).toBe(5);
    } finally {
      store.close();
    }
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ReadOnlyStore } from '../../../src/store/readonly-store.js';
import { openStoreForEval } from '../../../src/store/local/open-store.js';
import { PathLocks } from '../../../src/store/local/path-locks.js';
import { makeSourceTree, openChrootStore, tempDir } from './helpers.js';

describe('read-only store', () => {
  it('computes the paths the local store writes, writing nothing', () => {
    const src = makeSourceTree(path.join(tempDir(), 'src'));
    const ro = new ReadOnlyStore();
    const root = tempDir();
    const store = openChrootStore(root);
    const filter = (p: string) => !p.endsWith('link');
    for (const opts of [
      { method: 'recursive' as const, hashAlgo: 'sha256' as const },
      { method: 'recursive' as const, hashAlgo: 'sha1' as const },
      { method: 'recursive' as const, hashAlgo: 'sha256' as const, filter },
    ]) {
      expect(ro.addPathToStore('src', src, opts)).toBe(store.addPathToStore('src', src, opts));
    }
    const file = path.join(src, 'a.txt');
    expect(ro.addPathToStore('a', file, { method: 'flat', hashAlgo: 'md5' })).toBe(store.addPathToStore('a', file, { method: 'flat', hashAlgo: 'md5' }));
    expect(ro.addTextToStore('t', 'text', [])).toBe(store.addTextToStore('t', 'text', []));
    expect(ro.isValidPath(store.addTextToStore('t', 'text', []))).toBe(false);
    store.close();
  });

  it('dummy:// and --readonly-mode open stores that write nothing', () => {
    const dummy = openStoreForEval({ uri: 'dummy://', env: {} });
    expect(dummy.readOnly).toBe(true);
    expect(dummy.addTextToStore('x', 'y', [])).toMatch(/^\/nix\/store\/[0-9a-z]{32}-x$/);
    const root = tempDir();
    const ro = openStoreForEval({ uri: root, env: {}, readOnly: true });
    ro.addTextToStore('x', 'y', []);
    expect(fs.readdirSync(root)).toEqual([]);
    // Over an existing store, validity comes from its database.
    const store = openChrootStore(root);
    const p = store.addTextToStore('x', 'y', []);
    store.close();
    const ro2 = openStoreForEval({ uri: root, env: {}, readOnly: true });
    expect(ro2.isValidPath(p)).toBe(true);
    expect(ro2.addTextToStore('z', 'w', [])).not.toBe(p);
    expect(fs.existsSync(path.join(root, 'nix/store', path.basename(ro2.addTextToStore('z', 'w', []))))).toBe(false);
  });
});

describe('path locks', () => {
  it('are flock locks: a lock held by another process (util-linux flock) blocks us, and is ours once released', async () => {
    const dir = tempDir();
    const target = path.join(dir, 'p');
    fs.writeFileSync(`${target}.lock`, '');
    const holder = spawn('flock', ['-x', `${target}.lock`, '-c', 'echo locked; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
    await new Promise<void>((resolve) => holder.stdout!.once('data', () => resolve()));
    const locks = new PathLocks();
    expect(locks.lockPaths([target], { wait: false })).toBe(false);
    // Kill the whole group: the shell flock started holds the lock too.
    process.kill(-holder.pid!, 'SIGKILL');
    // Waits until the kernel has dropped the dead holder's lock.
    expect(locks.lockPaths([target], { wait: true })).toBe(true);
    // While we hold it, another process cannot take it.
    expect(spawnSync('flock', ['-x', '-n', `${target}.lock`, 'true']).status).toBe(1);
    locks.setDeletion(true);
    locks.release();
    expect(fs.existsSync(`${target}.lock`)).toBe(false);
  });
});

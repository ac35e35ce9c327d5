import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { narToBuffer, BufferSource } from '../../../src/store/nar.js';
import { makeTextPath } from '../../../src/store/store-path.js';
import { derivationOutputPath, emptyDerivation, unparseDerivation } from '../../../src/store/derivation.js';
import { fillInputAddressedOutputs } from '../../../src/store/derivation-hash.js';
import { hashString } from '../../../src/store/hash.js';
import { makeSourceTree, openChrootStore, refNixStore, tempDir } from './helpers.js';

describe('local store written by tsnix, read by the reference', () => {
  it('paths, hashes and references agree with nix-store, and --verify --check-contents passes', () => {
    const root = tempDir();
    const src = makeSourceTree(path.join(tempDir(), 'src'));
    const store = openChrootStore(root);
    const text = store.addTextToStore('greeting', 'hello world\n', []);
    const tree = store.addPathToStore('src', src, { method: 'recursive', hashAlgo: 'sha256' });
    const withRef = store.addPathToStore('src', src, { method: 'recursive', hashAlgo: 'sha256', references: [text] });
    const flat = store.addPathToStore('a.txt', path.join(src, 'a.txt'), { method: 'flat', hashAlgo: 'sha1' });
    store.close();

    // The reference computes the same paths for the same contents.
    const refRoot = tempDir();
    expect(refNixStore(refRoot, ['--add', src]).stdout.trim()).toBe(tree);
    expect(refNixStore(refRoot, ['--add-fixed', 'sha1', path.join(src, 'a.txt')]).stdout.trim()).toBe(flat);

    const verify = refNixStore(root, ['--verify', '--check-contents']);
    expect(verify.stderr).not.toMatch(/modified|error/);
    expect(verify.status).toBe(0);
    expect(refNixStore(root, ['-q', '--references', withRef]).stdout).toBe(`${text}\n`);
    expect(refNixStore(root, ['-q', '--referrers', text]).stdout).toBe(`${withRef}\n`);
    for (const q of ['--hash', '--size']) {
      expect(refNixStore(root, ['-q', q, tree]).stdout).toBe(refNixStore(refRoot, ['-q', q, tree]).stdout);
    }
    // Store contents carry canonical metadata.
    const real = path.join(root, 'nix/store', path.basename(tree));
    expect(fs.lstatSync(path.join(real, 'a.txt')).mode & 0o7777).toBe(0o444);
    expect(fs.lstatSync(path.join(real, 'sub', 'run.sh')).mode & 0o7777).toBe(0o555);
    expect(fs.lstatSync(real).mtimeMs).toBe(1000);
  });

  it('reads a store the reference populated', () => {
    const root = tempDir();
    const src = makeSourceTree(path.join(tempDir(), 'src'));
    const added = refNixStore(root, ['--add', src]).stdout.trim();
    const store = openChrootStore(root);
    const info = store.queryPathInfo(added)!;
    expect(`${info.narHash}\n`).toBe(refNixStore(root, ['-q', '--hash', added]).stdout);
    expect(`${info.narSize}\n`).toBe(refNixStore(root, ['-q', '--size', added]).stdout);
    expect(info.ca).toMatch(/^fixed:r:sha256:/);
    // Adding the same contents again is a no-op that returns the same path.
    expect(store.addPathToStore('src', src, { method: 'recursive', hashAlgo: 'sha256' })).toBe(added);
    store.close();
    expect(refNixStore(root, ['--verify', '--check-contents']).status).toBe(0);
  });

  it('derivations register their outputs (DerivationOutputs), visible to the reference', () => {
    const root = tempDir();
    const store = openChrootStore(root);
    // A derivation whose output path is its own (the store checks that, as Nix does).
    const d = emptyDerivation('x');
    d.platform = 'x86_64-linux';
    d.builder = '/bin/sh';
    for (const [k, v] of [['builder', '/bin/sh'], ['name', 'x'], ['system', 'x86_64-linux']]) d.env.set(k!, v!);
    fillInputAddressedOutputs(d, ['out'], { readDerivation: () => { throw new Error('no inputs'); } });
    const out = derivationOutputPath(d, 'out')!;
    const drv = store.addTextToStore('x.drv', unparseDerivation(d), []);
    // One whose output is not its own is refused, and nothing of it stays.
    const forged = unparseDerivation(d).replaceAll(out, '/nix/store/0000000000000000000000000000000a-x');
    expect(() => store.addTextToStore('x.drv', forged, [])).toThrow(
      `derivation has incorrect output '/nix/store/0000000000000000000000000000000a-x', should be '${out}'`);
    expect(fs.readdirSync(path.join(root, 'nix/store')).filter((n) => n.endsWith('.drv'))).toEqual([path.basename(drv)]);
    expect(store.queryDerivationOutputs(drv)).toEqual(new Map([['out', out]]));
    expect(store.queryValidDerivers(out)).toEqual([drv]);
    store.close();
    expect(refNixStore(root, ['-q', '--outputs', drv]).stdout).toBe(`${out}\n`);
    // (Nix 2.8 has no --valid-derivers; its --deriver-side view is DerivationOutputs, checked above.)
  });

  it('imports a NAR, checking its hash and size', () => {
    const root = tempDir();
    const src = makeSourceTree(path.join(tempDir(), 'src'));
    const refRoot = tempDir();
    const p = refNixStore(refRoot, ['--add', src]).stdout.trim();
    const narHash = refNixStore(refRoot, ['-q', '--hash', p]).stdout.trim();
    const narSize = refNixStore(refRoot, ['-q', '--size', p]).stdout.trim();
    const nar = narToBuffer(src);
    const store = openChrootStore(root);
    expect(() => store.addToStoreFromNar(
      { path: p, narHash: narHash!, narSize: Number(narSize) + 1, references: [] }, new BufferSource(nar)))
      .toThrow(/size mismatch importing path/);
    expect(store.isValidPath(p)).toBe(false);
    expect(() => store.addToStoreFromNar(
      { path: p, narHash: 'sha256:1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s', narSize: Number(narSize), references: [] },
      new BufferSource(nar))).toThrow(/hash mismatch importing path/);
    expect(store.addToStoreFromNar({ path: p, narHash: narHash!, narSize: Number(narSize), references: [] }, new BufferSource(nar))).toBe(true);
    expect(store.isValidPath(p)).toBe(true);
    // No temporary leftovers in the store directory.
    expect(fs.readdirSync(path.join(root, 'nix/store')).filter((n) => n.startsWith('.tmp'))).toEqual([]);
    store.close();
    expect(refNixStore(root, ['--verify', '--check-contents']).status).toBe(0);
  });

  it('replaces complete-but-unregistered leftovers at the final name', () => {
    const root = tempDir();
    const store = openChrootStore(root);
    const p = store.addTextToStore('t', 'contents', []);
    // Simulate a writer that died after renaming but before registering.
    store.db.writeTransaction(() => store.db.invalidatePath(p));
    const real = store.toRealPath(p);
    fs.chmodSync(real, 0o644);
    fs.writeFileSync(real, 'garbage');
    expect(store.addTextToStore('t', 'contents', [])).toBe(p);
    expect(fs.readFileSync(real, 'utf8')).toBe('contents');
    expect(fs.existsSync(`${real}.lock`)).toBe(false);
    store.close();
  });

  it('leaves nothing under a store path\'s name when registering fails (a reference that is not valid)', () => {
    const root = tempDir();
    const store = openChrootStore(root);
    const missing = '/nix/store/jj6d2yjs6jnyqi1spbnp9ramwbqcrxnp-foo';
    expect(() => store.addTextToStore('t', 'text', [missing])).toThrow(`path '${missing}' is not valid`);
    expect(fs.readdirSync(path.join(root, 'nix/store')).filter((n) => !n.endsWith('.lock'))).toEqual(['.links']);
    // Something already at the final name (a leftover): it stays as it was.
    const p = makeTextPath('u', hashString('sha256', 'new'), [missing], store.storeDir);
    fs.writeFileSync(store.toRealPath(p), 'leftover');
    expect(() => store.addTextToStore('u', 'new', [missing])).toThrow(`path '${missing}' is not valid`);
    expect(fs.readFileSync(store.toRealPath(p), 'utf8')).toBe('leftover');
    expect(fs.readdirSync(path.join(root, 'nix/store')).filter((n) => !n.endsWith('.lock')).sort()).toEqual(['.links', path.basename(p)]);
    store.close();
  });

  it('reports a missing source in Nix\'s words', () => {
    const store = openChrootStore(tempDir());
    expect(() => store.addPathToStore('x', '/nonexistent/x', { method: 'recursive', hashAlgo: 'sha256' }))
      .toThrow("getting status of '/nonexistent/x': No such file or directory");
    store.close();
  });

  it('verifyStore finds modified contents and drops vanished paths', () => {
    const root = tempDir();
    const store = openChrootStore(root);
    const a = store.addTextToStore('a', 'a', []);
    const b = store.addTextToStore('b', 'b', []);
    fs.chmodSync(store.toRealPath(a), 0o644);
    fs.writeFileSync(store.toRealPath(a), 'changed');
    fs.rmSync(store.toRealPath(b));
    const lines: string[] = [];
    const report = store.verifyStore(true, false, (_level, m) => lines.push(m));
    expect(report.errors).toBe(true);
    expect(lines).toContain(`path '${b}' disappeared, removing from database...`);
    expect(lines.some((l) => l.startsWith(`path '${a}' was modified! expected hash 'sha256:`))).toBe(true);
    expect(store.isValidPath(b)).toBe(false);
    store.close();
  });

  it('two handles on one store in one process share the temp roots file', () => {
    const root = tempDir();
    const first = openChrootStore(root);
    const second = openChrootStore(root);
    const a = first.addTextToStore('a', 'a', []);
    const b = second.addTextToStore('b', 'b', []);
    const file = path.join(root, 'nix/var/nix/temproots', String(process.pid));
    expect(fs.readFileSync(file, 'utf8')).toBe(`${a}\0${b}\0`);
    first.close();
    expect(fs.readFileSync(file, 'utf8')).toBe(`${a}\0${b}\0`);
    second.close();
    expect(fs.existsSync(file)).toBe(false);
  });

  it('writes the temp roots file of the process and removes it on close', () => {
    const root = tempDir();
    const store = openChrootStore(root);
    const p = store.addTextToStore('a', 'a', []);
    const file = path.join(root, 'nix/var/nix/temproots', String(process.pid));
    expect(fs.readFileSync(file, 'utf8')).toBe(`${p}\0`);
    store.close();
    expect(fs.existsSync(file)).toBe(false);
  });
});

describe('database schema', () => {
  it('upgrades a schema-9 store (no ca column) like Nix and refuses newer schemas', async () => {
    const Database = (await import('better-sqlite3')).default;
    const root = tempDir();
    const dbDir = path.join(root, 'nix/var/nix/db');
    fs.mkdirSync(dbDir, { recursive: true });
    const db = new Database(path.join(dbDir, 'db.sqlite'));
    db.exec(`create table ValidPaths (id integer primary key autoincrement not null, path text unique not null,
      hash text not null, registrationTime integer not null, deriver text, narSize integer, ultimate integer, sigs text);
      create table Refs (referrer integer not null, reference integer not null, primary key (referrer, reference));
      create table DerivationOutputs (drv integer not null, id text not null, path text not null, primary key (drv, id));`);
    db.close();
    fs.writeFileSync(path.join(dbDir, 'schema'), '9');
    const store = openChrootStore(root);
    store.addTextToStore('t', 't', []);
    store.close();
    expect(fs.readFileSync(path.join(dbDir, 'schema'), 'utf8')).toBe('10');
    expect(refNixStore(root, ['--verify', '--check-contents']).status).toBe(0);
    fs.writeFileSync(path.join(dbDir, 'schema'), '11');
    expect(() => openChrootStore(root)).toThrow('current Nix store schema is version 11, but I only support 10');
  });
});

describe('filtered sources', () => {
  it('a filtered add gives the path builtins.filterSource gives in the reference', () => {
    const src = makeSourceTree(path.join(tempDir(), 'src'));
    const root = tempDir();
    const expr = `builtins.filterSource (p: t: baseNameOf p != "link" && t != "symlink" && baseNameOf p != "run.sh") ${src}`;
    const r = spawnSync('nix-instantiate', ['--store', root, '--read-write-mode', '--eval', '-E', expr], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const refPath = r.stdout.trim().replace(/"/g, '');
    const store = openChrootStore(tempDir());
    const ours = store.addPathToStore('src', src, {
      method: 'recursive',
      hashAlgo: 'sha256',
      filter: (p, type) => path.basename(p) !== 'link' && type !== 'symlink' && path.basename(p) !== 'run.sh',
    });
    store.close();
    expect(ours).toBe(refPath);
  });
});

describe('large sources (copied first, then hashed as copied)', () => {
  function makeLargeTree(dir: string): string {
    makeSourceTree(dir);
    fs.mkdirSync(path.join(dir, 'empty'));
    const big = Buffer.alloc(9 * 1024 * 1024 + 3);
    for (let i = 0; i < big.length; i += 4096) big[i] = (i / 4096) & 0xff;
    fs.writeFileSync(path.join(dir, 'sub', 'big.bin'), big, { mode: 0o755 });
    return dir;
  }

  it('paths, NAR hashes, sizes and metadata agree with the reference', () => {
    const src = makeLargeTree(path.join(tempDir(), 'src'));
    const root = tempDir();
    const store = openChrootStore(root);
    const tree = store.addPathToStore('src', src, { method: 'recursive', hashAlgo: 'sha256' });
    expect(store.addPathToStore('src', src, { method: 'recursive', hashAlgo: 'sha256' })).toBe(tree);
    const sha1Tree = store.addPathToStore('src', src, { method: 'recursive', hashAlgo: 'sha1' });
    // (Flat: a non-executable file; nix-store --add-fixed of an executable one keeps the bit in Nix 2.8.)
    const blob = path.join(tempDir(), 'blob.bin');
    fs.copyFileSync(path.join(src, 'sub', 'big.bin'), blob);
    fs.chmodSync(blob, 0o644);
    const flat = store.addPathToStore('blob.bin', blob, { method: 'flat', hashAlgo: 'sha256' });
    store.close();
    const refRoot = tempDir();
    expect(refNixStore(refRoot, ['--add', src]).stdout.trim()).toBe(tree);
    expect(refNixStore(refRoot, ['--add-fixed', '--recursive', 'sha1', src]).stdout.trim()).toBe(sha1Tree);
    expect(refNixStore(refRoot, ['--add-fixed', 'sha256', blob]).stdout.trim()).toBe(flat);
    for (const p of [tree, sha1Tree, flat]) {
      for (const q of ['--hash', '--size']) expect(refNixStore(root, ['-q', q, p]).stdout).toBe(refNixStore(refRoot, ['-q', q, p]).stdout);
    }
    const verify = refNixStore(root, ['--verify', '--check-contents']);
    expect(verify.stderr).not.toMatch(/modified|error/);
    const real = path.join(root, 'nix/store', path.basename(tree));
    expect(fs.lstatSync(path.join(real, 'sub', 'big.bin')).mode & 0o7777).toBe(0o555);
    expect(fs.lstatSync(path.join(real, 'a.txt')).mode & 0o7777).toBe(0o444);
    expect(fs.lstatSync(path.join(real, 'empty')).mode & 0o7777).toBe(0o555);
    expect(fs.readlinkSync(path.join(real, 'link'))).toBe('a.txt');
    expect(fs.lstatSync(path.join(real, 'sub', 'big.bin')).mtimeMs).toBe(1000);
    const flatReal = path.join(root, 'nix/store', path.basename(flat));
    expect(fs.lstatSync(flatReal).mode & 0o7777).toBe(0o444);
  });

  it('re-adding a small valid source reads it once: one filter call per entry', () => {
    const src = makeSourceTree(path.join(tempDir(), 'src'));
    const store = openChrootStore(tempDir());
    const seen: string[] = [];
    const filter = (p: string): boolean => {
      seen.push(path.relative(src, p));
      return true;
    };
    const first = store.addPathToStore('src', src, { method: 'recursive', hashAlgo: 'sha256', filter });
    seen.length = 0;
    expect(store.addPathToStore('src', src, { method: 'recursive', hashAlgo: 'sha256', filter })).toBe(first);
    expect(seen.sort()).toEqual(['a.txt', 'link', 'sub', 'sub/run.sh']);
    store.close();
  });

  it('honours the filter and refuses special files, leaving nothing behind', () => {
    const src = makeLargeTree(path.join(tempDir(), 'src'));
    const root = tempDir();
    const store = openChrootStore(root);
    const filtered = store.addPathToStore('src', src, { method: 'recursive', hashAlgo: 'sha256', filter: (p) => path.basename(p) !== 'a.txt' });
    expect(fs.existsSync(path.join(store.toRealPath(filtered), 'a.txt'))).toBe(false);
    expect(fs.existsSync(path.join(store.toRealPath(filtered), 'sub', 'big.bin'))).toBe(true);
    expect(spawnSync('mkfifo', [path.join(src, 'fifo')]).status).toBe(0);
    expect(() => store.addPathToStore('src', src, { method: 'recursive', hashAlgo: 'sha256' }))
      .toThrow(`file '${path.join(src, 'fifo')}' has an unsupported type`);
    store.close();
    expect(fs.readdirSync(path.join(root, 'nix/store')).filter((n) => n.startsWith('.tmp'))).toEqual([]);
  });
});

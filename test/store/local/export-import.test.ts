import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { writeExport } from '../../../src/store/export-format.js';
import { BufferSource } from '../../../src/store/nar.js';
import { topoSortPaths } from '../../../src/store/query/closure.js';
import { openChrootStore, refNixStore, tempDir } from './helpers.js';

/** A store with a small reference graph and derivations, made by the reference. */
function referenceStore(): { root: string; drv: string } {
  const root = tempDir();
  const file = path.join(tempDir(), 'g.nix');
  fs.writeFileSync(file, `
    let a = builtins.toFile "a" "x"; b = builtins.toFile "b" "ref \${a}"; in
    derivation { name = "c"; builder = "/bin/sh"; system = "x86_64-linux"; args = [ "-c" "echo \${b} > $out" ]; }`);
  const r = spawnSync('nix-instantiate', ['--store', root, file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return { root, drv: r.stdout.trim() };
}

function refExport(root: string, paths: string[]): Buffer {
  const r = spawnSync('nix-store', ['--store', root, '--export', ...paths]);
  if (r.status !== 0) throw new Error(String(r.stderr));
  return r.stdout;
}

describe('export and import', () => {
  it('our export of a closure is byte-identical to the reference', () => {
    const { root, drv } = referenceStore();
    const closure = refNixStore(root, ['-qR', drv]).stdout.trim().split('\n');
    const store = openChrootStore(root);
    const chunks: Buffer[] = [];
    writeExport(store, topoSortPaths(store, closure).reverse(), (c) => chunks.push(Buffer.from(c)));
    store.close();
    expect(Buffer.concat(chunks).equals(refExport(root, closure))).toBe(true);
  });

  it('importing the reference export gives the same store as the reference import', () => {
    const { root, drv } = referenceStore();
    const closure = refNixStore(root, ['-qR', drv]).stdout.trim().split('\n');
    const exported = refExport(root, closure);
    const ourRoot = tempDir();
    const store = openChrootStore(ourRoot);
    const imported = store.importPaths(new BufferSource(exported));
    // Importing again is a no-op that still consumes the stream.
    expect(store.importPaths(new BufferSource(exported))).toEqual(imported);
    store.close();
    expect(imported).toEqual(closure);
    const refRoot = tempDir();
    const r = spawnSync('nix-store', ['--store', refRoot, '--import'], { input: exported });
    expect(r.status).toBe(0);
    expect(refNixStore(ourRoot, ['--dump-db']).stdout).toBe(refNixStore(refRoot, ['--dump-db']).stdout);
    expect(refNixStore(ourRoot, ['--verify', '--check-contents']).status).toBe(0);
    expect(refNixStore(ourRoot, ['-q', '--outputs', drv]).stdout).toBe(refNixStore(root, ['-q', '--outputs', drv]).stdout);
  });

  it('rejects a stream that is not an export, and a path with missing references', () => {
    const store = openChrootStore(tempDir());
    expect(() => store.importPaths(new BufferSource(Buffer.from([2, 0, 0, 0, 0, 0, 0, 0]))))
      .toThrow("input doesn't look like something created by 'nix-store --export'");
    const { root, drv } = referenceStore();
    expect(() => store.importPaths(new BufferSource(refExport(root, [drv])))).toThrow(/is not valid/);
    expect(store.isValidPath(drv)).toBe(false);
    store.close();
  });
});

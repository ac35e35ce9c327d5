// tsnix against the reference Nix's answers (committed, and live when the
// reference is installed): hashes, NARs, store paths of added content.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compressHash, hashFile, hashString, parseHashAny, printHash } from '../../src/store/hash.js';
import { hashPath, narToBuffer } from '../../src/store/nar.js';
import { computeStorePathForText, makeFixedOutputPath } from '../../src/store/store-path.js';
import { buildTree, hashSources, narSources, pathSources, type TreeSpec } from './golden.js';

const work = mkdtempSync(join(tmpdir(), 'tsnix-golden-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let n = 0;
const materialise = (spec: TreeSpec, name = `t${n++}`): string => {
  const dir = join(work, `d${n++}`);
  buildTree(dir, { type: 'dir', entries: {} });
  const p = join(dir, name);
  buildTree(p, spec);
  return p;
};

for (const [label, facts] of hashSources()) {
  describe(`hashes (${label})`, () => {
    it.each(facts.hashes)('$algo of $input', ({ input, algo, base16, base32, truncated }) => {
      const h = hashString(algo, input);
      expect(printHash(h, 'base16')).toBe(base16);
      expect(printHash(h, 'base32')).toBe(base32);
      expect(parseHashAny(base32, algo)).toEqual(h);
      expect(parseHashAny(`${algo}:${base16}`)).toEqual(h);
      expect(parseHashAny(printHash(h, 'sri'))).toEqual(h);
      const t = h.bytes.length > 20 ? compressHash(h, 20) : h;
      expect(printHash(t, 'base16')).toBe(truncated);
    });
  });
}

for (const [label, facts] of narSources()) {
  describe(`NAR (${label})`, () => {
    it.each(facts.trees)('$name', ({ spec, narHex, sha256, md5 }) => {
      const p = materialise(spec);
      expect(narToBuffer(p).toString('hex')).toBe(narHex);
      expect(printHash(hashPath('sha256', p).hash, 'base32')).toBe(sha256);
      expect(printHash(hashPath('md5', p).hash, 'base16')).toBe(md5);
    });
  });
}

for (const [label, facts] of pathSources()) {
  describe(`store paths (${label})`, () => {
    const trees = narSources()[0]![1].trees;
    it.each(facts.fixed)('$tree $method $algo', ({ tree, storeName, method, algo, path }) => {
      const p = materialise(trees.find((t) => t.name === tree)!.spec, storeName);
      const h = method === 'recursive' ? hashPath(algo, p).hash : hashFile(algo, p);
      expect(makeFixedOutputPath(method, h, storeName)).toBe(path);
    });
    it('text paths of builtins.toFile', () => {
      // The simple cases (no references) are checked here; references are covered by derivation tests.
      const [a, empty] = facts.texts;
      expect(computeStorePathForText('a', 'b')).toBe(a!.path);
      expect(computeStorePathForText('empty', '')).toBe(empty!.path);
      expect(computeStorePathForText('x.sh', '#!/bin/sh\necho ünïcødé\n')).toBe(facts.texts[2]!.path);
      const refs = computeStorePathForText('refs', `uses ${a!.path}`, [a!.path]);
      expect(refs).toBe(facts.texts[3]!.path);
      const c = computeStorePathForText('c', 'd');
      expect(computeStorePathForText('refs2', `${c} and ${a!.path}`, [c, a!.path])).toBe(facts.texts[4]!.path);
    });
  });
}

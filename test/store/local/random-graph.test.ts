// Random reference graphs: every query that walks the graph (tree, graph,
// graphml, requisites, referrers, referrers-closure) prints, line for line,
// what the reference prints on the same store. Orders here come from Nix's
// path sets and topological sorts, so a wrong tie-break shows up quickly.

import { describe, expect, it } from 'vitest';
import { openChrootStore, ours, refNixStore, tempDir } from './helpers.js';
import { spawnSync } from 'node:child_process';
import { writeExport } from '../../../src/store/export-format.js';
import { topoSortPaths } from '../../../src/store/query/closure.js';

/** A deterministic pseudo-random generator, so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('random reference graphs', () => {
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: graph queries match the reference`, async () => {
      const random = rng(seed);
      const root = tempDir();
      const store = openChrootStore(root);
      const paths: string[] = [];
      for (let i = 0; i < 40; i++) {
        const refs = paths.filter(() => random() < 0.12);
        paths.push(store.addTextToStore(`node-${i}`, `node ${i} of seed ${seed}`, refs));
      }
      store.close();
      const picks = [paths[paths.length - 1]!, paths[Math.floor(random() * paths.length)]!, paths[0]!];
      const queries: string[][] = [];
      for (const p of picks) {
        queries.push(['-q', '--tree', p], ['-q', '--graph', p], ['-q', '--graphml', p], ['-qR', p],
          ['-q', '--referrers', p], ['-q', '--referrers-closure', p], ['-q', '--references', p]);
      }
      queries.push(['-qR', ...picks], ['-q', '--graph', ...picks], ['-q', '--tree', ...picks], ['--dump-db']);
      for (const q of queries) {
        expect((await ours(root, q)).stdout, q.join(' ')).toBe(refNixStore(root, q).stdout);
      }
      // The export of a closure: same paths in the same order, same bytes.
      const closure = refNixStore(root, ['-qR', picks[0]!]).stdout.trim().split('\n');
      const reopened = openChrootStore(root);
      const chunks: Buffer[] = [];
      writeExport(reopened, topoSortPaths(reopened, closure).reverse(), (c) => chunks.push(Buffer.from(c)));
      reopened.close();
      const ref = spawnSync('nix-store', ['--store', root, '--export', ...closure]).stdout;
      expect(Buffer.concat(chunks).equals(ref)).toBe(true);
    });
  }
});

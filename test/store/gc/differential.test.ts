// tsnix's collector and the reference Nix agree on what is dead and what is
// live, on the same chroot store, for every kind of root and keep setting.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalStore } from '../../../src/store/local/local-store.js';
import { resolveStoreConfig, type LocalStoreConfig } from '../../../src/store/local/store-config.js';
import { collectGarbage, type GcAction } from '../../../src/store/gc/collect.js';
import type { KeepOptions } from '../../../src/store/gc/liveness.js';
import { haveNix, populateStandardStore, RefStore, refPrint, removeTree, tempDir } from './fixtures.js';

function chrootConfig(root: string): LocalStoreConfig {
  const cfg = resolveStoreConfig({ uri: root, env: {} });
  if (cfg.kind !== 'local') throw new Error('expected a local store');
  return cfg;
}

async function ours(root: string, action: GcAction, keep: KeepOptions): Promise<string[]> {
  const store = LocalStore.open(chrootConfig(root));
  try {
    const r = await collectGarbage(store, { action, keep }, () => {});
    return [...r.paths].sort();
  } finally {
    store.close();
  }
}

const keepFlags = (keep: KeepOptions): string[] => [
  '--option', 'keep-derivations', String(keep.keepDerivations),
  '--option', 'keep-outputs', String(keep.keepOutputs),
];

describe.runIf(haveNix)('print-dead and print-live agree with the reference Nix', () => {
  let work: string;
  let s: RefStore;
  let t: Map<string, string>;
  let fam: { drv: string; outputs: Map<string, string> };
  let solo: { drv: string; outputs: Map<string, string> };
  let partial: { drv: string; outputs: Map<string, string> };
  let loose: string[];

  beforeAll(() => {
    work = tempDir();
    s = new RefStore(path.join(work, 'store'));
    ({ t, fam, solo, partial, loose } = populateStandardStore(s));
    // A leftover that is not a valid path.
    fs.writeFileSync(path.join(s.realStoreDir, '00000000000000000000000000000000-leftover'), 'junk');
  });

  afterAll(() => {
    s?.close();
    if (work) removeTree(work);
  });

  function clearRoots(): void {
    for (const d of ['gcroots', 'profiles', 'temproots']) {
      const dir = path.join(s.stateDir, d);
      fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(dir, { recursive: true });
    }
    s.close();
  }

  const settings: [string, KeepOptions][] = [
    ['default settings', { keepDerivations: true, keepOutputs: false }],
    ['keep-outputs', { keepDerivations: false, keepOutputs: true }],
    ['keep-outputs and keep-derivations', { keepDerivations: true, keepOutputs: true }],
    ['no keep settings', { keepDerivations: false, keepOutputs: false }],
  ];

  async function compare(keep: KeepOptions): Promise<string[]> {
    const oursDead = await ours(s.root, 'return-dead', keep);
    const theirsDead = refPrint(s, '--print-dead', keepFlags(keep));
    expect(oursDead).toEqual(theirsDead);
    const oursLive = await ours(s.root, 'return-live', keep);
    const theirsLive = refPrint(s, '--print-live', keepFlags(keep));
    expect(oursLive).toEqual(theirsLive);
    return oursDead;
  }

  for (const [label, keep] of settings) {
    it(`with direct, indirect and profile roots (${label})`, async () => {
      clearRoots();
      s.gcroot('direct-c', t.get('c')!);
      // An indirect root as nix-build --out-link registers it.
      s.indirectRoot(path.join(work, 'results', `r-${label.replace(/\W/g, '')}`), fam.outputs.get('lib')!);
      // A dangling indirect root is removed, a dangling link elsewhere is just ignored.
      const dangling = s.indirectRoot(path.join(work, 'results', 'gone'), undefined);
      s.gcroot('per-user/someone/dangling', path.join(work, 'nowhere'));
      s.profile('prof', [loose[0]!, partial.drv], 2);
      // A regular file named after a store path is a root.
      fs.writeFileSync(path.join(s.stateDir, 'gcroots', path.basename(loose[3]!)), '');
      const dead = await compare(keep);
      expect(fs.existsSync(dangling)).toBe(false);
      expect(dead).not.toContain(t.get('c'));
      expect(dead).toContain('/nix/store/00000000000000000000000000000000-leftover');
    });
  }

  for (const [label, keep] of settings) {
    it(`with temporary roots of live and dead processes (${label})`, async () => {
      clearRoots();
      s.liveTempRoots([fam.outputs.get('dev')!, solo.drv]);
      const stale = s.staleTempRoots([loose[1]!]);
      const dead = await compare(keep);
      expect(fs.existsSync(stale)).toBe(false);
      expect(dead).toContain(loose[1]);
      expect(dead).not.toContain(fam.outputs.get('dev'));
    });
  }

  it('with no roots at all everything is dead', async () => {
    clearRoots();
    const dead = await compare({ keepDerivations: true, keepOutputs: true });
    expect(dead.length).toBeGreaterThan(12);
  });
});

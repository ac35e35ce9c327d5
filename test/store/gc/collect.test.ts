// Deleting garbage: the same store collected by tsnix and by the reference
// Nix ends up the same (files, database, summary line), stays verifiable,
// and --delete / --max-freed / keep settings behave as in Nix.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalStore } from '../../../src/store/local/local-store.js';
import { resolveStoreConfig } from '../../../src/store/local/store-config.js';
import { collectGarbage, formatFreed, GcError, type GcOptions, type GcResults } from '../../../src/store/gc/collect.js';
import type { KeepOptions } from '../../../src/store/gc/liveness.js';
import {
  haveNix,
  populateStandardStore,
  RefStore,
  runStatus,
  storeEntries,
  templateStore,
  validPaths,
  type StandardStore,
} from './fixtures.js';

const DEFAULT_KEEP: KeepOptions = { keepDerivations: true, keepOutputs: false };

function openStore(root: string): LocalStore {
  const cfg = resolveStoreConfig({ uri: root, env: {} });
  if (cfg.kind !== 'local') throw new Error('expected a local store');
  return LocalStore.open(cfg);
}

async function ourGc(root: string, options: Partial<GcOptions> & { action: GcOptions['action'] }, log: string[] = []): Promise<GcResults> {
  const store = openStore(root);
  const results: GcResults = { paths: new Set(), bytesFreed: 0 };
  try {
    await collectGarbage(store, { keep: DEFAULT_KEEP, ...options }, (m) => log.push(m), results);
    return results;
  } finally {
    store.close();
  }
}

const keepFlags = (keep: KeepOptions): string[] => [
  '--option', 'keep-derivations', String(keep.keepDerivations),
  '--option', 'keep-outputs', String(keep.keepOutputs),
];

describe.runIf(haveNix)('collecting garbage', () => {
  let st: StandardStore;
  const fresh = templateStore((template, work) => {
    st = populateStandardStore(template);
    fs.writeFileSync(path.join(template.realStoreDir, '00000000000000000000000000000000-leftover'), 'junk');
    fs.mkdirSync(path.join(template.realStoreDir, 'not-a-store-path'));
    template.gcroot('c', st.t.get('c')!);
    template.indirectRoot(path.join(work, 'result-lib'), st.fam.outputs.get('lib')!);
  });

  const cases: [string, KeepOptions][] = [
    ['default settings', DEFAULT_KEEP],
    ['keep-outputs and keep-derivations', { keepDerivations: true, keepOutputs: true }],
    ['no keep settings', { keepDerivations: false, keepOutputs: false }],
  ];
  for (const [label, keep] of cases) {
    it(`leaves the same store as nix-store --gc (${label})`, async () => {
      const a = fresh();
      const b = fresh();
      const log: string[] = [];
      const results = await ourGc(a.root, { action: 'delete-dead', keep }, log);
      const theirs = runStatus('nix-store', ['--store', b.root, ...keepFlags(keep), '--gc']);
      expect(theirs.status).toBe(0);
      expect(storeEntries(a)).toEqual(storeEntries(b));
      expect(validPaths(a)).toEqual(validPaths(b));
      expect(formatFreed(results)).toBe(theirs.stdout);
      expect(log[0]).toBe('finding garbage collector roots...');
      expect(log).toContain('deleting garbage...');
      expect(log).toContain(`deleting '/nix/store/${st.loose[0]!.slice(11)}'`);
      expect(log[log.length - 1]).toMatch(/^note: currently hard linking saves -?\d+\.\d\d MiB$/);
      const verify = runStatus('nix-store', ['--store', a.root, '--verify', '--check-contents']);
      expect(verify.status).toBe(0);
      expect(verify.stderr).not.toMatch(/error/);
    });
  }

  it('deletes a keep-outputs/keep-derivations cycle as a whole and keeps it whole when one member is a root', async () => {
    const both = { keepDerivations: true, keepOutputs: true };
    const a = fresh();
    fs.rmSync(path.join(a.stateDir, 'gcroots', 'auto'), { recursive: true });
    await ourGc(a.root, { action: 'delete-dead', keep: both });
    const left = validPaths(a);
    for (const p of [st.fam.drv, ...st.fam.outputs.values()]) expect(left).not.toContain(p);
    const b = fresh();
    await ourGc(b.root, { action: 'delete-dead', keep: both });
    const kept = validPaths(b);
    for (const p of [st.fam.drv, ...st.fam.outputs.values(), st.t.get('src')!]) expect(kept).toContain(p);
  });

  it('stops after --max-freed bytes and leaves a consistent store', async () => {
    const a = fresh();
    const results = await ourGc(a.root, { action: 'delete-dead', maxFreed: 1 });
    expect(results.paths.size).toBe(1);
    expect(results.bytesFreed).toBeGreaterThan(1);
    expect(runStatus('nix-store', ['--store', a.root, '--verify', '--check-contents']).status).toBe(0);
    const b = fresh();
    expect((await ourGc(b.root, { action: 'delete-dead', maxFreed: 0 })).paths.size).toBe(0);
  });

  it('--delete refuses live paths, deletes dead ones with their listed referrers, as Nix does', async () => {
    const a = fresh();
    const b = fresh();
    const live = st.t.get('a')!;
    const err = await ourGc(a.root, { action: 'delete-specific', pathsToDelete: [live] }).catch((e) => e);
    expect(err).toBeInstanceOf(GcError);
    expect((err as Error).message).toBe(
      `Cannot delete path '${live}' since it is still alive. To find out why, use: nix-store --query --roots`);
    const theirs = runStatus('nix-store', ['--store', b.root, '--delete', live]);
    expect(theirs.status).toBe(1);
    expect(theirs.stderr).toContain((err as Error).message);
    expect(theirs.stdout).toBe('0 store paths deleted, 0.00 MiB freed\n');

    // solo's output refers to nothing dead that is unlisted: deleting it and its .drv works.
    const targets = [st.solo.outputs.get('out')!, st.solo.drv];
    const results = await ourGc(a.root, { action: 'delete-specific', pathsToDelete: targets });
    const theirs2 = runStatus('nix-store', ['--store', b.root, '--delete', ...targets]);
    expect(theirs2.status).toBe(0);
    expect(formatFreed(results)).toBe(theirs2.stdout);
    expect(validPaths(a)).toEqual(validPaths(b));

    // A dead .drv whose (dead) output keeps it alive under keep-derivations stays when only the .drv is listed.
    const err2 = await ourGc(a.root, { action: 'delete-specific', pathsToDelete: [st.partial.drv] }).catch((e) => e);
    const theirs3 = runStatus('nix-store', ['--store', b.root, '--delete', st.partial.drv]);
    expect(err2 instanceof GcError).toBe(theirs3.status !== 0);
    expect(validPaths(a)).toEqual(validPaths(b));

    // --ignore-liveness deletes a rooted path that nothing refers to.
    const rootedNoReferrers = st.t.get('c')!;
    const r4 = await ourGc(a.root, { action: 'delete-specific', pathsToDelete: [rootedNoReferrers], ignoreLiveness: true });
    const theirs4 = runStatus('nix-store', ['--store', b.root, '--delete', '--ignore-liveness', rootedNoReferrers]);
    expect(theirs4.status).toBe(0);
    expect(formatFreed(r4)).toBe(theirs4.stdout);
    expect(validPaths(a)).toEqual(validPaths(b));
    expect(storeEntries(a)).toEqual(storeEntries(b));
  });

  it('frees the reserved space first and removes .links entries nobody uses', async () => {
    const a = fresh();
    const reserved = path.join(a.stateDir, 'db', 'reserved');
    fs.writeFileSync(reserved, 'x'.repeat(1000));
    fs.mkdirSync(path.join(a.realStoreDir, '.links'), { recursive: true });
    const orphan = path.join(a.realStoreDir, '.links', '0'.repeat(52));
    fs.writeFileSync(orphan, 'nobody links here');
    const store = openStore(a.root);
    // Opening the store recreates the reserved file; the collection frees it.
    expect(fs.existsSync(reserved)).toBe(true);
    try {
      await collectGarbage(store, { action: 'delete-dead', keep: DEFAULT_KEEP }, () => {});
    } finally {
      store.close();
    }
    expect(fs.existsSync(reserved)).toBe(false);
    expect(fs.existsSync(orphan)).toBe(false);
  });
});

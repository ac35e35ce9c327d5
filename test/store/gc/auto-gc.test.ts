// min-free / max-free: a collection runs only when free space is below
// min-free, and frees about max-free minus what is available.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalStore } from '../../../src/store/local/local-store.js';
import { resolveStoreConfig } from '../../../src/store/local/store-config.js';
import { Settings } from '../../../src/cli/settings.js';
import { autoCollectIfNeeded, availableBytes } from '../../../src/store/gc/auto-gc.js';
import { removeTree, tempDir } from './fixtures.js';

describe('automatic collection', () => {
  const work = tempDir();
  afterAll(() => removeTree(work));

  function storeWithGarbage(name: string): LocalStore {
    const cfg = resolveStoreConfig({ uri: path.join(work, name), env: {} });
    if (cfg.kind !== 'local') throw new Error('expected a local store');
    const setup = LocalStore.open(cfg);
    for (let i = 0; i < 20; i++) setup.addTextToStore(`g${i}`, 'x'.repeat(10_000) + i, []);
    setup.close();
    return LocalStore.open(cfg);
  }

  it('reads the real free space of the store\'s file system', () => {
    expect(availableBytes(work, {})).toBeGreaterThan(0);
  });

  it('does nothing above min-free, and collects up to max-free below it', async () => {
    const store = storeWithGarbage('s1');
    const freeFile = path.join(work, 'free');
    const env = { _NIX_TEST_FREE_SPACE_FILE: freeFile };
    const settings = new Settings();
    const log: string[] = [];
    try {
      expect(await autoCollectIfNeeded(store, settings, (m) => log.push(m), env)).toBeUndefined();
      settings.set('min-free', '1M');
      settings.set('max-free', '1000030');
      fs.writeFileSync(freeFile, '2000000');
      expect(await autoCollectIfNeeded(store, settings, (m) => log.push(m), env)).toBeUndefined();
      fs.writeFileSync(freeFile, '1000000');
      const r = await autoCollectIfNeeded(store, settings, (m) => log.push(m), env);
      expect(log).toContain('running auto-GC to free 30 bytes');
      // Stops as soon as more than 30 bytes are freed: one 10 KB path.
      expect(r!.paths.size).toBe(1);
      fs.writeFileSync(freeFile, '0');
      settings.set('max-free', '100M');
      const all = await autoCollectIfNeeded(store, settings, () => {}, env);
      expect(all!.paths.size).toBe(19);
    } finally {
      store.close();
    }
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveStoreConfig, splitUriAndParams } from '../../../src/store/local/store-config.js';
import { tempDir } from './helpers.js';

describe('store URI resolution', () => {
  it('a directory argument is a chroot store with the logical /nix/store', () => {
    const cfg = resolveStoreConfig({ uri: '/tmp/x', env: {} });
    expect(cfg).toMatchObject({
      kind: 'local',
      storeDir: '/nix/store',
      realStoreDir: '/tmp/x/nix/store',
      stateDir: '/tmp/x/nix/var/nix',
      logDir: '/tmp/x/nix/var/log/nix',
      rootDir: '/tmp/x',
    });
  });

  it('local?root=DIR is the same chroot store, and a relative directory is resolved against cwd', () => {
    expect(resolveStoreConfig({ uri: 'local?root=/tmp/y', env: {} })).toMatchObject({ realStoreDir: '/tmp/y/nix/store' });
    expect(resolveStoreConfig({ uri: './rel', env: {}, cwd: '/home/someone' })).toMatchObject({ rootDir: '/home/someone/rel' });
  });

  it('state, real and store parameters override the derived directories', () => {
    const cfg = resolveStoreConfig({ uri: 'local?store=/my/store&state=/my/state&real=/disk/store', env: {} });
    expect(cfg).toMatchObject({ storeDir: '/my/store', stateDir: '/my/state', realStoreDir: '/disk/store' });
  });

  it('NIX_STORE_DIR and NIX_STATE_DIR set the plain local store', () => {
    const cfg = resolveStoreConfig({ uri: 'local', env: { NIX_STORE_DIR: '/s/store', NIX_STATE_DIR: '/s/state' } });
    expect(cfg).toMatchObject({ storeDir: '/s/store', realStoreDir: '/s/store', stateDir: '/s/state' });
  });

  it('NIX_REMOTE is used when no store is given; dummy:// computes paths only', () => {
    expect(resolveStoreConfig({ env: { NIX_REMOTE: 'dummy://' } })).toEqual({ kind: 'dummy', storeDir: '/nix/store' });
    expect(resolveStoreConfig({ env: { NIX_REMOTE: '/tmp/z' } })).toMatchObject({ rootDir: '/tmp/z' });
  });

  it('auto uses the default store when its state directory is writable', () => {
    const state = tempDir();
    const cfg = resolveStoreConfig({ uri: 'auto', env: { NIX_STATE_DIR: state } });
    expect(cfg).toMatchObject({ kind: 'local', stateDir: state, storeDir: '/nix/store' });
    expect(cfg).not.toHaveProperty('rootDir');
  });

  it('auto falls back to a chroot store under the XDG data directory for unprivileged users', () => {
    const home = tempDir();
    const env = { XDG_DATA_HOME: path.join(home, 'data'), HOME: home };
    const cfg = resolveStoreConfig({ uri: 'auto', env, isRoot: false, defaultStateDir: '/nonexistent/nix/var/nix' });
    expect(cfg).toMatchObject({ kind: 'local', storeDir: '/nix/store', rootDir: path.join(home, 'data', 'nix', 'root') });
    expect(cfg.kind === 'local' && cfg.realStoreDir).toBe(path.join(home, 'data', 'nix', 'root', 'nix', 'store'));
    expect(fs.existsSync(path.join(home, 'data', 'nix', 'root'))).toBe(true);
    expect(cfg.kind === 'local' && cfg.chrootNotice?.created).toBe(true);
    // Without XDG_DATA_HOME: ~/.local/share/nix/root, and no "created" warning the second time.
    const again = resolveStoreConfig({ uri: 'auto', env: { HOME: home }, isRoot: false, defaultStateDir: '/nonexistent/nix/var/nix' });
    expect(again).toMatchObject({ rootDir: path.join(home, '.local', 'share', 'nix', 'root') });
    const third = resolveStoreConfig({ uri: 'auto', env: { HOME: home }, isRoot: false, defaultStateDir: '/nonexistent/nix/var/nix' });
    expect(third.kind === 'local' && third.chrootNotice?.created).toBe(false);
  });

  it('never falls back for root or when NIX_STATE_DIR is set explicitly', () => {
    const env = { NIX_STATE_DIR: '/nonexistent/state', HOME: '/nonexistent' };
    expect(resolveStoreConfig({ uri: 'auto', env, isRoot: false })).toMatchObject({ stateDir: '/nonexistent/state' });
    expect(resolveStoreConfig({ uri: 'auto', env: { HOME: '/nonexistent' }, isRoot: true, defaultStateDir: '/nonexistent/nix/var/nix' }))
      .not.toHaveProperty('rootDir');
  });

  it('rejects what it cannot open with Nix\'s message', () => {
    expect(() => resolveStoreConfig({ uri: 'bogus', env: {} })).toThrow("don't know how to open Nix store 'bogus'");
  });

  it('decodes query parameters and warns about unknown ones', () => {
    expect(splitUriAndParams('local?root=%2Ftmp%2Fa&x=1')).toEqual({ base: 'local', params: { root: '/tmp/a', x: '1' } });
    const cfg = resolveStoreConfig({ uri: 'local?root=/tmp/a&frob=1', env: {} });
    expect(cfg.kind === 'local' && cfg.warnings).toEqual(["unknown setting 'frob'"]);
  });
});

// Shared helpers for the local store tests: temporary stores (never /nix)
// and running the reference nix-store against a chroot store.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { main } from '../../../src/commands/store.js';
import { Settings } from '../../../src/cli/settings.js';
import { afterAll } from 'vitest';
import { LocalStore } from '../../../src/store/local/local-store.js';
import { deleteTree } from '../../../src/store/fs-tree.js';
import { resolveStoreConfig, type LocalStoreConfig } from '../../../src/store/local/store-config.js';
import { Capture } from '../../command-output.js';

const created: string[] = [];

/** A fresh temporary directory, removed after the test file (stores hold 8 MiB of reserved space each). */
export function tempDir(prefix = 'tsnix-store-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  created.push(dir);
  return dir;
}

afterAll(() => {
  // Store contents are read-only; deleteTree makes directories writable first.
  for (const dir of created.splice(0)) deleteTree(dir);
});

export function chrootConfig(root: string): LocalStoreConfig {
  const cfg = resolveStoreConfig({ uri: root, env: {} });
  if (cfg.kind !== 'local') throw new Error('expected a local store');
  return cfg;
}

export function openChrootStore(root: string): LocalStore {
  return LocalStore.open(chrootConfig(root));
}

export interface RefResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs the reference nix-store with `--store root`. */
export function refNixStore(root: string, args: string[], input?: Buffer | string): RefResult {
  const r = spawnSync('nix-store', ['--store', root, ...args], {
    input: typeof input === 'string' ? Buffer.from(input) : input,
    encoding: 'buffer',
    env: { ...process.env, NIX_REMOTE: '', NIX_CONF_DIR: '/etc/nix' },
  });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8') };
}

/** Makes a small source tree: a file, an executable in a subdirectory, a symlink. */
export function makeSourceTree(dir: string): string {
  fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'a.txt'), 'some text\n');
  fs.writeFileSync(path.join(dir, 'sub', 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
  fs.symlinkSync('a.txt', path.join(dir, 'link'));
  return dir;
}

/** Runs our nix-store; returns what Nix would show: stdout, and `error: ...` lines plus other stderr. */
export async function ours(root: string, args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const stdout = new Capture();
  const stderr = new Capture();
  let status: number;
  try {
    status = await main(['--store', root, ...args], { programName: 'nix-store', settings: new Settings(), stdout, stderr });
  } catch (e) {
    const msg = (e as Error).message;
    stderr.text += e instanceof Error && e.constructor.name === 'UsageError'
      ? `error: ${msg}\nTry 'nix-store --help' for more information.\n`
      : msg === '' ? '' : `error: ${msg}\n`;
    status = (e as { status?: number }).status ?? 1;
  }
  return { status, stdout: stdout.text, stderr: stderr.text };
}

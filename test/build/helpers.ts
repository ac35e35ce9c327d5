// Shared helpers for the build tests: temporary chroot stores (never /nix),
// derivations instantiated by the reference nix-instantiate into them, and
// realising with collected messages.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { main as nixBuildMain } from '../../src/commands/build.js';
import { LocalStore } from '../../src/store/local/local-store.js';
import { resolveStoreConfig } from '../../src/store/local/store-config.js';
import { Settings } from '../../src/cli/settings.js';
import { realisePaths, type BuildTarget } from '../../src/build/realise.js';
import { Capture } from '../command-output.js';

export function tempDir(prefix = 'tsnix-build-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function openChrootStore(root: string): LocalStore {
  return openLocalStore(root);
}

/** A store under `base` whose logical and physical directories coincide, as builds without the sandbox need. */
export function hostStoreUri(base: string): string {
  return `local?store=${base}/store&state=${base}/state&log=${base}/log`;
}

export function openLocalStore(uri: string): LocalStore {
  const cfg = resolveStoreConfig({ uri, env: {} });
  if (cfg.kind !== 'local') throw new Error('expected a local store');
  return LocalStore.open(cfg);
}

/** Host directories the test derivations take from the host for /bin/sh and coreutils. */
export const HOST_DEPS = '[ "/bin" "/usr" "/lib" "/lib64" ]';

/** Instantiates `expr` (a Nix expression) with the reference Nix into the chroot store; returns the .drv paths. */
export function refInstantiate(root: string, expr: string, attrs: string[] = []): string[] {
  const args = ['--store', root, '-E', expr, ...attrs.flatMap((a) => ['-A', a])];
  const r = spawnSync('nix-instantiate', args, { encoding: 'utf8', env: { ...process.env, NIX_REMOTE: '', NIX_CONF_DIR: '/etc/nix' } });
  if (r.status !== 0) throw new Error(`nix-instantiate failed: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l !== '').map((l) => l.replace(/!.*$/, ''));
}

export function settingsWith(values: Record<string, string>): Settings {
  const s = new Settings();
  for (const [k, v] of Object.entries(values)) s.set(k, v);
  return s;
}

export interface Collected {
  messages: string[];
  /** Errors shown while building (dependencies' failures). */
  reported: string[];
  logs: Map<string, string>;
}

export async function realise(store: LocalStore, targets: BuildTarget[], values: Record<string, string> = {}, extra: { check?: boolean; noBuildOutput?: boolean } = {}) {
  const collected: Collected = { messages: [], reported: [], logs: new Map() };
  const result = await realisePaths(store, targets, {
    settings: settingsWith(values),
    events: {
      message: (l) => collected.messages.push(l),
      error: (m) => collected.reported.push(m),
      buildLog: (drv, chunk) => collected.logs.set(drv, (collected.logs.get(drv) ?? '') + chunk.toString()),
    },
    check: extra.check,
    noBuildOutput: extra.noBuildOutput,
  });
  return { ...result, ...collected };
}

export function drvTarget(drvPath: string, outputs: string[] = []): BuildTarget {
  return { drvPath, outputs: new Set(outputs) };
}

/** A Nix expression building derivations with /bin/sh from the host. */
export function mkDrvExpr(body: string): string {
  return `let mk = name: script: extra: derivation ({ inherit name; system = builtins.currentSystem; builder = "/bin/sh"; args = [ "-c" script ]; __impureHostDeps = ${HOST_DEPS}; PATH = "/bin"; } // extra); in ${body}`;
}

/** Runs tsnix's nix-build in-process; returns its exit status and output as the user would see it. */
export async function nixBuild(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const stdout = new Capture();
  const stderr = new Capture();
  let status: number;
  try {
    status = await nixBuildMain(args, { programName: 'nix-build', settings: new Settings(), stdout, stderr });
  } catch (e) {
    stderr.text += `error: ${(e as Error).message}\n`;
    status = (e as { status?: number }).status ?? 1;
  }
  return { status, stdout: stdout.text, stderr: stderr.text };
}

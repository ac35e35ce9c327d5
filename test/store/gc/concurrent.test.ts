// Builders and collections at the same time, repeatedly: writer processes
// keep re-adding dependencies that are garbage (so the collector is busy
// deleting exactly what they are about to use) and register outputs
// referring to them; the collector runs in a loop meanwhile. Nothing a
// writer relied on may disappear: every writer finishes without error, and
// afterwards every rooted output and its dependency are valid and intact.

import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { buildSync } from 'esbuild';
import { LocalStore } from '../../../src/store/local/local-store.js';
import { resolveStoreConfig } from '../../../src/store/local/store-config.js';
import { collectGarbage } from '../../../src/store/gc/collect.js';
import { haveNix, removeTree, runStatus, tempDir } from './fixtures.js';

const repo = path.resolve(import.meta.dirname, '../../..');
const bundleDir = path.join(repo, 'node_modules', '.tsnix-test');

function bundleWriter(): string {
  fs.mkdirSync(bundleDir, { recursive: true });
  const outfile = path.join(bundleDir, `concurrent-writer-${process.pid}.mjs`);
  buildSync({
    entryPoints: [path.join(import.meta.dirname, 'concurrent-writer.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    external: ['better-sqlite3'],
    logLevel: 'silent',
  });
  return outfile;
}

function openStore(root: string): LocalStore {
  const cfg = resolveStoreConfig({ uri: root, env: {} });
  if (cfg.kind !== 'local') throw new Error('expected a local store');
  return LocalStore.open(cfg);
}

function runWriter(script: string, root: string, rounds: number, deps: number, tag: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, root, String(rounds), String(deps), tag], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('concurrent builds and collections', () => {
  const work = tempDir();
  let script: string | undefined;
  afterAll(() => {
    removeTree(work);
    if (script) fs.rmSync(script, { force: true });
  });

  it('lose nothing live, over repeated collections', async () => {
    script = bundleWriter();
    const root = path.join(work, 'store');
    const deps = 40;
    // The dependencies exist but nothing roots them: every collection wants them gone.
    const setup = openStore(root);
    for (let i = 0; i < deps; i++) setup.addTextToStore(`dep-${i}`, `dependency ${i}\n`, []);
    setup.close();

    const writers = [0, 1, 2].map((k) => runWriter(script!, root, 25, deps, `w${k}`));
    let running = true;
    const finished = Promise.all(writers).finally(() => {
      running = false;
    });
    let collections = 0;
    let deleted = 0;
    const gcStore = openStore(root);
    try {
      while (running) {
        const r = await collectGarbage(gcStore, {
          action: 'delete-dead', keep: { keepDerivations: true, keepOutputs: false }, batchSize: 2,
        }, () => {});
        collections++;
        deleted += r.paths.size;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    } finally {
      gcStore.close();
    }
    const results = await finished;
    for (const r of results) {
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
    expect(collections).toBeGreaterThan(2);
    expect(deleted).toBeGreaterThan(0);

    // Every output each writer reported, and the input it used, is still there and intact.
    const check = openStore(root);
    try {
      const lines = results.flatMap((r) => r.stdout.trim().split('\n'));
      expect(lines.length).toBe(75);
      for (const line of lines) {
        const [out, dep] = line.split(' ') as [string, string];
        expect(check.isValidPath(out)).toBe(true);
        expect(check.isValidPath(dep)).toBe(true);
        expect(check.queryPathInfo(out)!.references).toEqual([dep]);
        expect(fs.readFileSync(check.toRealPath(out), 'utf8')).toBe(`built from ${dep}\n`);
        expect(fs.existsSync(check.toRealPath(dep))).toBe(true);
      }
    } finally {
      check.close();
    }
    if (haveNix) {
      const verify = runStatus('nix-store', ['--store', root, '--verify', '--check-contents']);
      expect(verify.status).toBe(0);
      expect(verify.stderr).not.toMatch(/error/);
    }
  }, 240_000);
});

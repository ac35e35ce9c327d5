// The roots socket speaks Nix 2.8's protocol both ways: a real nix-store
// adding a path while tsnix's collector holds the GC lock sends its
// temporary root to tsnix's socket, and tsnix's client reaches a collector
// whose socket path is too long for a Unix socket address.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { buildSync } from 'esbuild';
import { GcLock } from '../../../src/store/gc/gc-lock.js';
import { RootsServer, rootsSocketPath } from '../../../src/store/gc/collector-socket.js';
import { haveNix, removeTree, tempDir } from './fixtures.js';

const repo = path.resolve(import.meta.dirname, '../../..');

function runChild(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('the roots socket', () => {
  const work = tempDir();
  const bundles: string[] = [];
  afterAll(() => {
    removeTree(work);
    for (const b of bundles) fs.rmSync(b, { force: true });
  });

  it.runIf(haveNix)('receives the temporary roots of a real nix-store while the GC lock is held', async () => {
    const root = path.join(work, 'nixstore');
    const stateDir = path.join(root, 'nix', 'var', 'nix');
    fs.mkdirSync(stateDir, { recursive: true });
    const received: string[] = [];
    const lock = GcLock.acquire(stateDir);
    const server = await RootsServer.start(stateDir, '/nix/store', (_h, p) => received.push(p), () => {});
    try {
      const file = path.join(work, 'added.txt');
      fs.writeFileSync(file, 'added while collecting\n');
      const r = await runChild('nix-store', ['--store', root, '--add', file],
        { ...process.env, NIX_REMOTE: '', NIX_CONF_DIR: '/etc/nix', NIX_CONFIG: '' });
      expect(r.code).toBe(0);
      expect(received).toContain(r.stdout.trim());
    } finally {
      await server.stop();
      lock.release();
    }
    expect(fs.existsSync(rootsSocketPath(stateDir))).toBe(false);
  });

  it('reaches a collector whose socket path is longer than a socket address allows', async () => {
    const stateDir = path.join(work, 'a'.repeat(60), 'b'.repeat(60), 'state');
    fs.mkdirSync(stateDir, { recursive: true });
    expect(Buffer.byteLength(rootsSocketPath(stateDir))).toBeGreaterThan(108);
    const outfile = path.join(repo, 'node_modules', '.tsnix-test', `announce-${process.pid}.mjs`);
    bundles.push(outfile);
    buildSync({
      stdin: {
        contents: `import { announceTempRoot } from './src/store/gc/collector-socket.js';
          announceTempRoot(process.argv[2], process.argv[3]); process.stdout.write('announced\\n');`,
        resolveDir: repo, loader: 'ts', sourcefile: 'announce.ts',
      },
      bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile, external: ['better-sqlite3'], logLevel: 'silent',
    });
    const storePath = `/nix/store/${'1'.repeat(32)}-announced`;
    const received: string[] = [];
    const lock = GcLock.acquire(stateDir);
    const server = await RootsServer.start(stateDir, '/nix/store', (_h, p) => received.push(p), () => {});
    try {
      const r = await runChild(process.execPath, [outfile, stateDir, storePath]);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('announced\n');
      expect(received).toEqual([storePath]);
    } finally {
      await server.stop();
      lock.release();
    }
    // The short alias does not outlive the collector.
    expect(fs.readdirSync(os.tmpdir()).filter((n) => /^tsnix-gc-[0-9a-f]{16}$/.test(n) &&
      fs.readlinkSync(path.join(os.tmpdir(), n)) === path.dirname(rootsSocketPath(stateDir)))).toEqual([]);
    // Without a collector the announcement returns at once.
    const t0 = Date.now();
    const r2 = await runChild(process.execPath, [outfile, stateDir, storePath]);
    expect(r2.stdout).toBe('announced\n');
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});

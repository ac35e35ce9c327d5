// nix-store's binary operations through real pipes, as scripts use them:
// large dumps and exports must survive non-blocking stdout, and imports and
// restores read stdin to the end of the archive.

import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { buildFixture, fixtureEnv } from './child.js';
import { makeSourceTree, refNixStore, tempDir } from './helpers.js';

function ourNixStore(args: string[], input?: Buffer): { status: number | null; stdout: Buffer; stderr: string } {
  const r = spawnSync(process.execPath, [buildFixture('nix-store-main'), ...args], { env: fixtureEnv(), input, maxBuffer: 1 << 30 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

describe('nix-store through pipes', () => {
  const big = path.join(tempDir(), 'big');
  fs.writeFileSync(big, Buffer.alloc(20 * 1024 * 1024, 7));

  it('--dump of a large file equals the reference, and --restore reads it back', () => {
    const ours = ourNixStore(['--dump', big]);
    expect(ours.status).toBe(0);
    const ref = spawnSync('nix-store', ['--dump', big], { maxBuffer: 1 << 30 }).stdout;
    expect(ours.stdout.equals(ref)).toBe(true);
    const target = path.join(tempDir(), 'restored');
    expect(ourNixStore(['--restore', target], ref).status).toBe(0);
    expect(fs.readFileSync(target).equals(fs.readFileSync(big))).toBe(true);
    const again = ourNixStore(['--restore', target], ref);
    expect(again.status).toBe(1);
    expect(again.stderr).toBe(`error: creating file '${target}': File exists\n`);
  });

  it('--export of a large path equals the reference, and --import of it prints the path', () => {
    const root = tempDir();
    const p = refNixStore(root, ['--add', big]).stdout.trim();
    const ours = ourNixStore(['--store', root, '--export', p]);
    const ref = spawnSync('nix-store', ['--store', root, '--export', p], { maxBuffer: 1 << 30 }).stdout;
    expect(ours.stdout.equals(ref)).toBe(true);
    const other = tempDir();
    const imported = ourNixStore(['--store', other, '--import'], ref);
    expect(imported.stderr + imported.stdout.toString()).toBe(`${p}\n`);
    expect(refNixStore(other, ['--verify', '--check-contents']).status).toBe(0);
  });

  it('--add prints the path the reference prints', () => {
    const src = makeSourceTree(path.join(tempDir(), 'src'));
    const ours = ourNixStore(['--store', tempDir(), '--add', src]);
    expect(ours.stdout.toString()).toBe(refNixStore(tempDir(), ['--add', src]).stdout);
  });
});

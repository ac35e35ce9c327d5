// min-free / max-free: a build on a store short of space collects garbage
// first (the free space is faked through Nix's own test hook).
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { mkDrvExpr, tempDir } from './helpers.js';

const repoRoot = path.resolve(__dirname, '../..');

describe('auto-GC before builds', () => {
  it('collects dead paths when free space is below min-free, and not otherwise', () => {
    const root = tempDir();
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: root, NIX_CONF_DIR: root, NIX_USER_CONF_FILES: '' };
    const run = (prog: string, args: string[], extra: Record<string, string> = {}) =>
      spawnSync(path.join(repoRoot, 'bin', prog), ['--store', root, ...args], { env: { ...env, ...extra }, encoding: 'utf8' });
    fs.writeFileSync(path.join(root, 'junk'), 'dead weight\n');
    const dead = run('nix-store', ['--add', path.join(root, 'junk')]).stdout.trim();
    const free = path.join(root, 'free');
    const exprFile = path.join(root, 'x.nix');

    // Plenty of space: nothing is collected.
    fs.writeFileSync(free, String(10 * 1024 ** 3));
    fs.writeFileSync(exprFile, mkDrvExpr('mk "first" "echo 1 > $out" { }'));
    const quiet = run('nix-build', ['--no-out-link', '--option', 'min-free', '1G', '--option', 'max-free', '2G', exprFile], { _NIX_TEST_FREE_SPACE_FILE: free });
    expect(quiet.status).toBe(0);
    expect(quiet.stderr).not.toContain('auto-GC');
    expect(run('nix-store', ['--check-validity', dead]).status).toBe(0);

    // Short of space: the dead path goes before the build.
    fs.writeFileSync(free, '1000');
    fs.writeFileSync(exprFile, mkDrvExpr('mk "second" "echo 2 > $out" { }'));
    const r = run('nix-build', ['--no-out-link', '--option', 'min-free', '1G', '--option', 'max-free', '2G', exprFile], { _NIX_TEST_FREE_SPACE_FILE: free });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('running auto-GC to free');
    expect(run('nix-store', ['--check-validity', dead]).status).not.toBe(0);
  }, 60_000);
});

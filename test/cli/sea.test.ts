// The single executable (scripts/build-sea.mjs) offers the same commands:
// built once here, then run under its Nix names, including the parts that
// need its embedded assets (corepkgs for derivations, the SQLite addon).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './run-cli.js';

const out = join(repoRoot, 'build-sea');
const home = mkdtempSync(join(tmpdir(), 'tsnix-sea-'));
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, XDG_CACHE_HOME: join(home, 'cache'), NIX_CONF_DIR: home, NIX_USER_CONF_FILES: '' };

function run(name: string, args: string[], extraEnv: Record<string, string> = {}) {
  return spawnSync(join(out, name), args, { encoding: 'utf8', env: { ...env, ...extraEnv } });
}

describe('single executable', () => {
  beforeAll(() => {
    execFileSync(process.execPath, [join(repoRoot, 'scripts', 'build-sea.mjs')], { cwd: repoRoot, stdio: 'pipe' });
  }, 180_000);

  it('evaluates under the name nix-instantiate', () => {
    const r = run('nix-instantiate', ['--eval', '--strict', '-E', 'map (x: x * 2) [ 1 2 3 ]'], { NIX_REMOTE: 'dummy://' });
    expect(r.stdout).toBe('[ 2 4 6 ]\n');
    expect(r.status).toBe(0);
  });

  it('computes derivation paths with its embedded corepkgs', () => {
    const expr = 'derivation { name = "x"; system = "x86_64-linux"; builder = "/bin/sh"; }';
    const r = run('nix-instantiate', ['--eval', '-E', `(${expr}).drvPath`], { NIX_REMOTE: 'dummy://' });
    const ref = spawnSync(join(repoRoot, 'bin', 'nix-instantiate'), ['--eval', '-E', `(${expr}).drvPath`], { encoding: 'utf8', env: { ...env, NIX_REMOTE: 'dummy://' } });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(ref.stdout);
  });

  it('adds to a chroot store through its embedded SQLite addon', () => {
    const file = join(home, 'hello.txt');
    writeFileSync(file, 'hello\n');
    const store = join(home, 'store-root');
    const added = run('nix-store', ['--store', store, '--add', file]);
    expect(added.status).toBe(0);
    expect(added.stdout).toMatch(/^\/nix\/store\/[0-9a-z]{32}-hello\.txt\n$/);
    const valid = run('nix-store', ['--store', store, '--check-validity', added.stdout.trim()]);
    expect(valid.status).toBe(0);
  });

  it('builds for an import from derivation by starting itself', () => {
    const store = join(home, 'ifd-root');
    const mk = (name: string, script: string) =>
      `derivation { name = "${name}"; system = builtins.currentSystem; builder = "/bin/sh"; args = [ "-c" ${JSON.stringify(script)} ]; __impureHostDeps = [ "/bin" "/usr" "/lib" "/lib64" ]; PATH = "/bin"; }`;
    const expr = `(import (${mk('gen', "echo '{ n = 6 * 7; }' > $out")})).n`;
    const r = run('nix-instantiate', ['--store', store, '--read-write-mode', '--eval', '-E', expr]);
    expect(r.stderr).toContain('-gen.drv');
    expect(r.stdout).toBe('42\n');
    expect(r.status).toBe(0);
  });

  it('lists its commands when run as tsnix', () => {
    const r = run('tsnix', []);
    expect(r.stdout).toContain('instantiate');
    expect(r.stdout).toContain('nix-store');
  });
});

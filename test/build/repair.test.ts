// Repairing corrupted store paths (Nix's bmRepair): nix-build --repair,
// nix-store --realise --repair, --repair-path and --verify --check-contents
// --repair. With no substituter, a path is repaired by building its
// derivation again; the reference Nix checks the result.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { mkDrvExpr, refInstantiate, tempDir } from './helpers.js';

const bin = (name: string) => path.resolve(__dirname, '../../bin', name);
const HOST = ['--option', 'allowed-impure-host-deps', '/bin /usr /lib /lib64'];

function run(cmd: string, root: string, args: string[]) {
  const r = spawnSync(bin(cmd), ['--store', root, ...HOST, ...args], { encoding: 'utf8', env: { ...process.env, NIX_CONF_DIR: '/etc/nix' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The reference's verdict on the whole store (its contents against the registered hashes). */
function refVerify(root: string): number | null {
  return spawnSync('nix-store', ['--store', root, '--verify', '--check-contents'], { encoding: 'utf8' }).status;
}

function corrupt(root: string, storePath: string, text = 'corrupted\n'): void {
  const real = path.join(root, storePath);
  fs.chmodSync(real, 0o644);
  fs.writeFileSync(real, text);
}

// `dep` is deterministic; `top` refers to it (so dep is in its closure) and
// records when it was built, so a rebuild shows.
const EXPR = mkDrvExpr(`rec { dep = mk "dep" "echo dep > $out" {}; top = mk "top" "echo \${dep} > $out; date +%s%N >> $out" {}; }`);

function setUp() {
  const root = tempDir();
  const [depDrv, topDrv] = refInstantiate(root, EXPR, ['dep', 'top']);
  const built = run('nix-store', root, ['-r', topDrv!, '--no-gc-warning']);
  expect(built.status).toBe(0);
  const top = built.stdout.trim();
  const dep = run('nix-store', root, ['-q', '--outputs', depDrv!]).stdout.trim();
  return { root, depDrv: depDrv!, topDrv: topDrv!, dep, top };
}

describe('repairing store paths', () => {
  it('nix-build --repair rebuilds a corrupted path in the closure of the outputs, and leaves intact outputs alone', async () => {
    const { root, dep, top, topDrv } = setUp();
    const before = fs.readFileSync(path.join(root, top), 'utf8');
    corrupt(root, dep);
    expect(refVerify(root)).toBe(1);
    const file = path.join(tempDir(), 'default.nix');
    fs.writeFileSync(file, EXPR);
    const r = run('nix-build', root, [file, '-A', 'top', '--no-out-link', '--repair']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${top}\n`);
    const depDrv = run('nix-store', root, ['-q', '--deriver', dep]).stdout.trim();
    expect(r.stderr.split('\n').filter((l) => l !== '')).toEqual([
      `checking path '${top}'...`,
      `checking path '${dep}'...`,
      `path '${dep}' is corrupted or missing!`,
      `found corrupted or missing path '${dep}' in the output closure of '${topDrv}'`,
      `repairing outputs of '${depDrv}'...`,
    ]);
    expect(r.stderr).not.toContain(`path '${top}' is corrupted`);
    expect(fs.readFileSync(path.join(root, dep), 'utf8')).toBe('dep\n');
    expect(fs.readFileSync(path.join(root, top), 'utf8')).toBe(before);
    expect(refVerify(root)).toBe(0);
  });

  it('rebuilds a corrupted path once, however many repaired outputs have it in their closure', async () => {
    const root = tempDir();
    const expr = mkDrvExpr(`rec { dep = mk "dep" "echo dep > $out" {}; a = mk "a" "echo \${dep} > $out" {}; b = mk "b" "echo \${dep} > $out" {}; }`);
    const file = path.join(tempDir(), 'default.nix');
    fs.writeFileSync(file, expr);
    expect(run('nix-build', root, [file, '-A', 'a', '-A', 'b', '--no-out-link']).status).toBe(0);
    const [dep] = run('nix-build', root, [file, '-A', 'dep', '--no-out-link']).stdout.split('\n');
    corrupt(root, dep!);
    const r = run('nix-build', root, [file, '-A', 'a', '-A', 'b', '--no-out-link', '--repair']);
    expect(r.status).toBe(0);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('repairing outputs of')).length).toBe(1);
    expect(refVerify(root)).toBe(0);
  });

  it('nix-store --repair-path rebuilds the deriver of a corrupted or missing path; other paths cannot be repaired', () => {
    const { root, top, dep } = setUp();
    corrupt(root, top);
    const r = run('nix-store', root, ['--repair-path', top]);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`path '${top}' is corrupted or missing!`);
    expect(fs.readFileSync(path.join(root, top), 'utf8')).toMatch(new RegExp(`^${dep}\\n\\d+\\n$`));
    fs.rmSync(path.join(root, top));
    expect(run('nix-store', root, ['--repair-path', top]).status).toBe(0);
    expect(refVerify(root)).toBe(0);

    const source = run('nix-store', root, ['--add', path.join(root, top)]).stdout.trim();
    expect(run('nix-store', root, ['--repair-path', source])).toMatchObject({ status: 1, stderr: `error: cannot repair path '${source}'\n` });
    const invalid = '/nix/store/00000000000000000000000000000000-x';
    expect(run('nix-store', root, ['--repair-path', invalid])).toMatchObject({ status: 1, stderr: `error: path '${invalid}' is not valid\n` });
  });

  it('nix-store --verify --check-contents --repair repairs what it finds modified', () => {
    const { root, dep } = setUp();
    corrupt(root, dep);
    const r = run('nix-store', root, ['--verify', '--check-contents', '--repair']);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`path '${dep}' was modified! expected hash '[^']+', got '[^']+'\\n`));
    expect(r.stderr).not.toContain('not all store errors were fixed');
    expect(refVerify(root)).toBe(0);
  });

  it('nix-store -r --repair rebuilds a derivation\'s corrupted outputs; an opaque path needs a substituter', () => {
    const { root, topDrv, top, dep } = setUp();
    corrupt(root, top);
    const r = run('nix-store', root, ['-r', '--repair', topDrv, '--no-gc-warning']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${top}\n`);
    expect(refVerify(root)).toBe(0);
    const opaque = run('nix-store', root, ['-r', '--repair', dep]);
    expect(opaque).toMatchObject({ status: 1, stderr: `error: path '${dep}' is required, but there is no substituter that can build it\n` });
  });
});

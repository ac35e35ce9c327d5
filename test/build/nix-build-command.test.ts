// nix-build as a command, side by side with the reference nix-build on the
// same derivations (each in its own chroot store): printed paths, result
// link names and targets, --dry-run output.

import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { hashString, printHash } from '../../src/store/hash.js';
import { mkDrvExpr, nixBuild, refInstantiate, tempDir } from './helpers.js';
import { repoRoot } from './cli-bundle.js';

const EXAMPLES = path.join(repoRoot, 'examples');
// Nix 2.8 honours __impureHostDeps too, but allows no host path by default.
const SANDBOX_PATHS = ['--option', 'allowed-impure-host-deps', '/bin /usr /lib /lib64 /etc/alternatives'];

function refNixBuild(root: string, cwd: string, args: string[]) {
  const r = spawnSync('nix-build', ['--store', root, ...SANDBOX_PATHS, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NIX_REMOTE: '', NIX_CONF_DIR: '/etc/nix' },
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function links(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of fs.readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (fs.lstatSync(p).isSymbolicLink()) out[name] = fs.readlinkSync(p);
  }
  return out;
}

describe('nix-build', () => {
  const attrs = ['greet.dev', 'greet.bin', 'hello', 'greeter', 'chain', 'greet.out'];
  let ourRoot: string;
  let refRoot: string;
  let ourDrvs: string[];
  let refDrvs: string[];

  beforeAll(() => {
    ourRoot = tempDir();
    refRoot = tempDir();
    const expr = `import ${EXAMPLES} {}`;
    ourDrvs = refInstantiate(ourRoot, expr, attrs);
    refDrvs = refInstantiate(refRoot, expr, attrs);
  });

  it('derivations and output paths are those the reference computes', () => {
    expect(ourDrvs).toEqual(refDrvs);
  });

  it('prints what a dry run would build exactly as the reference does', async () => {
    const args = ['--dry-run', ...ourDrvs.map((d, i) => (attrs[i]!.includes('.') ? `${d}!${attrs[i]!.split('.')[1]}` : d))];
    const ours = await nixBuild(['--store', ourRoot, ...args]);
    const ref = refNixBuild(refRoot, tempDir(), args);
    expect(ref.status).toBe(0);
    expect(ours.status).toBe(0);
    expect(ours.stdout).toBe(ref.stdout);
    expect(ours.stderr).toBe(ref.stderr);
  });

  it('builds the examples, printing the paths and naming result links as Nix does', async () => {
    const args = ourDrvs.map((d, i) => (attrs[i]!.includes('.') ? `${d}!${attrs[i]!.split('.')[1]}` : d));
    const ourDir = tempDir();
    const ours = await nixBuild(['--store', ourRoot, '-j2', '-o', path.join(ourDir, 'result'), ...args]);
    expect(ours.stderr).not.toContain('error');
    expect(ours.status).toBe(0);
    const refDir = tempDir();
    const ref = refNixBuild(refRoot, refDir, args);
    expect(ref.stderr).not.toContain('error');
    expect(ref.status).toBe(0);
    expect(ours.stdout).toBe(ref.stdout);

    const ourLinks = links(ourDir);
    const refLinks = links(refDir);
    // greet (first seen as greet.dev) is derivation 1, hello 2, greeter 3, chain 4; greet.out is `result`.
    expect(Object.keys(ourLinks)).toEqual(['result', 'result-2', 'result-3', 'result-4', 'result-bin', 'result-dev']);
    expect(Object.keys(ourLinks)).toEqual(Object.keys(refLinks));
    // Chroot store: ours point at the physical path of the same store path.
    for (const [name, target] of Object.entries(refLinks)) expect(ourLinks[name]).toBe(path.join(ourRoot, target));

    // Each is an indirect GC root, as Nix registers it.
    for (const name of Object.keys(ourLinks)) {
      const link = path.join(ourDir, name);
      const auto = path.join(ourRoot, 'nix/var/nix/gcroots/auto', printHash(hashString('sha1', link), 'base32'));
      expect(fs.readlinkSync(auto)).toBe(link);
    }

    expect(spawnSync(path.join(ourDir, 'result-2', 'bin', 'hello'), { encoding: 'utf8' }).stdout).toBe('Hello, world!\n');
    expect(spawnSync(path.join(ourDir, 'result-bin', 'bin', 'greet'), ['tests'], { encoding: 'utf8' }).stdout).toBe('Greetings, tests!\n');
    expect(fs.readFileSync(path.join(ourDir, 'result-4'), 'utf8')).toBe('link 1\nlink 2\nlink 3\n');

    // The reference reads the store we wrote, contents included.
    const verify = spawnSync('nix-store', ['--store', ourRoot, '--verify', '--check-contents'], { encoding: 'utf8' });
    expect(verify.status).toBe(0);
    // Same bytes as the reference's builds (the host compiler is deterministic here).
    const outPaths = ours.stdout.trim().split('\n');
    const hashes = (root: string) => spawnSync('nix-store', ['--store', root, '-q', '--hash', ...outPaths], { encoding: 'utf8' }).stdout;
    expect(hashes(ourRoot)).toBe(hashes(refRoot));
    const refsOf = (root: string) => spawnSync('nix-store', ['--store', root, '-q', '--references', outPaths[3]!], { encoding: 'utf8' }).stdout;
    expect(refsOf(ourRoot)).toBe(refsOf(refRoot));
  });

  it('--no-out-link creates no link, unless an -o follows it', async () => {
    const dir = tempDir();
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const r = await nixBuild(['--store', ourRoot, '--no-out-link', ourDrvs[2]!]);
      expect(r.status).toBe(0);
      expect(fs.readdirSync(dir)).toEqual([]);
      // The later of the two wins, as in Nix.
      expect((await nixBuild(['--store', ourRoot, '-o', 'a', '--no-out-link', ourDrvs[2]!])).status).toBe(0);
      expect(fs.readdirSync(dir)).toEqual([]);
      expect((await nixBuild(['--store', ourRoot, '--no-out-link', '-o', 'b', ourDrvs[2]!])).status).toBe(0);
      expect(fs.readdirSync(dir)).toEqual(['b']);
    } finally {
      process.chdir(cwd);
    }
  });

  it('evaluates files, -A, -E and --arg like the reference', async () => {
    const cases = [
      [EXAMPLES, '-A', 'hello', '-A', 'greet.dev'],
      ['-E', `with import ${EXAMPLES} {}; [ chain1 greet.bin ]`],
      [EXAMPLES, '--argstr', 'system', 'x86_64-linux', '-A', 'chain2'],
    ];
    for (const args of cases) {
      const ours = await nixBuild(['--store', ourRoot, '--no-out-link', ...args]);
      expect(ours.status).toBe(0);
      const ref = refNixBuild(refRoot, tempDir(), ['--no-out-link', ...args]);
      expect(ref.status).toBe(0);
      expect(ours.stdout).toBe(ref.stdout);
    }
  });

  it('ends a failed build with the error and the last log lines the reference shows (-Q)', async () => {
    const expr = mkDrvExpr(`mk "many-lines" "i=0; while [ $i -lt 30 ]; do echo line $i; i=$((i+1)); done; exit 4" {}`);
    const [ourDrv] = refInstantiate(ourRoot, expr);
    const [refDrv] = refInstantiate(refRoot, expr);
    const ours = await nixBuild(['--store', ourRoot, '--no-out-link', '-Q', ourDrv!]);
    const ref = refNixBuild(refRoot, tempDir(), ['--no-out-link', '-Q', refDrv!]);
    expect(ref.status).toBe(100);
    expect(ours.status).toBe(100);
    expect(ours.stderr).toContain('last 10 log lines:');
    expect(ours.stderr).toBe(ref.stderr);
  });
});

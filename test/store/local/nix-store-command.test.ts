// nix-store operations run in-process against a chroot store, compared with
// the reference nix-store run on the very same store.

import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openChrootStore, ours, refNixStore, tempDir, makeSourceTree } from './helpers.js';
import { parseValidityRegistrations } from '../../../src/store/query/store-ops.js';
import { hashPath } from '../../../src/store/nar.js';
import { printHash } from '../../../src/store/hash.js';
import { spawnSync } from 'node:child_process';

const NIX_EXPR = `
let a = builtins.toFile "a" "x"; b = builtins.toFile "b" "ref \${a}";
    d = derivation { name = "d"; builder = "/bin/sh"; system = "x86_64-linux"; args = ["-c" "echo > $out"]; };
in derivation { name = "c"; builder = "/bin/sh"; system = "x86_64-linux";
  args = ["-c" "echo \${b} \${d} > $out"]; outputs = ["out" "dev"]; FOO = "it's \\"quoted\\""; }
`;

describe('nix-store queries agree with the reference on a shared store', () => {
  let root: string;
  let drv: string;
  let leaf: string;

  beforeAll(() => {
    root = tempDir();
    const exprFile = path.join(tempDir(), 'g.nix');
    fs.writeFileSync(exprFile, NIX_EXPR);
    const r = spawnSync('nix-instantiate', ['--store', root, exprFile], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    drv = r.stdout.trim();
    leaf = refNixStore(root, ['-qR', drv]).stdout.split('\n')[0]!;
  });

  const cases: [string, () => string[]][] = [
    ['--tree', () => ['-q', '--tree', drv]],
    ['--graph', () => ['-q', '--graph', drv]],
    ['--graphml', () => ['-q', '--graphml', drv]],
    ['--requisites', () => ['-qR', drv]],
    ['--requisites --include-outputs', () => ['-qR', '--include-outputs', drv]],
    ['--references', () => ['-q', '--references', drv]],
    ['--referrers', () => ['-q', '--referrers', leaf]],
    ['--referrers-closure', () => ['-q', '--referrers-closure', leaf]],
    ['--outputs', () => ['-q', '--outputs', drv]],
    ['--hash', () => ['-q', '--hash', drv]],
    ['--size -u of a non-derivation', () => ['-q', '-u', '--size', leaf]],
    ['--deriver', () => ['-q', '--deriver', drv]],
    ['--binding', () => ['-q', '--binding', 'FOO', drv]],
    ['--binding of a missing name', () => ['-q', '--binding', 'NOPE', drv]],
    ['--print-env', () => ['--print-env', drv]],
    ['--dump-db', () => ['--dump-db']],
    ['--resolve', () => ['-q', '--resolve', drv]],
    ['--check-validity of an invalid path', () => ['--check-validity', '/nix/store/00000000000000000000000000000000-x']],
    ['--verify-path', () => ['--verify-path', drv]],
    ['an invalid path', () => ['-q', '--references', '/nix/store/00000000000000000000000000000000-x']],
    ['a path outside the store', () => ['-q', '--references', '/tmp']],
    ['conflicting query flags', () => ['-q', '--hash', '--size', drv]],
    ['an unknown query flag', () => ['-q', '--frob', drv]],
    ['no operation', () => ['--frob']],
    ['two operations', () => ['-q', '--verify']],
    ['--add-fixed without algorithm', () => ['--add-fixed']],
    ['--add-fixed with a bad algorithm', () => ['--add-fixed', 'sha257', drv]],
    ['--print-fixed-path', () => ['--print-fixed-path', '--recursive', 'sha256', '1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s', 'foo']],
  ];
  for (const [name, args] of cases) {
    it(name, async () => {
      const expected = refNixStore(root, args());
      const got = await ours(root, args());
      expect(got).toEqual(expected);
    });
  }

  it('--verify --check-contents is silent on stdout and passes', async () => {
    const expected = refNixStore(root, ['--verify', '--check-contents']);
    expect(await ours(root, ['--verify', '--check-contents'])).toEqual(expected);
  });
});

describe('nix-store changes the store like the reference', () => {
  it('--add and --add-fixed print the same paths', async () => {
    const src = makeSourceTree(path.join(tempDir(), 'src'));
    const file = path.join(src, 'a.txt');
    for (const args of [['--add', src, file], ['--add-fixed', 'sha1', file], ['--add-fixed', '--recursive', 'md5', src]]) {
      const got = await ours(tempDir(), args);
      expect(got).toEqual(refNixStore(tempDir(), args));
    }
  });

  it('--delete refuses live paths and deletes dead ones, printing what Nix prints', async () => {
    const root = tempDir();
    const src = makeSourceTree(path.join(tempDir(), 'src'));
    const p = (await ours(root, ['--add', src])).stdout.trim();
    fs.symlinkSync(p, path.join(root, 'nix/var/nix/gcroots/keep'));
    const refused = await ours(root, ['--delete', p]);
    expect(refused.status).toBe(1);
    expect(refused.stdout).toBe('0 store paths deleted, 0.00 MiB freed\n');
    expect(refused.stderr).toContain(`error: Cannot delete path '${p}' since it is still alive. To find out why, use: nix-store --query --roots`);
    expect((await ours(root, ['-q', '--roots', p])).stdout).toBe(`${path.join(root, 'nix/var/nix/gcroots/keep')} -> ${p}\n`);
    fs.rmSync(path.join(root, 'nix/var/nix/gcroots/keep'));
    const done = await ours(root, ['--delete', p]);
    expect(done.status).toBe(0);
    expect(done.stdout).toMatch(/^1 store paths deleted, 0\.00 MiB freed\n$/);
    expect(done.stderr).toContain(`deleting '${p}'`);
    expect(fs.existsSync(path.join(root, 'nix/store', path.basename(p)))).toBe(false);
    expect(refNixStore(root, ['--verify', '--check-contents']).status).toBe(0);
  });

  it('--realise of a valid path with --add-root makes an indirect GC root', async () => {
    const root = tempDir();
    const src = makeSourceTree(path.join(tempDir(), 'src'));
    const p = (await ours(root, ['--add', src])).stdout.trim();
    const link = path.join(tempDir(), 'result');
    const r = await ours(root, ['-r', p, '--add-root', link, '--indirect']);
    expect(r.stdout).toBe(`${link}\n`);
    expect(fs.readlinkSync(link)).toBe(p);
    // The reference finds the root too.
    expect(refNixStore(root, ['-q', '--roots', p]).stdout).toBe(`${link} -> ${p}\n`);
  });

  it('--load-db registers what --dump-db printed', async () => {
    const root = tempDir();
    const src = makeSourceTree(path.join(tempDir(), 'src'));
    refNixStore(root, ['--add', src]);
    const dump = refNixStore(root, ['--dump-db']).stdout;
    // Drop the database, keep the files, and load it back with ours.
    fs.rmSync(path.join(root, 'nix/var/nix/db'), { recursive: true });
    // --load-db reads fd 0; run it through the library functions the command uses.
    const store = openChrootStore(root);
    store.registerValidPaths(parseValidityRegistrations(dump, true));
    store.close();
    expect(refNixStore(root, ['--dump-db']).stdout).toBe(dump);
    expect(refNixStore(root, ['--verify', '--check-contents']).status).toBe(0);
  });
});

/** A derivation with outputs out and dev, instantiated by the reference into the chroot store `root`. */
function instantiateTwoOutputs(root: string, name: string): string {
  const file = path.join(tempDir(), `${name}.nix`);
  fs.writeFileSync(file, `derivation { name = "${name}"; builder = "/bin/sh"; system = "x86_64-linux";
    args = [ "-c" "echo out > $out; echo dev > $dev" ]; outputs = [ "out" "dev" ];
    __impureHostDeps = [ "/bin" "/lib" "/lib64" "/usr" ]; }`);
  return spawnSync('nix-instantiate', ['--store', root, file], { encoding: 'utf8' }).stdout.trim();
}

describe('nix-store --realise', () => {
  it('builds a derivation, then prints outputs and makes roots exactly as the reference does', async () => {
    const root = tempDir();
    const drv = instantiateTwoOutputs(root, 'two-outputs');
    // -q -f builds first; its answer then matches the reference's.
    const forced = await ours(root, ['-q', '-f', '--size', drv]);
    expect(forced.status).toBe(0);
    expect(forced.stderr).toContain(`building '${drv}'...`);
    expect(forced.stdout).toBe(refNixStore(root, ['-q', '--size', drv]).stdout);
    const built = await ours(root, ['-r', drv, '--no-gc-warning']);
    expect(built.stderr).not.toContain('building');
    expect(built.status).toBe(0);
    const outputs = refNixStore(root, ['-q', '--outputs', drv]).stdout;
    expect(built.stdout).toBe(outputs);
    const links = tempDir();
    const args = ['-r', `${drv}!dev`, drv, '--add-root', path.join(links, 'r')];
    const ourRun = await ours(root, args);
    const refLinks = tempDir();
    const refRun = refNixStore(root, ['-r', `${drv}!dev`, drv, '--add-root', path.join(refLinks, 'r')]);
    expect(ourRun.stdout.replaceAll(links, 'LINKS')).toBe(refRun.stdout.replaceAll(refLinks, 'LINKS'));
    for (const name of fs.readdirSync(refLinks)) expect(fs.readlinkSync(path.join(links, name))).toBe(fs.readlinkSync(path.join(refLinks, name)));
    // The builder registered the outputs with their deriver; queries through DerivationOutputs agree.
    const out = outputs.split('\n')[0]!;
    for (const q of [['-qR', '--include-outputs', drv], ['-q', '--deriver', out], ['-q', '--tree', drv], ['--read-log', drv], ['--read-log', out]]) {
      expect(await ours(root, q)).toEqual(refNixStore(root, q));
    }
    expect(refNixStore(root, ['--verify', '--check-contents']).status).toBe(0);
  });

  it("takes `!*` as every output and fails on an output the derivation lacks, announcing nothing", async () => {
    const root = tempDir();
    const drv = instantiateTwoOutputs(root, 'outs');
    // Through the command (the build's errors go straight to file descriptor 2).
    const cli = path.resolve(__dirname, '../../../bin/nix-store');
    const nope = spawnSync(cli, ['--store', root, '-r', `${drv}!nope`, '--no-gc-warning'], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: root, NIX_CONF_DIR: root, NIX_USER_CONF_FILES: '' } });
    expect(nope.status).toBe(1);
    expect(nope.stderr).toBe(`error: derivation '${drv}' does not have wanted outputs 'nope'\n`);
    const all = await ours(root, ['-r', `${drv}!*`, '--no-gc-warning']);
    expect(all.status).toBe(0);
    expect(all.stdout).toBe(refNixStore(root, ['-q', '--outputs', drv]).stdout);
  });
});

describe('nix-store --help and --version', () => {
  it('answer at once, whatever else the command line holds, as in Nix', async () => {
    const root = tempDir();
    for (const args of [['-q', '--version'], ['--version', '--help'], ['--version', '-q', '-r']]) {
      const r = await ours(root, args);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^nix-store \(Nix\) \d+\.\d+\.\d+\nnix-store is tsnix /);
    }
    // An error before it still counts.
    expect((await ours(root, ['-q', '-r', '--version'])).stderr).toContain('only one operation may be specified');
  });
});

describe('nix-store -q on a path that is not valid', () => {
  it('answers --referrers-closure, --referrers and --roots as the reference does (no validity check)', async () => {
    const root = tempDir();
    refNixStore(root, ['--add', makeSourceTree(path.join(tempDir(), 'src'))]);
    const p = '/nix/store/00000000000000000000000000000000-foo';
    for (const q of ['--referrers-closure', '--referrers', '--roots']) {
      const ref = refNixStore(root, ['-q', q, p]);
      expect(ref.status).toBe(0);
      expect(await ours(root, ['-q', q, p])).toEqual(ref);
    }
  });
});

describe('nix-store --verify on a damaged store', () => {
  it('reports modified and vanished paths exactly as the reference (on two copies of one store)', async () => {
    const refRoot = tempDir();
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'va'), 'a\n');
    fs.writeFileSync(path.join(dir, 'vb'), 'b\n');
    const a = refNixStore(refRoot, ['--add', path.join(dir, 'va')]).stdout.trim();
    const b = refNixStore(refRoot, ['--add', path.join(dir, 'vb')]).stdout.trim();
    const ourRoot = path.join(tempDir(), 'copy');
    fs.cpSync(refRoot, ourRoot, { recursive: true, verbatimSymlinks: true });
    for (const root of [refRoot, ourRoot]) {
      const realA = path.join(root, 'nix/store', path.basename(a));
      fs.chmodSync(realA, 0o644);
      fs.writeFileSync(realA, 'changed\n');
      fs.rmSync(path.join(root, 'nix/store', path.basename(b)));
    }
    expect(await ours(ourRoot, ['--verify-path', a])).toEqual(refNixStore(refRoot, ['--verify-path', a]));
    expect(await ours(ourRoot, ['--verify', '--check-contents'])).toEqual(refNixStore(refRoot, ['--verify', '--check-contents']));
  });
});

describe('nix-store --generate-binary-cache-key', () => {
  it("writes keys the reference signs and verifies with (secret key mode 0600)", async () => {
    const dir = tempDir();
    const sk = path.join(dir, 'sk');
    const pk = path.join(dir, 'pk');
    expect((await ours(tempDir(), ['--generate-binary-cache-key', 'cache-1', sk, pk])).status).toBe(0);
    expect(fs.statSync(sk).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(pk, 'utf8')).toMatch(/^cache-1:[A-Za-z0-9+/]{43}=$/);
    // An input-addressed path (signatures matter only for those).
    const root = tempDir();
    const store = openChrootStore(root);
    const p = '/nix/store/9vdjb7qa2b1k7ymg8n7mvh0n3ncvw1ms-signed';
    fs.writeFileSync(store.toRealPath(p), 'contents');
    const { hash, size } = hashPath('sha256', store.toRealPath(p));
    store.registerValidPaths([{ path: p, narHash: printHash(hash, 'base32', true), narSize: size, references: [] }]);
    store.close();
    const nix = (args: string[]) => spawnSync('nix', ['--extra-experimental-features', 'nix-command', ...args, '--store', root], { encoding: 'utf8' });
    expect(nix(['store', 'sign', '--key-file', sk, p]).status).toBe(0);
    expect(nix(['store', 'verify', '--sigs-needed', '1', '--trusted-public-keys', fs.readFileSync(pk, 'utf8'), p]).status).toBe(0);
    const other = path.join(dir, 'other');
    await ours(tempDir(), ['--generate-binary-cache-key', 'cache-1', path.join(dir, 'sk2'), other]);
    expect(nix(['store', 'verify', '--sigs-needed', '1', '--trusted-public-keys', fs.readFileSync(other, 'utf8'), p]).status).not.toBe(0);
  });
});

// Builds that end badly or run in other configurations: a tsnix killed
// mid-build, no bubblewrap, building without the sandbox, builtin:fetchurl.

import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashString, printHash } from '../../src/store/hash.js';
import type { LocalStore } from '../../src/store/local/local-store.js';
import { bundleNixBuild, repoRoot } from './cli-bundle.js';
import { drvTarget, hostStoreUri, mkDrvExpr, openChrootStore, openLocalStore, realise, refInstantiate, tempDir } from './helpers.js';

function refStore(root: string, args: string[]) {
  const r = spawnSync('nix-store', ['--store', root, ...args], { encoding: 'utf8' });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('a tsnix killed in the middle of a build', () => {
  let bundle: string;
  beforeAll(async () => {
    bundle = await bundleNixBuild();
  });
  afterAll(() => fs.rmSync(bundle, { force: true }));

  for (const sandbox of ['true', 'false']) {
    it(`leaves a store that verifies, with nothing registered (sandbox = ${sandbox})`, async () => {
      // Without the sandbox the store must be a real (non-chroot) one: logical = physical directory.
      const base = tempDir();
      const storeUri = sandbox === 'true' ? path.join(base, 'root')
        : hostStoreUri(base);
      const expr = mkDrvExpr(`mk "slow" "mkdir $out; echo partial > $out/file; echo $$ > /tmp/pid-${sandbox}; echo started; sleep 30; echo never > $out/end" {}`);
      const drv = spawnSync('nix-instantiate', ['--store', storeUri, '-E', expr], { encoding: 'utf8' }).stdout.trim();
      expect(drv).toMatch(/\.drv$/);
      const child = spawn(process.execPath, [bundle, '--store', storeUri, '--option', 'sandbox', sandbox, '--no-out-link', drv], {
        cwd: base,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`build did not start: ${stderr}`)), 20000);
        child.stderr.on('data', (d) => {
          stderr += d.toString();
          if (stderr.includes('started')) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      child.kill('SIGKILL');
      await new Promise((r) => child.on('exit', r));
      await new Promise((r) => setTimeout(r, 500));
      if (sandbox === 'false') {
        // The builder went with tsnix (its spawn helper kills the process group when tsnix dies).
        const pid = Number(fs.readFileSync('/tmp/pid-false', 'utf8'));
        fs.rmSync('/tmp/pid-false');
        // Gone, or a zombie waiting for whatever reaps orphans here.
        let state = 'gone';
        try {
          state = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '')[0]!;
        } catch {
          // no such process
        }
        expect(['gone', 'Z']).toContain(state);
      }

      const store = openLocalStore(storeUri);
      try {
        const out = store.queryDerivationOutputs(drv).get('out')!;
        expect(store.isValidPath(out)).toBe(false);
        const verify = refStore(storeUri, ['--verify', '--check-contents']);
        expect(verify.status).toBe(0);
        expect(refStore(storeUri, ['--check-validity', out]).status).not.toBe(0);
      } finally {
        store.close();
      }
    });
  }
});

describe('an interrupted nix-build (Ctrl-C)', () => {
  let bundle: string;
  beforeAll(async () => {
    bundle = await bundleNixBuild();
  });
  afterAll(() => fs.rmSync(bundle, { force: true }));

  it('kills the build, removes its temporary directories and says so', async () => {
    const base = tempDir();
    const root = path.join(base, 'root');
    const tmp = path.join(base, 'tmp');
    fs.mkdirSync(tmp);
    const drv = spawnSync('nix-instantiate', ['--store', root, '-E', mkDrvExpr(`mk "interrupted" "echo started; sleep 30; echo > $out" {}`)], { encoding: 'utf8' }).stdout.trim();
    const child = spawn(process.execPath, [bundle, '--store', root, '--no-out-link', drv], { cwd: base, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: tmp } });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`build did not start: ${stderr}`)), 20000);
      child.stderr.on('data', () => {
        if (stderr.includes('started')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.kill('SIGINT');
    const status = await new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    expect(status).toBe(1);
    expect(stderr).toContain('error: interrupted by the user\n');
    expect(fs.readdirSync(tmp)).toEqual([]);
    expect(fs.readdirSync(path.join(root, 'nix', 'store')).filter((n) => n.endsWith('.chroot'))).toEqual([]);
    expect(refStore(root, ['--verify', '--check-contents']).status).toBe(0);
  });
});

describe('building without bubblewrap', () => {
  it('says how to install it or turn the sandbox off', async () => {
    const root = tempDir();
    const [drv] = refInstantiate(root, mkDrvExpr(`mk "x" "echo > $out" {}`));
    const store = openChrootStore(root);
    const saved = process.env.TSNIX_BWRAP;
    process.env.TSNIX_BWRAP = '/nonexistent/bwrap';
    try {
      const r = await realise(store, [drvTarget(drv!)]);
      expect(r.status).toBe(1);
      expect(r.errors).toEqual([
        "sandboxed building needs bubblewrap ('bwrap'), which was not found on PATH; install it (e.g. 'apt-get install bubblewrap') " +
          "or turn the sandbox off with '--option sandbox false' (or 'sandbox = false' in nix.conf)",
      ]);
    } finally {
      if (saved === undefined) delete process.env.TSNIX_BWRAP;
      else process.env.TSNIX_BWRAP = saved;
      store.close();
    }
  });
});

describe('building without the sandbox', () => {
  let base: string;
  let store: LocalStore;
  const uri = () => hostStoreUri(base);

  beforeAll(() => {
    base = tempDir();
    store = openLocalStore(uri());
  });
  afterAll(() => store.close());

  it('runs the builder on the host with the build directory as cwd and registers its output', async () => {
    const expr = mkDrvExpr(`mk "nosandbox" "echo $NIX_BUILD_TOP $PWD $HOME > $out; pwd >> $out" {}`);
    const drv = spawnSync('nix-instantiate', ['--store', uri(), '-E', expr], { encoding: 'utf8' }).stdout.trim();
    const r = await realise(store, [drvTarget(drv)], { sandbox: 'false' });
    expect(r.errors).toEqual([]);
    const out = store.queryDerivationOutputs(drv).get('out')!;
    expect(out.startsWith(`${base}/store/`)).toBe(true);
    const [line1, line2] = fs.readFileSync(out, 'utf8').trim().split('\n');
    const [top, pwd, home] = line1!.split(' ');
    expect(top).toMatch(/\/nix-build-nosandbox\.drv-\d+$/);
    expect(pwd).toBe(top);
    expect(line2).toBe(top);
    expect(home).toBe('/homeless-shelter');
    expect(refStore(uri(), ['--verify', '--check-contents']).status).toBe(0);
  });

  it('runs the builder with address space randomization off, as Nix does', async () => {
    const expr = mkDrvExpr(`mk "nosandbox-personality" "/bin/cat /proc/self/personality > $out" {}`);
    const drv = spawnSync('nix-instantiate', ['--store', uri(), '-E', expr], { encoding: 'utf8' }).stdout.trim();
    const r = await realise(store, [drvTarget(drv)], { sandbox: 'false' });
    expect(r.errors).toEqual([]);
    expect(fs.readFileSync(store.queryDerivationOutputs(drv).get('out')!, 'utf8')).toBe('00040000\n');
  });
});

describe('builtin:fetchurl', () => {
  it('fetches a file:// URL into a fixed output, checking its hash', async () => {
    const root = tempDir();
    const src = path.join(tempDir(), 'data.txt');
    fs.writeFileSync(src, 'downloaded contents\n');
    const sha256 = printHash(hashString('sha256', 'downloaded contents\n'), 'base32');
    const expr = `import ${repoRoot}/corepkgs/fetchurl.nix { url = "file://${src}"; sha256 = "${sha256}"; }`;
    const [drv] = refInstantiate(root, expr);
    // Our corepkgs/fetchurl.nix gives the same derivation as Nix's <nix/fetchurl.nix>.
    const [refDrv] = refInstantiate(tempDir(), `import <nix/fetchurl.nix> { url = "file://${src}"; sha256 = "${sha256}"; }`);
    expect(drv).toBe(refDrv);
    const store = openChrootStore(root);
    try {
      const r = await realise(store, [drvTarget(drv!)]);
      expect(r.errors).toEqual([]);
      const out = store.queryDerivationOutputs(drv!).get('out')!;
      expect(fs.readFileSync(store.toRealPath(out), 'utf8')).toBe('downloaded contents\n');
      expect(store.queryPathInfo(out)!.ca).toBe(`fixed:sha256:${sha256}`);
      expect(refStore(root, ['--verify', '--check-contents']).status).toBe(0);
    } finally {
      store.close();
    }
  });

  it("logs a builtin builder's failure as Nix's builder child does: `error: …`", async () => {
    const root = tempDir();
    const [drv] = refInstantiate(root, 'derivation { name = "nope"; system = "builtin"; builder = "builtin:nope"; }');
    const store = openChrootStore(root);
    try {
      const r = await realise(store, [drvTarget(drv!)]);
      expect(r.errors.length).toBe(1);
      expect(r.logs.get(drv!)).toBe("error: unsupported builtin builder 'nope'\n");
    } finally {
      store.close();
    }
  });
});

describe('what a builder started by the command gets', () => {
  it("the stack limit tsnix was given, not the launcher's raised one, sticky /tmp and /dev/shm, and no descriptor tsnix inherited", () => {
    const root = tempDir();
    const file = path.join(root, 'limits.nix');
    // `ls` lists its own directory descriptor (3) too.
    fs.writeFileSync(file, mkDrvExpr('mk "limits" "(ulimit -s; stat -c %a /tmp /dev/shm; ls /proc/self/fd | tr \'\\\\n\' \' \') > $out" { }'));
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: root, NIX_CONF_DIR: root, NIX_USER_CONF_FILES: '' };
    const r = spawnSync('/bin/sh', ['-c', 'exec 7>/dev/null; ulimit -S -s 4096 && exec "$@"', 'sh', path.join(repoRoot, 'bin', 'nix-build'), '--store', root, '--no-out-link', file], { env, encoding: 'utf8' });
    expect(r.stderr).not.toContain('error:');
    expect(fs.readFileSync(path.join(root, r.stdout.trim()), 'utf8')).toBe('4096\n1777\n1777\n0 1 2 3 ');
  });
});

describe('the main-job command as an ordinary user', () => {
  let bundle: string;
  beforeAll(async () => {
    bundle = await bundleNixBuild();
  });
  afterAll(() => fs.rmSync(bundle, { force: true }));

  it('builds examples -A hello in a chroot store under $HOME, and ./result/bin/hello runs', () => {
    const work = tempDir();
    const home = path.join(work, 'home');
    fs.mkdirSync(home);
    fs.chmodSync(work, 0o755);
    // As root, drop to nobody; otherwise we already are an ordinary user.
    const root = process.getuid?.() === 0;
    if (root) spawnSync('chown', ['-R', 'nobody:nogroup', work]);
    fs.chmodSync(bundle, 0o644);
    const asNobody = (cmd: string[]) => spawnSync(root ? 'setpriv' : cmd[0]!, root ? ['--reuid=65534', '--regid=65534', '--clear-groups', ...cmd] : cmd.slice(1), {
      cwd: work,
      encoding: 'utf8',
      env: { HOME: home, PATH: '/usr/bin:/bin' },
    });
    const r = asNobody([process.execPath, bundle, path.join(repoRoot, 'examples'), '-A', 'hello']);
    expect(r.stderr).toContain(`will use '${home}/.local/share/nix/root' as a chroot store`);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^\/nix\/store\/[a-z0-9]{32}-hello-1\.0\n$/);
    expect(fs.readlinkSync(path.join(work, 'result'))).toBe(`${home}/.local/share/nix/root${r.stdout.trim()}`);
    const run = asNobody(['./result/bin/hello']);
    expect(run.stdout).toBe('Hello, world!\n');
  });
});

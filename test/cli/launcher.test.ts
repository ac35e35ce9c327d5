// bin/tsnix runs the start-up bundle through bin/load-bundle.cjs with V8's
// code cache. The cache is an optimisation only: a damaged or stale one must
// never change what tsnix does.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, runCli } from './run-cli.js';

/** A copy of bin/ and the bundle, with node_modules linked, to damage freely. */
function copyOfLauncher(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsnix-launcher-'));
  mkdirSync(join(dir, 'bin'));
  mkdirSync(join(dir, 'dist'));
  copyFileSync(join(repoRoot, 'bin', 'load-bundle.cjs'), join(dir, 'bin', 'load-bundle.cjs'));
  copyFileSync(join(repoRoot, 'dist', 'tsnix.cjs'), join(dir, 'dist', 'tsnix.cjs'));
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

function runLoader(dir: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(dir, 'bin', 'load-bundle.cjs'), ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, NIX_CONF_DIR: dir, NIX_REMOTE: 'dummy://', TSNIX_ARGV0: 'nix-instantiate' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('start-up bundle', () => {
  it('the build leaves a bundle and its code cache, and the launchers run it', () => {
    expect(existsSync(join(repoRoot, 'dist', 'tsnix.cjs'))).toBe(true);
    expect(existsSync(join(repoRoot, 'dist', 'tsnix.cjs.cache'))).toBe(true);
    // Pure ASCII, so V8 keeps the source one byte per character.
    expect(readFileSync(join(repoRoot, 'dist', 'tsnix.cjs')).every((b) => b < 0x80)).toBe(true);
    const r = runCli('nix-instantiate', ['--eval', '--strict', '-E', 'builtins.map (x: x * 2) [ 1 2 3 ]']);
    expect(r).toMatchObject({ status: 0, stdout: '[ 2 4 6 ]\n' });
  });

  it("V8 takes the build's code cache when the launcher starts the bundle", () => {
    // The cache is recorded by a run that matches a regular expression; it
    // must end with the V8 flags the launcher starts node with, or V8
    // refuses the cache at every start-up (≈20 ms each).
    const r = runCli('nix-instantiate', ['--eval', '-E', 'builtins.match "(x+x+)+y" "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"'], { env: { TSNIX_REPORT_CODE_CACHE: '1' } });
    expect(r).toMatchObject({ status: 0, stdout: 'null\n', stderr: 'code cache: accepted\n' });
  });

  it('works without a cache, with a damaged one and with one older than the bundle', () => {
    const dir = copyOfLauncher();
    const expr = ['--eval', '-E', 'let f = n: if n == 0 then 0 else 1 + f (n - 1); in f 100'];
    expect(runLoader(dir, expr)).toMatchObject({ status: 0, stdout: '100\n' });

    const cache = join(dir, 'dist', 'tsnix.cjs.cache');
    writeFileSync(cache, Buffer.alloc(4096, 0x5a));
    expect(runLoader(dir, expr)).toMatchObject({ status: 0, stdout: '100\n' });

    copyFileSync(join(repoRoot, 'dist', 'tsnix.cjs.cache'), cache);
    utimesSync(cache, new Date(1000), new Date(1000));
    expect(runLoader(dir, expr)).toMatchObject({ status: 0, stdout: '100\n' });
  });

  it('loads npm packages on demand inside the bundle (oclif help, the SQLite store)', () => {
    const help = runCli('tsnix', ['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('USAGE');
    const store = mkdtempSync(join(tmpdir(), 'tsnix-launcher-store-'));
    const file = join(store, 'hello.txt');
    writeFileSync(file, 'hello\n');
    const add = runCli('nix-store', ['--store', join(store, 'root'), '--add', file], { env: { NIX_REMOTE: '' } });
    expect(add).toMatchObject({ status: 0, stdout: expect.stringMatching(/^\/nix\/store\/[a-z0-9]{32}-hello\.txt\n$/) });
  });

  it('loads node:crypto only when something is hashed', () => {
    // A preloaded script reports the built-in modules loaded by exit.
    const dir = mkdtempSync(join(tmpdir(), 'tsnix-launcher-modules-'));
    const report = join(dir, 'report.cjs');
    writeFileSync(report, "process.on('exit', () => require('fs').writeSync(2, process.moduleLoadList.join('\\n')));\n");
    const modules = (expr: string): { stdout: string; loaded: string[] } => {
      const r = spawnSync(process.execPath, ['--require', report, join(repoRoot, 'bin', 'load-bundle.cjs'), '--eval', '-E', expr], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, NIX_CONF_DIR: dir, NIX_REMOTE: 'dummy://', TSNIX_ARGV0: 'nix-instantiate' },
      });
      return { stdout: r.stdout, loaded: r.stderr.split('\n') };
    };
    const plain = modules('1 + 1');
    expect(plain.stdout).toBe('2\n');
    expect(plain.loaded).not.toContain('NativeModule crypto');
    // The result goes to fd 1 directly, without Node's stream modules.
    expect(plain.loaded).not.toContain('NativeModule stream');
    const hashed = modules('builtins.hashString "sha256" ""');
    expect(hashed.stdout).toBe('"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"\n');
    expect(hashed.loaded).toContain('NativeModule crypto');
  });

  it('opens the store database only when the evaluation asks the store something', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsnix-launcher-db-'));
    const report = join(dir, 'report.cjs');
    // better-sqlite3 is an npm package: it shows in require's cache once loaded.
    writeFileSync(report, "process.on('exit', () => require('fs').writeSync(2, Object.keys(require.cache).join('\\n')));\n");
    const file = join(dir, 'f.nix');
    // A chroot store with a database to open.
    writeFileSync(file, '1');
    expect(runCli('nix-store', ['--store', join(dir, 'root'), '--add', file], { env: { NIX_REMOTE: '' } }).status).toBe(0);
    const evalFile = (text: string): { stdout: string; sqlite: boolean } => {
      writeFileSync(file, text);
      const r = spawnSync(process.execPath, ['--require', report, join(repoRoot, 'bin', 'load-bundle.cjs'), '--store', join(dir, 'root'), '--eval', file], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, NIX_CONF_DIR: dir, TSNIX_ARGV0: 'nix-instantiate' },
      });
      return { stdout: r.stdout, sqlite: r.stderr.includes('better-sqlite3') };
    };
    expect(evalFile('6 * 7')).toEqual({ stdout: '42\n', sqlite: false });
    expect(evalFile('builtins.pathExists /nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x')).toEqual({ stdout: 'false\n', sqlite: true });
  });

  it('runs through links in its own folder, from another folder, and by a relative name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsnix-launcher-links-'));
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, NIX_CONF_DIR: dir, NIX_REMOTE: 'dummy://' };
    const expr = ['--eval', '-E', '6 * 7'];
    symlinkSync(join(repoRoot, 'bin', 'nix-instantiate'), join(dir, 'nix-instantiate'));
    symlinkSync(join(repoRoot, 'bin', 'tsnix'), join(dir, 'tsnix-link'));
    for (const [cmd, args, cwd] of [
      [join(repoRoot, 'bin', 'nix-instantiate'), expr, dir],
      [join(dir, 'nix-instantiate'), expr, dir],
      [join(dir, 'tsnix-link'), ['instantiate', ...expr], dir],
      ['sh', ['tsnix', 'instantiate', ...expr], join(repoRoot, 'bin')],
    ] as const) {
      const r = spawnSync(cmd, [...args], { encoding: 'utf8', cwd, env });
      expect({ cmd, status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ cmd, status: 0, stdout: '42\n', stderr: '' });
    }
  });

  it('stops printing quietly when the reader of its output goes away, as Nix does', async () => {
    // Reading nothing and closing the pipe: more than a pipe's buffer of
    // output then meets EPIPE. nix-instantiate (Nix's std::cout) drops the
    // rest and succeeds; nix-store --dump (Nix's FdSink) fails.
    const closedEarly = (program: string, args: string[]): Promise<{ status: number | null; stderr: string }> =>
      new Promise((resolve) => {
        const dir = mkdtempSync(join(tmpdir(), 'tsnix-launcher-pipe-'));
        const child = spawn(join(repoRoot, 'bin', program), args, {
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, NIX_CONF_DIR: dir, NIX_REMOTE: 'dummy://' },
        });
        child.stdout.destroy();
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('close', (status) => resolve({ status, stderr }));
      });
    expect(await closedEarly('nix-instantiate', ['--eval', '-E', 'builtins.genList (x: x) 100000'])).toEqual({ status: 0, stderr: '' });
    expect(await closedEarly('nix-store', ['--dump', join(repoRoot, 'src')])).toEqual({ status: 1, stderr: 'error: writing to file: Broken pipe\n' });
  });

  it('prints all of a large result to a reader that starts late', async () => {
    // Written synchronously before the process ends (src/cli/exit.ts ends
    // it with process.exit, which would drop anything still queued).
    const dir = mkdtempSync(join(tmpdir(), 'tsnix-launcher-slow-'));
    const child = spawn(join(repoRoot, 'bin', 'nix-instantiate'), ['--eval', '--strict', '-E', 'builtins.genList (x: x) 200000'], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, NIX_CONF_DIR: dir, NIX_REMOTE: 'dummy://' },
    });
    child.stdout.pause();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const chunks: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stdout.resume();
    const status = await new Promise((resolve) => child.on('close', resolve));
    const out = Buffer.concat(chunks).toString();
    expect(status).toBe(0);
    expect(out.length).toBeGreaterThan(1_000_000);
    expect(out.startsWith('[ 0 1 2 ')).toBe(true);
    expect(out.endsWith(' 199998 199999 ]\n')).toBe(true);
  });

  it('does not make node load NODE_EXTRA_CA_CERTS at start-up', () => {
    // Node parses that file before any of our code runs; a missing one shows
    // that it tried (a warning on stderr).
    const r = runCli('nix-instantiate', ['--eval', '-E', '1'], { env: { NODE_EXTRA_CA_CERTS: '/nonexistent/ca.crt' } });
    expect(r).toMatchObject({ status: 0, stdout: '1\n', stderr: '' });
  });

  it("sizes V8's background thread pool by the usable cores, not node's fixed four", () => {
    // /proc/self/task lists a process's threads. Plain node (four V8 worker
    // threads) is the yardstick for the threads that are not V8's workers.
    const countThreads = 'require("node:fs").readdirSync("/proc/self/task").length';
    const plain = Number(spawnSync(process.execPath, ['-p', countThreads], { encoding: 'utf8' }).stdout);
    const cores = Number(spawnSync(process.execPath, ['-p', 'require("node:os").availableParallelism()'], { encoding: 'utf8' }).stdout);
    const r = runCli('nix-instantiate', ['--eval', '-E', 'builtins.length (builtins.attrNames (builtins.readDir /proc/self/task))']);
    expect(r.status).toBe(0);
    expect(Number(r.stdout)).toBe(plain - 4 + Math.max(1, cores - 1));
  });
});

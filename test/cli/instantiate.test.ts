import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, runCli } from './run-cli.js';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';

const inst = (args: string[], opts?: Parameters<typeof runCli>[2]) => runCli('nix-instantiate', args, opts);

describe('nix-instantiate --eval', () => {
  it('evaluates an expression lazily, and fully with --strict', () => {
    expect(inst(['--eval', '-E', '{ a = 1 + 2; }'])).toMatchObject({ status: 0, stdout: '{ a = <CODE>; }\n' });
    expect(inst(['--eval', '--strict', '-E', '{ a = 1 + 2; b = [ "x" 1.5 ]; }']).stdout).toBe('{ a = 3; b = [ "x" 1.5 ]; }\n');
  });

  it('prints JSON, XML and raw strings', () => {
    expect(inst(['--eval', '--json', '--strict', '-E', '{ b = [ 1 true null ]; a = "s"; }']).stdout).toBe('{"a":"s","b":[1,true,null]}\n');
    expect(inst(['--eval', '--raw', '-E', '"a\\nb"']).stdout).toBe('a\nb');
    const xml = inst(['--eval', '--xml', '--no-location', '--strict', '-E', '{ x = 1; }']).stdout;
    expect(xml).toBe("<?xml version='1.0' encoding='utf-8'?>\n<expr>\n  <attrs>\n    <attr name=\"x\">\n      <int value=\"1\" />\n    </attr>\n  </attrs>\n</expr>\n");
  });

  it('selects with -A, repeatable, through lists and auto-called functions', () => {
    const r = inst(['--eval', '-E', '{ n ? 0 }: { a.b = [ 10 (n + 1) ]; }', '--arg', 'n', '41', '-A', 'a.b.1', '-A', 'a.b.0']);
    expect(r).toMatchObject({ status: 0, stdout: '42\n10\n' });
  });

  it('passes --argstr as a string', () => {
    expect(inst(['--eval', '-E', '{ who }: "hello ${who}"', '--argstr', 'who', 'world']).stdout).toBe('"hello world"\n');
  });

  it('reads the expression from standard input with -', () => {
    expect(inst(['--eval', '-'], { input: '6 * 7' }).stdout).toBe('42\n');
  });

  it('evaluates a file and a directory (default.nix)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsnix-inst-'));
    mkdirSync(join(dir, 'pkg'));
    writeFileSync(join(dir, 'pkg', 'default.nix'), '{ x = import ./x.nix; }');
    writeFileSync(join(dir, 'pkg', 'x.nix'), '"from x"');
    expect(inst(['--eval', '--strict', join(dir, 'pkg')]).stdout).toBe('{ x = "from x"; }\n');
    expect(inst(['--eval', '-A', 'x', 'pkg'], { cwd: dir }).stdout).toBe('"from x"\n');
  });

  it('resolves <lookup> paths with -I and NIX_PATH, and --find-file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsnix-inst-'));
    mkdirSync(join(dir, 'lib'));
    writeFileSync(join(dir, 'lib', 'default.nix'), '"lib!"');
    expect(inst(['--eval', '-I', `mylib=${join(dir, 'lib')}`, '-E', 'import <mylib>']).stdout).toBe('"lib!"\n');
    expect(inst(['--eval', '-E', 'import <lib>'], { env: { NIX_PATH: dir } }).stdout).toBe('"lib!"\n');
    expect(inst(['--find-file', 'mylib', '-I', `mylib=${join(dir, 'lib')}`]).stdout).toBe(`${join(dir, 'lib')}\n`);
    // An entry that does not exist is skipped with Nix's warning, once.
    expect(inst(['--eval', '--strict', '-I', '/nonexistent-entry', '-I', dir, '-E', '[ (import <lib>) (import <lib>) ]'])).toMatchObject({
      stdout: '[ "lib!" "lib!" ]\n',
      stderr: "warning: Nix search path entry '/nonexistent-entry' does not exist, ignoring\n",
    });
  });

  it('builds the search path as Nix does: -I, nix-path (NIX_PATH over nix.conf, --nix-path over NIX_PATH), the channels', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsnix-inst-'));
    const home = join(dir, 'home');
    const state = join(dir, 'state');
    const rootChannels = join(state, 'profiles', 'per-user', 'root', 'channels');
    mkdirSync(join(home, '.nix-defexpr', 'channels'), { recursive: true });
    mkdirSync(join(rootChannels, 'nixpkgs'), { recursive: true });
    const nixPath = (args: string[], env: Record<string, string> = {}) =>
      inst(['--eval', '--strict', '-E', 'map (e: "${e.prefix}=${e.path}") builtins.nixPath', ...args], {
        env: { HOME: home, NIX_STATE_DIR: state, ...env },
        nixConf: 'nix-path = conf=/c',
      }).stdout;
    const channels = `"=${home}/.nix-defexpr/channels" "nixpkgs=${rootChannels}/nixpkgs" "=${rootChannels}"`;
    expect(nixPath([])).toBe(`[ "conf=/c" ${channels} ]\n`);
    expect(nixPath(['-I', 'i=/i'], { NIX_PATH: 'env=/e:/f' })).toBe(`[ "i=/i" "env=/e" "=/f" ${channels} ]\n`);
    expect(nixPath(['--nix-path', 'flag=/f'], { NIX_PATH: 'env=/e' })).toBe(`[ "flag=/f" ${channels} ]\n`);
    expect(nixPath(['--extra-nix-path', 'more=/m'], { NIX_PATH: 'env=/e' })).toBe(`[ "env=/e" "more=/m" ${channels} ]\n`);
    expect(nixPath(['--option', 'restrict-eval', 'true'], { NIX_PATH: '' })).toBe('[ ]\n');
    expect(nixPath(['--option', 'pure-eval', 'true', '-I', 'i=/i'])).toBe('[ ]\n');
  });

  it('says which file an import evaluates with -v (once per file; scopedImport every time), as Nix does', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsnix-inst-'));
    const f = join(dir, 'one.nix');
    writeFileSync(f, '1');
    const line = `evaluating file '${f}'\n`;
    expect(inst(['--eval', '-v', '-E', `import ${f} + import ${f}`])).toMatchObject({ stdout: '2\n', stderr: line });
    expect(inst(['--eval', '-v', '-E', `scopedImport { } ${f} + scopedImport { } ${f}`]).stderr).toBe(line + line);
    expect(inst(['--eval', '-E', `import ${f}`]).stderr).toBe('');
    expect(inst(['--eval', '-v', f]).stderr).toBe('');
  });

  it('nix-collect-garbage has --version and --help too', () => {
    expect(runCli('nix-collect-garbage', ['--version'])).toMatchObject({ status: 0, stdout: expect.stringMatching(/^nix-collect-garbage \(Nix\) /) });
    expect(runCli('nix-collect-garbage', ['--help'])).toMatchObject({ status: 0, stdout: expect.stringContaining('Delete unreachable store paths.') });
  });

  it('answers --help and --version at once in every classic command, even with an unknown flag or `--` before it', () => {
    for (const cmd of ['nix-instantiate', 'nix-build', 'nix-hash', 'nix-collect-garbage', 'nix-store']) {
      const version = runCli(cmd, ['--version', '--bogus', '-A']);
      expect(version).toMatchObject({ status: 0, stdout: expect.stringMatching(new RegExp(`^${cmd} \\(Nix\\) `)) });
      const help = runCli(cmd, ['--', '--help', '--bogus']);
      expect(help.status).toBe(0);
      expect(help.stdout.length).toBeGreaterThan(100);
      expect(help.stderr).toBe('');
    }
    // A flag before it is still an error, and `--arg x --help` binds x to the expression `--help`.
    expect(runCli('nix-instantiate', ['--bogus', '--help'])).toMatchObject({ status: 1, stderr: expect.stringContaining("unrecognised flag '--bogus'") });
    expect(runCli('nix-instantiate', ['--eval', '-E', 'x: x', '--arg', 'x', '--help'])).toMatchObject({ status: 1 });
  });

  it('prints the parse with --parse', () => {
    expect(inst(['--parse', '-E', 'a: a + 1 - 2']).stdout).toBe('(a: (__sub (a + 1) 2))\n');
  });

  it('prints evaluation counters with NIX_SHOW_STATS=1, counting only the evaluation', () => {
    // Nix 2.8 counts the same for this expression: one call, two thunks (the
    // binding of f and the attribute b), one lookup (`.b`), a two-element
    // list. A counter left changed by start-up would show here.
    const r = inst(['--eval', '-E', 'let f = x: { a = x; b = [ x x ]; }; in (f 1).b'], { env: { NIX_SHOW_STATS: '1' } });
    expect(r.stdout).toBe('[ 1 1 ]\n');
    const stats = JSON.parse(r.stderr) as Record<string, unknown>;
    expect(stats).toMatchObject({ nrFunctionCalls: 1, nrThunks: 2, nrLookups: 1, nrPrimOpCalls: 0, nrOpUpdates: 0, list: { elements: 2, concats: 0 } });
    expect(stats.time).toMatchObject({ cpu: expect.any(Number) });
  });

  it('has builtins.exec with --option allow-unsafe-native-code-during-evaluation true', () => {
    const expr = ['--eval', '-E', 'builtins.exec [ "echo" "1 + 1" ]'];
    expect(inst(['--option', 'allow-unsafe-native-code-during-evaluation', 'true', ...expr]).stdout).toBe('2\n');
    expect(inst(expr).stderr).toContain("attribute 'exec' missing");
  });

  it('takes any NIX_SHOW_STATS but 0 and writes to NIX_SHOW_STATS_PATH unless it is -, as Nix does', () => {
    const expr = ['--eval', '-E', '1'];
    expect(inst(expr, { env: { NIX_SHOW_STATS: 'yes' } }).stderr).toMatch(/^\{\n {2}"cpuTime": .*\}\n$/s);
    expect(inst(expr, { env: { NIX_SHOW_STATS: '0' } }).stderr).toBe('');
    expect(inst(expr, { env: { NIX_SHOW_STATS: '1', NIX_SHOW_STATS_PATH: '-' } }).stderr).toMatch(/"nrThunks"/);
    const dir = mkdtempSync(join(tmpdir(), 'tsnix-stats-'));
    const file = join(dir, 'stats.json');
    const r = inst(expr, { env: { NIX_SHOW_STATS: '1', NIX_SHOW_STATS_PATH: file } });
    expect(r.stderr).toBe('');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ nrThunks: 0 });
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the bytes of arguments and getEnv values that are not UTF-8, as Nix does', () => {
    // node's spawn can only pass UTF-8, so a shell makes the variable, the
    // --argstr value (bytes 71 FE) and a string literal in the -E
    // expression (the byte FF) between the two halves it is given.
    const bytes = Buffer.from([0x61, 0xff, 0xfe, 0x62, 0xe2, 0x82]);
    const script = 'V="$(printf "a\\377\\376b\\342\\202")" exec "$0" --eval --strict --argstr x "$(printf "q\\376")" -E "$1$(printf "\\377")$2"';
    const before = '{ x }: let v = builtins.getEnv "V"; in [ (builtins.stringLength v) (builtins.hashString "md5" v) (builtins.hashString "md5" x) (builtins.stringLength "';
    const after = '") ]';
    const home = mkdtempSync(join(tmpdir(), 'tsnix-cli-'));
    const r = spawnSync('sh', ['-c', script, join(repoRoot, 'bin', 'nix-instantiate'), before, after], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, NIX_CONF_DIR: home, NIX_USER_CONF_FILES: '', NIX_REMOTE: 'dummy://' },
    });
    const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`[ 6 "${md5(bytes)}" "${md5(Buffer.from([0x71, 0xfe]))}" 1 ]\n`);
  });
});

describe('nix-instantiate errors', () => {
  it('reports evaluation errors in Nix style with a code frame and exit code 1', () => {
    const r = inst(['--eval', '-E', 'let x = 1; in x + "a"']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error:/);
    expect(r.stderr).toContain('cannot add a string to an integer');
    expect(r.stderr).not.toMatch(/\n\s+at .*\.js:\d+/); // no JavaScript stack
  });

  it('shows the trace with --show-trace and truncates it otherwise', () => {
    const src = 'let f = n: if n == 0 then throw "bottom" else f (n - 1); in f 10';
    const short = inst(['--eval', '-E', src]);
    const long = inst(['--eval', '--show-trace', '-E', src]);
    expect(short.status).toBe(1);
    expect(long.stderr.split('\n').length).toBeGreaterThan(short.stderr.split('\n').length);
    expect(long.stderr).toContain('error: bottom');
  });

  it('lets --no-show-trace override show-trace = true from nix.conf', () => {
    const src = 'let f = n: if n == 0 then throw "bottom" else f (n - 1); in f 10';
    const fromConf = inst(['--eval', '-E', src], { nixConf: 'show-trace = true\n' });
    const overridden = inst(['--eval', '--no-show-trace', '-E', src], { nixConf: 'show-trace = true\n' });
    expect(fromConf.stderr).toContain('from call site');
    expect(overridden.stderr).not.toContain('from call site');
    expect(overridden.stderr).toContain('error: bottom');
  });

  it('reports parse errors with the position', () => {
    const r = inst(['--eval', '-E', '{ a = 1; ']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('error: syntax error, unexpected end of file');
    expect(r.stderr).toContain('at «string»:1:10:');
  });

  it('rejects an unknown flag by name, with the help hint', () => {
    const r = inst(['--eval', '--frobnicate']);
    expect(r).toMatchObject({ status: 1, stderr: "error: unrecognised flag '--frobnicate'\nTry 'nix-instantiate --help' for more information.\n" });
  });

  it('reports a missing option value', () => {
    expect(inst(['-A']).stderr).toBe("error: '-A' requires an argument\nTry 'nix-instantiate --help' for more information.\n");
    // Common flags have the other wording, as in Nix.
    expect(inst(['--max-jobs']).stderr).toBe("error: flag '--max-jobs' requires 1 argument(s), but only 0 were given\nTry 'nix-instantiate --help' for more information.\n");
  });

  it('refuses a bad --max-jobs or --log-format, and only warns about a bad --option value', () => {
    expect(inst(['--eval', '-E', '1', '--max-jobs', 'x'])).toMatchObject({
      status: 1,
      stderr: "error: configuration setting 'max-jobs' should be 'auto' or an integer\nTry 'nix-instantiate --help' for more information.\n",
    });
    expect(inst(['--eval', '-E', '1', '--log-format', 'bogus'])).toMatchObject({ status: 1, stderr: "error: option 'log-format' has an invalid value 'bogus'\n" });
    expect(inst(['--eval', '-E', '1', '--option', 'max-jobs', 'x'])).toMatchObject({
      status: 0,
      stdout: '1\n',
      stderr: "warning: configuration setting 'max-jobs' should be 'auto' or an integer\n",
    });
    expect(inst(['--eval', '-E', '1', '-j', 'auto', '--log-format', 'raw'])).toMatchObject({ status: 0, stdout: '1\n' });
  });

  it('parses every --arg at start-up as Nix does, and evaluates it only when used', () => {
    const bad = inst(['--eval', '-E', '1', '--arg', 'zz', '1 +']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('error: syntax error, unexpected end of file');
    expect(inst(['--eval', '-E', '1', '--arg', 'zz', 'undefinedVar']).stderr).toContain("error: undefined variable 'undefinedVar'");
    expect(inst(['--eval', '-E', '1', '--arg', 'zz', 'throw "unused"'])).toMatchObject({ status: 0, stdout: '1\n' });
  });

  it('hands the arguments after -- to its own flags, one by one, as Nix does', () => {
    expect(inst(['--eval', '--', '-E', '6 * 7'])).toMatchObject({ status: 0, stdout: '42\n' });
    expect(inst(['--eval', '-E', '1', '--', '--arg']).stderr).toBe("error: unexpected argument '--arg'\nTry 'nix-instantiate --help' for more information.\n");
  });

  it('fails cleanly on infinite recursion and very deep recursion, without a JavaScript stack overflow', () => {
    const inf = inst(['--eval', '-E', 'let x = x; in x']);
    expect(inf.status).toBe(1);
    expect(inf.stderr).toContain('infinite recursion encountered');
    const deep = inst(['--eval', '-E', 'let f = n: if n == 0 then 0 else 1 + f (n - 1); in f 9000']);
    expect(deep).toMatchObject({ status: 0, stdout: '9000\n' });
    const tooDeep = inst(['--eval', '-E', 'let f = n: 1 + f (n + 1); in f 0']);
    expect(tooDeep.status).toBe(1);
    expect(tooDeep.stderr).toContain('stack overflow');
  });

  it('warns about unknown settings and goes on', () => {
    const r = inst(['--eval', '--option', 'no-such-thing', '1', '-E', '1']);
    expect(r).toMatchObject({ status: 0, stdout: '1\n' });
    expect(r.stderr).toContain("warning: unknown setting 'no-such-thing'");
  });
});

describe('nix-instantiate without --eval', () => {
  it('prints the .drv path of each derivation, with !output for non-default outputs', () => {
    const expr =
      'let d = derivation { name = "x"; system = "x86_64-linux"; builder = "/bin/sh"; outputs = [ "out" "dev" ]; }; in [ d d.dev ]';
    const r = inst(['-E', expr, '--readonly-mode']);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\/nix\/store\/[0-9a-z]{32}-x\.drv$/);
    expect(lines[1]).toBe(`${lines[0]}!dev`);
  });

  it('warns once that no --add-root was given, as Nix does in read-only mode too, unless --no-gc-warning', () => {
    const expr = 'let d = name: derivation { inherit name; system = "x86_64-linux"; builder = "/bin/sh"; }; in [ (d "a") (d "b") ]';
    const warning = "warning: you did not specify '--add-root'; the result might be removed by the garbage collector\n";
    expect(inst(['-E', expr, '--readonly-mode'])).toMatchObject({ status: 0, stderr: warning });
    expect(inst(['-E', expr, '--dry-run'])).toMatchObject({ status: 0, stderr: warning });
    expect(inst(['-E', expr, '--readonly-mode', '--no-gc-warning'])).toMatchObject({ status: 0, stderr: '' });
  });

  it('leaves the store database closed and no temporary roots behind when it ends', () => {
    // With --add-root nothing goes to stderr, so the command ends with
    // process.exit (src/cli/exit.ts); the database must still be closed
    // (its write-ahead log checkpointed away) and the temproots file removed.
    const dir = mkdtempSync(join(tmpdir(), 'tsnix-inst-exit-'));
    const root = join(dir, 'root');
    const expr = 'derivation { name = "x"; system = "x86_64-linux"; builder = "/bin/sh"; }';
    const r = runCli('nix-instantiate', ['--store', root, '--add-root', join(dir, 'r'), '-E', expr], { env: { NIX_REMOTE: '' } });
    expect(r).toMatchObject({ status: 0, stdout: `${join(dir, 'r')}\n`, stderr: '' });
    const state = join(root, 'nix', 'var', 'nix');
    expect(existsSync(join(state, 'db', 'db.sqlite'))).toBe(true);
    expect(existsSync(join(state, 'db', 'db.sqlite-wal'))).toBe(false);
    expect(readdirSync(join(state, 'temproots'))).toEqual([]);
  });

  it('rejects a value that is not a derivation', () => {
    const r = inst(['-E', '42', '--readonly-mode']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('expression does not evaluate to a derivation');
  });
});

describe('tsnix', () => {
  it('runs the classic commands as subcommands', () => {
    expect(runCli('tsnix', ['instantiate', '--eval', '-E', '6 * 7'])).toMatchObject({ status: 0, stdout: '42\n' });
  });

  it('lists its commands with --help', () => {
    const r = runCli('tsnix', ['--help']);
    expect(r.status).toBe(0);
    for (const c of ['instantiate', 'build', 'store', 'hash', 'collect-garbage']) expect(r.stdout).toContain(c);
  });

  it('shows one command\'s help with help COMMAND', () => {
    const r = runCli('tsnix', ['help', 'instantiate']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Evaluate Nix expressions');
  });

  it('rejects an unknown command in Nix style', () => {
    expect(runCli('tsnix', ['frobnicate'])).toMatchObject({ status: 1, stderr: "error: 'frobnicate' is not a tsnix command; see 'tsnix --help'\n" });
  });
});

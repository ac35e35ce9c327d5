// Import from derivation: an evaluation that reads a derivation's output
// builds it first (src/eval/eval-state.ts realiseContext, through a child
// tsnix: src/cli/build-during-eval.ts), unless allow-import-from-derivation
// is off; a failed build is the evaluation's error, raised once with its
// trace and Nix's exit status.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { HOST_DEPS, tempDir } from './helpers.js';

const repoRoot = path.resolve(__dirname, '../..');

/** A file whose value needs `gen`'s output: the generator script decides what it holds. */
function exprWith(genScript: string): string {
  return `let
  mk = name: script: derivation { inherit name; system = builtins.currentSystem; builder = "/bin/sh"; args = [ "-c" script ]; __impureHostDeps = ${HOST_DEPS}; PATH = "/bin"; };
  gen = mk "gen" ${JSON.stringify(genScript)};
  v = import gen;
in mk "final-\${toString v.answer}" "echo \${v.msg} > $out"
`;
}

describe('import from derivation', () => {
  const root = tempDir();
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: root, NIX_CONF_DIR: root, NIX_USER_CONF_FILES: '' };
  const run = (prog: string, args: string[]) =>
    spawnSync(path.join(repoRoot, 'bin', prog), ['--store', path.join(root, 'store'), ...args], { env, encoding: 'utf8', cwd: root });
  const file = (name: string, genScript: string) => {
    const p = path.join(root, name);
    fs.writeFileSync(p, exprWith(genScript));
    return p;
  };

  it('builds what the evaluation reads, then goes on with its value', () => {
    const ok = file('ok.nix', `echo building gen; echo '{ answer = 42; msg = "from IFD"; }' > $out`);
    // Read-only evaluation computes paths and cannot build: the .drv is not even written.
    const ro = run('nix-instantiate', ['--eval', '-A', 'name', ok]);
    expect(ro.status).toBe(1);
    expect(ro.stderr).toMatch(/error: path '\/nix\/store\/[0-9a-z]{32}-gen\.drv' is not valid/);
    const r = run('nix-build', [ok]);
    expect(r.stderr).toContain('building gen');
    // As Nix's buildPaths: the build is announced, not listed first (the final derivation is, by nix-build).
    expect(r.stderr).toMatch(/building '\/nix\/store\/[0-9a-z]{32}-gen\.drv'/);
    expect(r.stderr).not.toMatch(/will be built:\n(  \S+\n)*  \/nix\/store\/[0-9a-z]{32}-gen\.drv/);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^\/nix\/store\/[0-9a-z]{32}-final-42\n$/);
    expect(fs.readFileSync(path.join(root, 'result'), 'utf8')).toBe('from IFD\n');
    // Built once: now read-only evaluation reads it too.
    expect(run('nix-instantiate', ['--eval', '-A', 'name', ok]).stdout).toBe('"final-42"\n');
  }, 60_000);

  it('is refused with allow-import-from-derivation = false', () => {
    const refused = file('refused.nix', `echo '{ answer = 1; msg = "x"; }' > $out`);
    const r = run('nix-build', ['--option', 'allow-import-from-derivation', 'false', '--no-out-link', refused]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/error: cannot build '\/nix\/store\/[0-9a-z]{32}-gen\.drv\^out' during evaluation because the option 'allow-import-from-derivation' is disabled/);
  }, 60_000);

  it('fails with the build, reported once with the evaluation trace', () => {
    const broken = file('broken.nix', 'echo about to fail; exit 3');
    const r = run('nix-build', ['--no-out-link', '--show-trace', broken]);
    expect(r.status).toBe(100);
    expect(r.stderr).toContain('about to fail');
    expect(r.stderr).toContain("… while realising the context of path '/nix/store/");
    expect(r.stderr.match(/builder for '\/nix\/store\/[0-9a-z]{32}-gen\.drv' failed with exit code 3/g)).toHaveLength(1);
  }, 60_000);

  it('passes -Q on: the log shows only in the error, as its last lines', () => {
    const quiet = file('quiet.nix', 'echo quietly failing; exit 4');
    const r = run('nix-build', ['--no-out-link', '-Q', quiet]);
    expect(r.status).toBe(100);
    expect(r.stderr).not.toMatch(/^quietly failing$/m);
    expect(r.stderr).toMatch(/last 1 log lines:\n\s+> quietly failing\n/);
  }, 60_000);
});

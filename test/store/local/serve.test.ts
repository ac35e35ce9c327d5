// nix-store --serve against the reference as the client: `nix copy` to and
// from an ssh:// store whose remote program is our nix-store. A stand-in
// `ssh` on PATH runs the remote command locally, so no network is involved.

import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { buildFixture, fixtureEnv } from './child.js';
import { makeSourceTree, refNixStore, tempDir } from './helpers.js';

/** A directory with `ssh` (runs the command locally) and `our-nix-store` (our command). */
function harness(): { binDir: string; program: string } {
  const binDir = tempDir();
  fs.writeFileSync(path.join(binDir, 'ssh'), `#!/bin/sh
# Drop the host name and ssh's options; run the remote command here.
shift
while [ $# -gt 0 ]; do case "$1" in -o|-p|-i|-l) shift 2;; -*) shift;; *) break;; esac; done
exec sh -c "$*"
`, { mode: 0o755 });
  const program = path.join(binDir, 'our-nix-store');
  fs.writeFileSync(program, `#!/bin/sh
echo "$@" >> '${binDir}/calls'
NODE_PATH='${fixtureEnv().NODE_PATH}' exec '${process.execPath}' '${buildFixture('nix-store-main')}' "$@"
`, { mode: 0o755 });
  return { binDir, program };
}

function nixCopy(binDir: string, args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync('nix', ['--extra-experimental-features', 'nix-command', 'copy', ...args], {
    encoding: 'utf8',
    env: { ...process.env, PATH: `${binDir}:${process.env.PATH}` },
  });
  return { status: r.status, stderr: r.stderr };
}

describe('nix-store --serve', () => {
  it('the reference copies a closure to and from our nix-store over the serve protocol', () => {
    const { binDir, program } = harness();
    // A closure with references, made by the reference.
    const source = tempDir();
    const exprFile = path.join(tempDir(), 'g.nix');
    fs.writeFileSync(exprFile, 'let a = builtins.toFile "a" "x"; b = builtins.toFile "b" "ref ${a}"; in b');
    const b = spawnSync('nix-instantiate', ['--store', source, '--eval', '--read-write-mode', exprFile], { encoding: 'utf8' }).stdout.trim().replace(/"/g, '');
    const tree = refNixStore(source, ['--add', makeSourceTree(path.join(tempDir(), 'src'))]).stdout.trim();
    const closure = refNixStore(source, ['-qR', b]).stdout;
    expect(closure.split('\n').filter((l) => l !== '')).toHaveLength(2);

    // To our store (cmdQueryValidPaths, cmdAddToStoreNar / cmdImportPaths).
    const ours = tempDir();
    const to = nixCopy(binDir, ['--from', source, '--to', `ssh://fakehost?remote-program=${program}&remote-store=${ours}`, b, tree]);
    expect(to.stderr).not.toMatch(/error/);
    expect(to.status).toBe(0);
    expect(refNixStore(ours, ['-qR', b]).stdout).toBe(closure);
    expect(refNixStore(ours, ['--dump-db']).stdout).toBe(refNixStore(source, ['--dump-db']).stdout);
    expect(refNixStore(ours, ['--verify', '--check-contents']).status).toBe(0);

    // And back out of it (cmdQueryPathInfos, cmdQueryClosure, cmdDumpStorePath / cmdExportPaths).
    const back = tempDir();
    const from = nixCopy(binDir, ['--from', `ssh://fakehost?remote-program=${program}&remote-store=${ours}`, '--to', back, b, tree]);
    expect(from.stderr).not.toMatch(/error/);
    expect(from.status).toBe(0);
    expect(refNixStore(back, ['--dump-db']).stdout).toBe(refNixStore(ours, ['--dump-db']).stdout);
    expect(refNixStore(back, ['--verify', '--check-contents']).status).toBe(0);
    // Both copies went through our program.
    expect(fs.readFileSync(path.join(binDir, 'calls'), 'utf8').split('\n').filter((l) => l.startsWith('--serve'))).toHaveLength(2);
  });
});

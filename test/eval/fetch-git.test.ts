// builtins.fetchGit on a repository on this machine: the tracked files of the
// working directory (clean or dirty) or of a commit, with Nix's attributes;
// compared with the reference Nix, live, when it is installed.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EvalState } from '../../src/eval/eval-state.js';
import { openChrootStore, tempDir } from '../store/local/helpers.js';
import { openStoreForEval } from '../../src/store/local/open-store.js';
import { evalError, evalNix } from './eval-helpers.js';

const haveNix = spawnSync('nix-instantiate', ['--version']).status === 0;

function git(dir: string, ...args: string[]): string {
  const r = spawnSync('git', ['-C', dir, ...args], {
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_DATE: '2020-01-01T00:00:00Z', GIT_COMMITTER_DATE: '2020-01-01T00:00:00Z', GIT_AUTHOR_NAME: 'n', GIT_AUTHOR_EMAIL: 'a@b', GIT_COMMITTER_NAME: 'n', GIT_COMMITTER_EMAIL: 'a@b' },
  });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout.trim();
}

/** A repository with one commit: a file, a file in a directory, an executable, a symlink, and an untracked file. */
function makeRepo(): string {
  const dir = tempDir();
  git(dir, 'init', '-q');
  fs.writeFileSync(path.join(dir, 'a.txt'), 'a\n');
  fs.mkdirSync(path.join(dir, 'sub'));
  fs.writeFileSync(path.join(dir, 'sub', 'b.txt'), 'b\n');
  fs.writeFileSync(path.join(dir, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
  fs.symlinkSync('a.txt', path.join(dir, 'link'));
  git(dir, 'add', 'a.txt', 'sub', 'run.sh', 'link');
  git(dir, 'commit', '-qm', 'init');
  fs.writeFileSync(path.join(dir, 'untracked.txt'), 'not in git\n');
  return dir;
}

const ATTRS = 'with builtins; f: let r = f; in { inherit (r) lastModified lastModifiedDate narHash outPath rev revCount shortRev submodules; files = attrNames (readDir r.outPath); }';

function ours(root: string, expr: string, log?: (l: string) => void): string {
  const store = openChrootStore(root);
  try {
    return evalNix(`(${ATTRS}) (${expr})`, new EvalState(store, { log: log ?? (() => {}) }));
  } finally {
    store.close();
  }
}

function reference(root: string, expr: string): string {
  const r = spawnSync('nix-instantiate', ['--eval', '--strict', '--read-write-mode', '--store', `local?root=${root}`, '-E', `(${ATTRS}) (${expr})`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout.trim();
}

describe('builtins.fetchGit of a local repository', () => {
  it('takes the tracked files of a clean working directory, with the commit\'s attributes', () => {
    const dir = makeRepo();
    const head = git(dir, 'rev-parse', 'HEAD');
    const r = ours(tempDir(), `builtins.fetchGit ${dir}`);
    expect(r).toContain(`rev = "${head}"; revCount = 1; shortRev = "${head.slice(0, 7)}"; submodules = false;`);
    expect(r).toContain('lastModified = 1577836800; lastModifiedDate = "20200101000000";');
    expect(r).toContain('files = [ "a.txt" "link" "run.sh" "sub" ];');
  });

  it('says a changed working directory is dirty and takes its files as they are', () => {
    const dir = makeRepo();
    const head = git(dir, 'rev-parse', 'HEAD');
    fs.appendFileSync(path.join(dir, 'a.txt'), 'changed\n');
    fs.rmSync(path.join(dir, 'sub', 'b.txt'));
    const log: string[] = [];
    const r = ours(tempDir(), `builtins.fetchGit ${dir}`, (l) => log.push(l));
    expect(log).toEqual([`warning: Git tree '${dir}' is dirty`]);
    expect(r).toContain('rev = "0000000000000000000000000000000000000000"; revCount = 0; shortRev = "0000000";');
    // The directory of a deleted tracked file stays, empty (as in Nix).
    expect(r).toContain('files = [ "a.txt" "link" "run.sh" "sub" ];');
    expect(r).toContain('narHash = "sha256-PgGAz+nI61yJOI8TRJeVYLtDvUO0azq1ngrPRfF7sCs=";');
    const store = openChrootStore(tempDir());
    try {
      expect(evalNix(`(builtins.fetchGit ${dir}).dirtyShortRev`, new EvalState(store, { log: () => {} }))).toBe(`"${head.slice(0, 7)}-dirty"`);
    } finally {
      store.close();
    }
  });

  it('takes a commit\'s tree for `rev` or `ref`, whatever the working directory holds', () => {
    const dir = makeRepo();
    const first = git(dir, 'rev-parse', 'HEAD');
    fs.writeFileSync(path.join(dir, 'c.txt'), 'c\n');
    git(dir, 'add', 'c.txt');
    git(dir, 'commit', '-qm', 'two');
    fs.appendFileSync(path.join(dir, 'a.txt'), 'uncommitted\n');
    expect(ours(tempDir(), `builtins.fetchGit { url = ${dir}; rev = "${first}"; }`)).toContain('files = [ "a.txt" "link" "run.sh" "sub" ]; lastModified');
    expect(ours(tempDir(), `builtins.fetchGit { url = "file://${dir}"; ref = "HEAD"; }`)).toContain('revCount = 2;');
    expect(evalError(`builtins.fetchGit { url = ${dir}; rev = "abc"; }`)).toBe("hash 'abc' has wrong length for hash type 'sha1'");
    expect(evalError(`builtins.fetchGit { url = ${dir}; frob = 1; }`)).toBe("unsupported argument 'frob' to 'fetchGit'");
  });

  it('takes the tracked files of checked-out submodules with `submodules = true`; a dirty submodule makes the tree dirty', () => {
    const dir = makeRepo();
    const sub = makeRepo();
    git(dir, '-c', 'protocol.file.allow=always', 'submodule', '--quiet', 'add', sub, 'sub2');
    git(dir, 'commit', '-qm', 'sub');
    const files = (expr: string) => ours(tempDir(), expr).replace(/^\{ files = (\[[^\]]*\]).*$/, '$1');
    expect(files(`builtins.fetchGit { url = ${dir}; submodules = true; }`)).toBe('[ ".gitmodules" "a.txt" "link" "run.sh" "sub" "sub2" ]');
    const store = openChrootStore(tempDir());
    try {
      const state = new EvalState(store, { log: () => {} });
      expect(evalNix(`builtins.attrNames (builtins.readDir "\${builtins.fetchGit { url = ${dir}; submodules = true; }}/sub2")`, state)).toBe('[ "a.txt" "link" "run.sh" "sub" ]');
      // Without `submodules`, the submodule is an empty directory.
      expect(evalNix(`builtins.readDir "\${builtins.fetchGit ${dir}}/sub2"`, state)).toBe('{ }');
      fs.appendFileSync(path.join(dir, 'sub2', 'a.txt'), 'changed\n');
      expect(evalNix(`(builtins.fetchGit { url = ${dir}; submodules = true; }).rev`, state)).toBe('"0000000000000000000000000000000000000000"');
    } finally {
      store.close();
    }
  });

  it('writes what it fetches even in read-only mode (--eval), as Nix\'s fetchers do, so it can be read', () => {
    const dir = makeRepo();
    const root = tempDir();
    const store = openStoreForEval({ uri: `local?root=${root}`, env: {}, readOnly: true });
    expect(store.readOnly).toBe(true);
    const state = new EvalState(store, { log: () => {} });
    expect(evalNix(`builtins.readFile "\${builtins.fetchGit ${dir}}/sub/b.txt"`, state)).toBe('"b\\n"');
    // A derivation is still only computed.
    expect(evalNix('(derivation { name = "d"; system = "x"; builder = "/b"; }).drvPath', state)).toMatch(/-d\.drv"$/);
    expect(fs.readdirSync(path.join(root, 'nix/store')).filter((n) => n.endsWith('.drv'))).toEqual([]);
  });

  it.runIf(haveNix)('gives what the reference gives, clean, dirty and by commit', () => {
    const dir = makeRepo();
    for (const expr of [`builtins.fetchGit ${dir}`, `builtins.fetchGit { url = "${dir}"; name = "named"; }`]) {
      expect(ours(tempDir(), expr)).toBe(reference(tempDir(), expr));
    }
    const head = git(dir, 'rev-parse', 'HEAD');
    fs.appendFileSync(path.join(dir, 'a.txt'), 'changed\n');
    for (const expr of [`builtins.fetchGit ${dir}`, `builtins.fetchGit { url = ${dir}; rev = "${head}"; }`]) {
      expect(ours(tempDir(), expr)).toBe(reference(tempDir(), expr));
    }
  });
});

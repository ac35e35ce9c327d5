// builtins.fetchGit for repositories on this machine (a path, or a file://
// URL, with a .git directory), which needs no network: the files Git
// tracks, added to the store as Nix adds them, with Nix's attributes.
//
// As current Nix: with no `rev` or `ref`, the working directory's tracked
// files are taken as they are (with `submodules`, those of checked-out
// submodules too); if they differ from HEAD the tree is "dirty" (a warning,
// rev 000…, and dirtyRev). With `rev` or `ref`, the commit's tree (without
// submodules, so far). Remote repositories need the network layer, which
// tsnix does not have yet.

import type * as ChildProcess from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as nodePath from 'node:path';
import { checkName, localFile } from './fetch-common.js';
import { EvalError } from '../errors.js';
import { forceBool, forceStringNoCtx, mkInt, mkString, NixAttrs, NixPath, force, type Lazy, type Value } from '../values.js';
import type { EvalState } from '../eval-state.js';
import type { Store } from '../../store/store-api.js';
import { symbolOrder } from '../symbols.js';
import { exists } from '../../byte-fs.js';
import { parseHashAnyPrefixed, printHash } from '../../store/hash.js';
import { hashPath } from '../../store/nar.js';

const NULL_REV = '0'.repeat(40);

interface GitArgs {
  url: string;
  name: string;
  ref?: string;
  rev?: string;
  submodules: boolean;
}

function parseArgs(state: EvalState, arg: Lazy): GitArgs {
  const v = force(arg);
  // A path or string argument (or `url`) is used as written, never copied to the store.
  const str = (x: Lazy, ctx: string): string => state.coerceToString(x, undefined, ctx, new Set(), false, false);
  const a: GitArgs = { url: '', name: 'source', submodules: false };
  if (v instanceof NixAttrs) {
    let haveUrl = false;
    for (const n of symbolOrder(v)) {
      const x = v.get(n)!;
      const pos = v.posOf(n);
      if (n === 'url') {
        a.url = str(x, "while evaluating the 'url' attribute passed to builtins.fetchGit");
        haveUrl = true;
      } else if (n === 'name') a.name = forceStringNoCtx(x, pos, "while evaluating the 'name' attribute passed to builtins.fetchGit");
      else if (n === 'ref') a.ref = forceStringNoCtx(x, pos, "while evaluating the 'ref' attribute passed to builtins.fetchGit");
      else if (n === 'rev') a.rev = forceStringNoCtx(x, pos, "while evaluating the 'rev' attribute passed to builtins.fetchGit");
      else if (n === 'submodules') a.submodules = forceBool(x, pos, "while evaluating the 'submodules' attribute passed to builtins.fetchGit");
      else if (n === 'shallow' || n === 'allRefs' || n === 'exportIgnore' || n === 'lfs') forceBool(x, pos, `while evaluating the '${n}' attribute passed to builtins.fetchGit`);
      else if (n === 'narHash' || n === 'lastModified' || n === 'revCount' || n === 'publicKey' || n === 'keytype' || n === 'publicKeys' || n === 'verifyCommit') force(x, pos);
      else throw new EvalError(`unsupported argument '${n}' to 'fetchGit'`, pos);
    }
    if (!haveUrl) throw new EvalError("attribute 'url' is missing in call to 'fetchGit'");
  } else a.url = v instanceof NixPath ? v.path : str(v, 'while evaluating the argument passed to builtins.fetchGit');
  checkName(a.name);
  if (a.rev !== undefined && !/^[0-9a-f]{40}$/.test(a.rev)) throw new EvalError(`hash '${a.rev}' has wrong length for hash type 'sha1'`);
  return a;
}

/** The repository's directory when `url` names one on this machine (with a .git). */
function localRepo(url: string): string | undefined {
  let p: string | undefined;
  if (url.startsWith('file://')) p = localFile(url);
  else if (!url.includes('://') && !/^[a-z+]+:/.test(url)) p = nodePath.resolve(url);
  return p !== undefined && exists(nodePath.join(p, '.git')) ? p : undefined;
}

function git(dir: string, args: string[], env?: Record<string, string>): { status: number | null; stdout: Buffer; stderr: string } {
  const { spawnSync } = process.getBuiltinModule('node:child_process') as typeof ChildProcess;
  const r = spawnSync('git', ['-C', dir, ...args], { env: { ...process.env, ...env }, maxBuffer: 1 << 30 });
  if (r.error) throw new EvalError(`executing 'git': ${(r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : r.error.message}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

function gitOk(dir: string, args: string[], env?: Record<string, string>): string {
  const r = git(dir, args, env);
  if (r.status !== 0) throw new EvalError(`program 'git' failed with exit code ${r.status}: ${r.stderr.trim()}`);
  return r.stdout.toString();
}

/**
 * Adds the files Git tracks in `repo` (and the directories leading to them),
 * as paths under `prefix`, to `into`; with `submodules`, recursively those of
 * its checked-out submodules. Returns whether anything differs from HEAD.
 */
function trackedFiles(repo: string, prefix: string, submodules: boolean, into: Set<string>): boolean {
  // (Without a commit, diff-index fails too: a repository with none is dirty.)
  let dirty = git(repo, ['diff-index', '--quiet', 'HEAD', '--']).status !== 0;
  // `-s`: mode, object, stage and path, so that submodules (mode 160000) show.
  for (const entry of gitOk(repo, ['ls-files', '-s', '-z']).split('\0')) {
    if (entry === '') continue;
    const tab = entry.indexOf('\t');
    const file = entry.slice(tab + 1);
    const full = prefix + file;
    for (let p = full; p !== '.' && !into.has(p); p = nodePath.posix.dirname(p)) into.add(p);
    const sub = nodePath.join(repo, file);
    if (submodules && entry.startsWith('160000 ') && exists(nodePath.join(sub, '.git'))) {
      if (trackedFiles(sub, `${full}/`, true, into)) dirty = true;
    }
  }
  return dirty;
}

/** Nix's lastModifiedDate: the UTC time as YYYYMMDDHHMMSS. */
function lastModifiedDate(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

export function fetchGit(state: EvalState, arg: Lazy): Value {
  const a = parseArgs(state, arg);
  const dir = localRepo(a.url);
  if (dir === undefined) {
    throw new EvalError(`Git repository '${a.url}' cannot be fetched: the evaluator has no network access (only repositories on this machine are fetched)`);
  }
  if (a.submodules && (a.rev !== undefined || a.ref !== undefined) && exists(nodePath.join(dir, '.gitmodules'))) {
    throw new EvalError(`Git repository '${a.url}' has submodules, which tsnix fetches only from the working directory yet`);
  }
  const headOk = git(dir, ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}']);
  const head = headOk.status === 0 ? headOk.stdout.toString().trim() : undefined;
  const store = state.store.forFetchers?.() ?? state.store;

  let rev: string | undefined;
  let dirty = false;
  let added: { path: string; narHash: string };
  if (a.rev === undefined && a.ref === undefined) {
    // The working directory: the files Git tracks, as they are now (with
    // `submodules`, those of each checked-out submodule too, as current Nix
    // mounts them; a dirty submodule makes the whole tree dirty).
    const tracked = new Set<string>();
    dirty = trackedFiles(dir, '', a.submodules, tracked);
    if (dirty) state.warn(`Git tree '${dir}' is dirty`);
    else rev = head;
    added = addTree(store, a.name, dir, (p) => tracked.has(nodePath.relative(dir, p)));
  } else {
    const wanted = a.rev ?? (a.ref!.startsWith('refs/') || a.ref === 'HEAD' ? a.ref! : `refs/heads/${a.ref}`);
    const r = git(dir, ['rev-parse', '--verify', '--quiet', `${wanted}^{commit}`]);
    if (r.status !== 0) throw new EvalError(`Cannot find Git revision '${a.rev ?? a.ref}' in repository '${a.url}'`);
    rev = r.stdout.toString().trim();
    // The commit's tree, checked out through an index of its own (the repository is left as it is).
    const tmp = mkdtempSync(nodePath.join(tmpdir(), 'tsnix-git-'));
    try {
      const env = { GIT_INDEX_FILE: nodePath.join(tmp, 'index') };
      const tree = nodePath.join(tmp, 'tree');
      mkdirSync(tree);
      gitOk(dir, ['read-tree', rev], env);
      gitOk(dir, ['-c', 'core.autocrlf=false', `--work-tree=${tree}`, 'checkout-index', '--all', `--prefix=${tree}/`], env);
      added = addTree(store, a.name, tree);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }

  const commit = dirty ? head : rev;
  const lastModified = commit === undefined ? 0 : Number(gitOk(dir, ['log', '-1', '--format=%ct', commit]).trim());
  const attrs = new Map<string, Lazy>();
  attrs.set('lastModified', mkInt(lastModified));
  attrs.set('lastModifiedDate', lastModifiedDate(lastModified));
  attrs.set('narHash', added.narHash);
  attrs.set('outPath', mkString(added.path, new Set([added.path])));
  attrs.set('rev', rev ?? NULL_REV);
  attrs.set('revCount', mkInt(rev === undefined ? 0 : Number(gitOk(dir, ['rev-list', '--count', rev]).trim())));
  attrs.set('shortRev', (rev ?? NULL_REV).slice(0, 7));
  attrs.set('submodules', a.submodules);
  if (dirty && head !== undefined) {
    attrs.set('dirtyRev', `${head}-dirty`);
    attrs.set('dirtyShortRev', `${head.slice(0, 7)}-dirty`);
  }
  return new NixAttrs(attrs);
}

/**
 * Adds a tree (what `filter` keeps of it) to the store as Nix adds a fetched
 * source; its NAR hash in SRI form, hashed here when the store registers
 * nothing (read-only).
 */
function addTree(store: Store, name: string, dir: string, filter?: (p: string) => boolean): { path: string; narHash: string } {
  const path = store.addPathToStore(name, dir, { method: 'recursive', hashAlgo: 'sha256', filter });
  const registered = store.queryPathInfo(path)?.narHash;
  const hash = registered !== undefined ? parseHashAnyPrefixed(registered) : hashPath('sha256', dir, filter).hash;
  return { path, narHash: printHash(hash, 'sri', true) };
}

// Fetchers: fetchurl, fetchTarball, fetchGit, fetchMercurial, fetchTree and
// the flake-reference helpers. Arguments are checked exactly as Nix checks
// them; content is fetched from `file://` URLs (and pinned paths already in
// the store), and Git repositories on this machine (fetch-git.ts). The
// evaluator has no network access yet, so anything else is reported as an
// error naming the URL.

import { mkdtempSync, rmSync } from 'node:fs';
import { exists, readDirEntries, stat } from '../../byte-fs.js';
import { tmpdir } from 'node:os';
import * as nodePath from 'node:path';
import { loadPackage } from '../../load-package.js';
import { registerBuiltins } from './registry.js';
import { EvalError } from '../errors.js';
import {
  force,
  forceAttrs,
  forceStringNoCtx,
  mkString,
  NixAttrs,
  NixString,
  showType,
  type Lazy,
  type PrimOpDef,
  type Value,
  isInt,
  type NixInt,
} from '../values.js';
import type { EvalState } from '../eval-state.js';
import { symbolOrder } from '../symbols.js';
import { parseHashAllowEmpty, printHash, type Hash } from '../../store/hash.js';
import { makeFixedOutputPath } from '../../store/store-path.js';
import { fetchGit } from './fetch-git.js';
import { checkName, localFile } from './fetch-common.js';

/** Nix's baseNameOf for URLs and paths: the last component, ignoring trailing slashes. */
function baseNameOf(path: string): string {
  if (path === '') return '';
  let last = path.length - 1;
  while (last > 0 && path[last] === '/') last--;
  const slash = path.lastIndexOf('/', last);
  return path.slice(slash + 1, last + 1);
}

function storePathString(path: string): Value {
  return mkString(path, new Set([path]));
}


/** The shared argument handling of fetchurl and fetchTarball (Nix's `fetch`). */
function fetch(state: EvalState, arg: Lazy, who: string, unpack: boolean, defaultName: string): Value {
  let url: string | undefined;
  let expectedHash: Hash | undefined;
  let name = defaultName;
  const v = force(arg);
  const isArgAttrs = v instanceof NixAttrs;
  let nameAttrPassed = false;
  if (v instanceof NixAttrs) {
    for (const n of symbolOrder(v)) {
      const a = v.get(n)!;
      const apos = v.posOf(n);
      if (n === 'url') url = forceStringNoCtx(a, apos, 'while evaluating the url we should fetch');
      else if (n === 'sha256') {
        const s = forceStringNoCtx(a, apos, 'while evaluating the sha256 of the content we should fetch');
        const r = parseHashAllowEmpty(s, 'sha256');
        if (r.warning) state.warn(r.warning);
        expectedHash = r.hash;
      } else if (n === 'name') {
        nameAttrPassed = true;
        name = forceStringNoCtx(a, apos, 'while evaluating the name of the content we should fetch');
      } else throw new EvalError(`unsupported argument '${n}' to '${who}'`);
    }
    if (url === undefined) throw new EvalError("'url' argument required");
  } else url = forceStringNoCtx(v, undefined, 'while evaluating the url we should fetch');

  if (who === 'fetchTarball' && url.startsWith('channel:')) {
    url = `https://nixos.org/channels/${url.slice(8)}/nixexprs.tar.xz`;
  }
  if (name === '') name = baseNameOf(url);
  try {
    checkName(name);
  } catch (e) {
    const resolution = nameAttrPassed
      ? `Please change the value for the 'name' attribute passed to '${who}', so that it can create a valid store path.`
      : isArgAttrs
        ? `Please add a valid 'name' attribute to the argument for '${who}', so that it can create a valid store path.`
        : `Please pass an attribute set with 'url' and 'name' attributes to '${who}',  so that it can create a valid store path.`;
    throw new EvalError(`invalid store path name when fetching URL '${url}': ${(e as Error).message}. ${resolution}`);
  }
  if (state.settings.pureEval && expectedHash === undefined) {
    throw new EvalError(`in pure evaluation mode, '${who}' requires a 'sha256' argument`);
  }

  const store = state.store.forFetchers?.() ?? state.store;
  // A pinned path that is already valid needs no fetching.
  if (expectedHash !== undefined) {
    const expected = makeFixedOutputPath(unpack ? 'recursive' : 'flat', expectedHash, name, store.storeDir, []);
    if (store.isValidPath(expected)) return storePathString(expected);
  }

  const file = localFile(url);
  if (file === undefined || !exists(file)) {
    throw new EvalError(`unable to download '${url}': the evaluator has no network access`);
  }
  const want = expectedHash ? printHash(expectedHash, 'base32', true) : undefined;
  if (!unpack) {
    const p = store.addPathToStore(name, file, { method: 'flat', hashAlgo: 'sha256', expectedHash: want });
    return storePathString(p);
  }
  // fetchTarball: unpack, and take the single top-level directory as the result, as Nix does.
  const dir = mkdtempSync(nodePath.join(tmpdir(), 'tsnix-unpack-'));
  try {
    if (stat(file).isDirectory()) throw new EvalError(`'${url}' is a directory, not a tarball`);
    // Loaded here, not at start-up: only fetchTarball of a local file needs it.
    const tar = loadPackage<typeof import('tar')>('tar');
    tar.x({ sync: true, file, cwd: dir });
    const entries = readDirEntries(dir);
    const root = entries.length === 1 && stat(nodePath.join(dir, entries[0]!.name)).isDirectory() ? nodePath.join(dir, entries[0]!.name) : dir;
    const p = store.addPathToStore(name, root, { method: 'recursive', hashAlgo: 'sha256', expectedHash: want });
    return storePathString(p);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function unsupported(what: string, url: string): never {
  throw new EvalError(`${what} '${url}' cannot be fetched: the evaluator has no network or version-control access`);
}

// ---------------------------------------------------------------------------
// Flake references (only the forms that need no registry or network).

type FlakeAttr = string | NixInt | boolean;

const gitForges = new Set(['github', 'gitlab', 'sourcehut']);

function flakeRefToString(attrs: Map<string, FlakeAttr>): string {
  const type = attrs.get('type');
  const query = (skip: string[]) => {
    const q = [...attrs.entries()].filter(([k]) => !skip.includes(k) && k !== 'type').sort(([a], [b]) => (a < b ? -1 : 1));
    return q.length === 0 ? '' : '?' + q.map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`).join('&');
  };
  if (typeof type === 'string' && gitForges.has(type)) {
    const owner = attrs.get('owner');
    const repo = attrs.get('repo');
    const refOrRev = attrs.get('rev') ?? attrs.get('ref');
    return `${type}:${owner}/${repo}${refOrRev !== undefined ? `/${refOrRev}` : ''}${query(['owner', 'repo', 'rev', 'ref'])}`;
  }
  if (type === 'path') return `path:${attrs.get('path')}${query(['path'])}`;
  if (type === 'indirect') {
    const id = attrs.get('id');
    const ref = attrs.get('ref');
    const rev = attrs.get('rev');
    return `flake:${id}${ref !== undefined ? `/${ref}` : ''}${rev !== undefined ? `/${rev}` : ''}${query(['id', 'ref', 'rev'])}`;
  }
  if (typeof type === 'string' && ['git', 'tarball', 'file', 'mercurial'].includes(type)) {
    const url = String(attrs.get('url') ?? '');
    const scheme = type === 'git' ? 'git+' : type === 'mercurial' ? 'hg+' : type === 'file' ? 'file+' : '';
    return `${url.startsWith(scheme) || scheme === '' ? '' : scheme}${url}${query(['url'])}`;
  }
  throw new EvalError(`unsupported input type '${type}'`);
}

function parseFlakeRef(s: string): Map<string, FlakeAttr> {
  const m = new Map<string, FlakeAttr>();
  const [main, q] = s.split('?', 2) as [string, string | undefined];
  const colon = main.indexOf(':');
  const scheme = colon < 0 ? '' : main.slice(0, colon);
  const rest = colon < 0 ? main : main.slice(colon + 1);
  if (gitForges.has(scheme)) {
    const parts = rest.split('/');
    if (parts.length < 2) throw new EvalError(`'${s}' is not a valid URL`);
    m.set('type', scheme);
    m.set('owner', parts[0]!);
    m.set('repo', parts[1]!);
    if (parts.length > 2) {
      const r = parts.slice(2).join('/');
      m.set(/^[0-9a-f]{40}$/.test(r) ? 'rev' : 'ref', r);
    }
  } else if (scheme === 'path' || (scheme === '' && rest.startsWith('/'))) {
    m.set('type', 'path');
    m.set('path', rest);
  } else if (scheme === 'flake' || (scheme === '' && /^[a-zA-Z][a-zA-Z0-9_-]*(\/.*)?$/.test(rest))) {
    const parts = rest.split('/');
    m.set('type', 'indirect');
    m.set('id', parts[0]!);
    if (parts.length > 1) m.set('ref', parts.slice(1).join('/'));
  } else throw new EvalError(`'${s}' is not a valid flake reference`);
  if (q) {
    for (const kv of q.split('&')) {
      const i = kv.indexOf('=');
      if (i > 0) m.set(kv.slice(0, i), decodeURIComponent(kv.slice(i + 1)));
    }
  }
  return m;
}

const flakes = (def: PrimOpDef): PrimOpDef => ({ ...def, experimentalFeature: 'flakes' });

registerBuiltins([
  { name: '__fetchurl', arity: 1, fn: (args, _pos, state: EvalState) => fetch(state, args[0]!, 'fetchurl', false, '') },
  { name: 'fetchTarball', arity: 1, fn: (args, _pos, state: EvalState) => fetch(state, args[0]!, 'fetchTarball', true, 'source') },
  { name: 'fetchGit', arity: 1, fn: (args, _pos, state: EvalState) => fetchGit(state, args[0]!) },
  {
    name: 'fetchMercurial',
    arity: 1,
    fn: (args) => {
      const v = force(args[0]!);
      const url = v instanceof NixAttrs ? String(force(v.get('url') ?? '')) : forceStringNoCtx(v);
      unsupported('Mercurial repository', url);
    },
  },
  {
    name: 'fetchTree',
    arity: 1,
    fn: (args) => {
      const v = force(args[0]!);
      if (v instanceof NixAttrs) {
        for (const n of symbolOrder(v)) {
          const a = force(v.get(n)!, v.posOf(n));
          if (isInt(a) && a < 0) throw new EvalError(`negative value given for 'fetchTree' argument '${n}': ${a}`);
        }
        const url = v.get('url');
        unsupported('input', url !== undefined ? forceStringNoCtx(url) : String(force(v.get('type') ?? '')));
      }
      const s = forceStringNoCtx(v, undefined, 'while evaluating the argument passed to builtins.fetchTree');
      const m = /^(?:tarball\+|file\+)?file:(?!\/\/)(.*)$/.exec(s);
      if (m) {
        const e = new EvalError(`tarball '${s}' must use an absolute path. The 'file' scheme does not support relative paths.`);
        e.addTrace(undefined, `while fetching the input '${s}'`);
        throw e;
      }
      unsupported('input', s);
    },
  },
  flakes({
    name: '__parseFlakeRef',
    arity: 1,
    fn: (args) => {
      const s = forceStringNoCtx(args[0]!, undefined, 'while evaluating the argument passed to builtins.parseFlakeRef');
      const m = new Map<string, Lazy>();
      for (const [k, v] of parseFlakeRef(s)) m.set(k, v);
      return new NixAttrs(m);
    },
  }),
  flakes({
    name: '__flakeRefToString',
    arity: 1,
    fn: (args) => {
      const a = forceAttrs(args[0]!, undefined, 'while evaluating the argument passed to builtins.flakeRefToString');
      const attrs = new Map<string, FlakeAttr>();
      for (const n of symbolOrder(a)) {
        const v = force(a.get(n)!, a.posOf(n));
        if (isInt(v)) {
          if (v < 0) throw new EvalError(`negative value given for flake ref attr ${n}: ${v}`);
          attrs.set(n, v);
        } else if (typeof v === 'boolean') attrs.set(n, v);
        else if (typeof v === 'string' || v instanceof NixString) attrs.set(n, typeof v === 'string' ? v : v.s);
        else {
          throw new EvalError(
            `flake reference attribute sets may only contain integers, Booleans, and strings, but attribute '${n}' is ${showType(v)}`,
          );
        }
      }
      return flakeRefToString(attrs);
    },
  }),
]);

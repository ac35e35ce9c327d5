// File-system and environment builtins: readFile, readDir, readFileType,
// pathExists, baseNameOf, dirOf, toPath, getEnv, and the constants
// currentSystem, currentTime, nixVersion, langVersion, storeDir.

import * as nodePath from 'node:path';
import { registerBuiltins } from './registry.js';
import { EvalError, RestrictedPathError } from '../errors.js';
import { force, forceStringNoCtx, mkString, NixAttrs, NixPath, NixString, type Lazy } from '../values.js';
import type { EvalState } from '../eval-state.js';
import { canonPath } from '../compile.js';
import { NIX_VERSION } from '../../version.js';
import { lstat, readDirEntries, readText, stat } from '../../byte-fs.js';
import { envValueWithBytes } from '../../process-bytes.js';
import { strerror } from '../../sys-error.js';


function fileType(path: string): string {
  const st = lstat(path);
  if (st.isFile()) return 'regular';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  return 'unknown';
}

function mustExist(state: EvalState, path: string): void {
  try {
    lstat(path);
  } catch {
    throw new EvalError(`path '${state.shownPath(path)}' does not exist`);
  }
}

/** Nix's legacyBaseNameOf: the last component, ignoring one trailing slash. */
function baseNameOf(path: string): string {
  if (path === '') return '';
  let last = path.length - 1;
  if (path[last] === '/' && last > 0) last--;
  const slash = path.lastIndexOf('/', last);
  return path.slice(slash + 1, last + 1);
}

registerBuiltins([
  {
    name: '__readFile',
    arity: 1,
    fn: (args, _pos, state: EvalState) => {
      const path = state.realisePath(args[0]!, undefined);
      mustExist(state, path);
      let s: string;
      try {
        s = readText(path);
      } catch (e) {
        throw new EvalError(`reading file '${state.shownPath(path)}': ${strerror(e)}`);
      }
      if (s.includes('\0')) throw new EvalError(`the contents of the file '${state.shownPath(path)}' cannot be represented as a Nix string`);
      return s;
    },
  },
  {
    name: '__readFileType',
    arity: 1,
    fn: (args, _pos, state: EvalState) => {
      const path = state.realisePath(args[0]!, undefined, 'none');
      mustExist(state, path);
      return fileType(path);
    },
  },
  {
    name: '__readDir',
    arity: 1,
    fn: (args, _pos, state: EvalState) => {
      const path = state.realisePath(args[0]!, undefined);
      mustExist(state, path);
      if (!stat(path).isDirectory()) throw new EvalError(`'${state.shownPath(path)}' is not a directory`);
      const m = new Map<string, Lazy>();
      // A name that is not UTF-8 keeps its bytes (byte-fs.ts).
      for (const { name, entry: d } of readDirEntries(path)) {
        m.set(name, d.isFile() ? 'regular' : d.isDirectory() ? 'directory' : d.isSymbolicLink() ? 'symlink' : 'unknown');
      }
      return new NixAttrs(m);
    },
  },
  {
    name: '__pathExists',
    arity: 1,
    fn: (args, _pos, state: EvalState) => {
      const arg = force(args[0]!);
      const s = typeof arg === 'string' ? arg : arg instanceof NixString ? arg.s : undefined;
      const mustBeDir = s !== undefined && (s.endsWith('/') || s.endsWith('/.'));
      try {
        const path = state.realisePath(arg, undefined);
        try {
          const st = mustBeDir ? stat(path) : lstat(path);
          return !mustBeDir || st.isDirectory();
        } catch {
          return false;
        }
      } catch (e) {
        if (e instanceof RestrictedPathError) return false;
        throw e;
      }
    },
  },
  {
    name: 'baseNameOf',
    arity: 1,
    fn: (args, _pos, state: EvalState) => {
      const context = new Set<string>();
      const s = state.coerceToString(args[0]!, undefined, 'while evaluating the first argument passed to builtins.baseNameOf', context, false, false);
      return mkString(baseNameOf(s), context);
    },
  },
  {
    name: 'dirOf',
    arity: 1,
    fn: (args, _pos, state: EvalState) => {
      const v = force(args[0]!);
      if (v instanceof NixPath) return v.path === '/' ? v : new NixPath(nodePath.posix.dirname(v.path));
      const context = new Set<string>();
      const s = state.coerceToString(v, undefined, "while evaluating the first argument passed to 'builtins.dirOf'", context, false, false);
      const i = s.lastIndexOf('/');
      return mkString(i < 0 ? '.' : i === 0 ? '/' : s.slice(0, i), context);
    },
  },
  {
    name: '__toPath',
    arity: 1,
    fn: (args, _pos, state: EvalState) => {
      const context = new Set<string>();
      const p = state.coerceToPath(args[0]!, undefined, 'while evaluating the first argument passed to builtins.toPath', context);
      return mkString(canonPath(p), context);
    },
  },
  {
    name: '__getEnv',
    arity: 1,
    fn: (args, _pos, state: EvalState) => {
      const name = forceStringNoCtx(args[0]!, undefined, 'while evaluating the first argument passed to builtins.getEnv');
      if (state.settings.pureEval || state.settings.restrictEval) return '';
      const value = process.env[name];
      if (value === undefined) return '';
      return envValueWithBytes(name, value);
    },
  },
  { name: '__currentSystem', value: (state: EvalState) => state.settings.currentSystem, impureOnly: true },
  { name: '__currentTime', value: () => Math.floor(Date.now() / 1000), impureOnly: true },
  { name: '__nixVersion', value: () => NIX_VERSION },
  { name: '__langVersion', value: () => 6 },
  { name: '__storeDir', value: (state: EvalState) => state.store.storeDir },
]);

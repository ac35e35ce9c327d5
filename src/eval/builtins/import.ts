// import, scopedImport, and the search path: __findFile, __nixPath (`<p>` is
// `__findFile __nixPath "p"`).

import { registerBuiltins } from './registry.js';
import { EvalError, InvalidPathError } from '../errors.js';
import { force, forceAttrs, forceList, forceStringNoCtx, lazy, NixAttrs, NixPath, type Lazy } from '../values.js';
import type { EvalState, LookupPathEntry } from '../eval-state.js';

function importPath(state: EvalState, arg: Lazy): string {
  const path = state.realisePath(arg, undefined, 'none');
  return path;
}

registerBuiltins([
  {
    name: 'import',
    arity: 1,
    fn: (args, _pos, state: EvalState) => state.evalFile(importPath(state, args[0]!)),
  },
  {
    name: 'scopedImport',
    arity: 2,
    fn: (args, _pos, state: EvalState) => {
      const path = importPath(state, args[1]!);
      const scope = forceAttrs(args[0]!, undefined, 'while evaluating the first argument passed to builtins.scopedImport');
      return state.evalFileWithScope(path, scope);
    },
  },
  {
    name: '__findFile',
    arity: 2,
    fn: (args, _pos, state: EvalState) => {
      const list = forceList(args[0]!, undefined, 'while evaluating the first argument passed to builtins.findFile');
      const lookupPath: LookupPathEntry[] = [];
      for (const x of list) {
        const a = forceAttrs(x, undefined, 'while evaluating an element of the list passed to builtins.findFile');
        const pv = a.get('prefix');
        const prefix =
          pv === undefined
            ? ''
            : forceStringNoCtx(pv, undefined, 'while evaluating the `prefix` attribute of an element of the list passed to builtins.findFile');
        const p = a.get('path');
        if (p === undefined) {
          const e = new EvalError("attribute 'path' missing");
          e.addTrace(undefined, 'in an element of the __nixPath');
          throw e;
        }
        const context = new Set<string>();
        const path = state.coerceToString(
          p,
          undefined,
          'while evaluating the `path` attribute of an element of the list passed to builtins.findFile',
          context,
          false,
          false,
        );
        // The store paths it names must be valid (derivation outputs are built).
        try {
          state.realiseContext(context);
        } catch (e) {
          if (e instanceof InvalidPathError) throw new EvalError(`cannot find '${path}', since path '${e.path}' is not valid`);
          throw e;
        }
        lookupPath.push({ prefix, path });
      }
      const name = forceStringNoCtx(args[1]!, undefined, 'while evaluating the second argument passed to builtins.findFile');
      return new NixPath(state.findFile(lookupPath, name, undefined));
    },
  },
  {
    name: '__nixPath',
    value: (state: EvalState) =>
      lazy(() =>
        state.lookupPath.map(
          (e) =>
            new NixAttrs(
              new Map<string, Lazy>([
                ['path', e.path],
                ['prefix', e.prefix],
              ]),
            ),
        ),
      ),
  },
]);

export { force };

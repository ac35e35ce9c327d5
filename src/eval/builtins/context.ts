// String-context builtins: unsafeDiscardStringContext, hasContext,
// getContext, appendContext, unsafeDiscardOutputDependency,
// addDrvOutputDependencies.
//
// Context elements are encoded as in values.ts: `/nix/store/…` (opaque path),
// `=/nix/store/….drv` (a derivation with all its outputs, "drv deep") and
// `!out!/nix/store/….drv` (one output of a derivation).

import { registerBuiltins } from './registry.js';
import { EvalError } from '../errors.js';
import {
  forceAttrs,
  forceBool,
  forceList,
  forceStringNoCtx,
  forceStringValue,
  contextOf,
  mkString,
  NixAttrs,
  type Lazy,
} from '../values.js';
import type { EvalState } from '../eval-state.js';
import { isStorePath } from '../../store/store-path.js';
import { sortBytewiseInPlace } from '../../sort-strings.js';
import { parseNixContextElem as parseContextElem } from '../context-elements.js';

function isDerivationName(path: string): boolean {
  return path.endsWith('.drv');
}

const theArg = (fn: string) => `while evaluating the argument passed to builtins.${fn}`;

registerBuiltins([
  {
    name: '__unsafeDiscardStringContext',
    arity: 1,
    fn: (args, _pos, state: EvalState) =>
      state.coerceToString(args[0]!, undefined, theArg('unsafeDiscardStringContext'), new Set()),
  },
  {
    name: '__hasContext',
    arity: 1,
    fn: (args) => contextOf(forceStringValue(args[0]!, undefined, theArg('hasContext'))).size > 0,
  },
  {
    name: '__unsafeDiscardOutputDependency',
    arity: 1,
    fn: (args, _pos, state: EvalState) => {
      const context = new Set<string>();
      const s = state.coerceToString(args[0]!, undefined, theArg('unsafeDiscardOutputDependency'), context);
      const out = new Set<string>();
      for (const c of context) out.add(c.startsWith('=') ? c.slice(1) : c);
      return mkString(s, out);
    },
  },
  {
    name: '__addDrvOutputDependencies',
    arity: 1,
    fn: (args, _pos, state: EvalState) => {
      const context = new Set<string>();
      const s = state.coerceToString(args[0]!, undefined, theArg('addDrvOutputDependencies'), context);
      if (context.size !== 1) {
        throw new EvalError(`context of string '${s}' must have exactly one element, but has ${context.size}`);
      }
      const elem = parseContextElem([...context][0]!);
      switch (elem.kind) {
        case 'opaque':
          if (!isDerivationName(elem.path)) throw new EvalError(`path '${elem.path}' is not a derivation`);
          return mkString(s, new Set([`=${elem.path}`]));
        case 'built':
          throw new EvalError(
            `\`addDrvOutputDependencies\` can only act on derivations, not on a derivation output such as '${elem.output}'`,
          );
        case 'drvDeep':
          return mkString(s, context);
      }
    },
  },
  {
    name: '__getContext',
    arity: 1,
    fn: (args) => {
      const v = forceStringValue(args[0]!, undefined, theArg('getContext'));
      const infos = new Map<string, { path: boolean; allOutputs: boolean; outputs: string[] }>();
      const info = (p: string) => {
        let i = infos.get(p);
        if (i === undefined) infos.set(p, (i = { path: false, allOutputs: false, outputs: [] }));
        return i;
      };
      for (const c of contextOf(v)) {
        const e = parseContextElem(c);
        if (e.kind === 'opaque') info(e.path).path = true;
        else if (e.kind === 'drvDeep') info(e.drvPath).allOutputs = true;
        else info(e.drvPath).outputs.push(e.output);
      }
      const m = new Map<string, Lazy>();
      for (const [p, i] of infos) {
        const attrs = new Map<string, Lazy>();
        if (i.path) attrs.set('path', true);
        if (i.allOutputs) attrs.set('allOutputs', true);
        // Nix keeps context elements ordered, so outputs come out sorted.
        if (i.outputs.length > 0) attrs.set('outputs', sortBytewiseInPlace(i.outputs));
        m.set(p, new NixAttrs(attrs));
      }
      return new NixAttrs(m);
    },
  },
  {
    name: '__appendContext',
    arity: 2,
    fn: (args, _pos, state: EvalState) => {
      const orig = forceStringValue(args[0]!, undefined, 'while evaluating the first argument passed to builtins.appendContext');
      const context = new Set(contextOf(orig));
      const attrs = forceAttrs(args[1]!, undefined, 'while evaluating the second argument passed to builtins.appendContext');
      const storeDir = state.store.storeDir;
      for (const name of attrs.keys()) {
        const apos = attrs.posOf(name);
        if (!isStorePath(name, storeDir)) throw new EvalError(`context key '${name}' is not a store path`, apos);
        // Nix's ensurePath (outside read-only mode); with no substituter, the path must be valid.
        if (!state.store.readOnly && !state.store.isValidPath(name)) throw new EvalError(`path '${name}' does not exist and cannot be created`);
        const info = forceAttrs(attrs.get(name)!, apos, 'while evaluating the value of a string context');
        const pathAttr = info.get('path');
        if (pathAttr !== undefined) {
          if (forceBool(pathAttr, info.posOf('path'), 'while evaluating the `path` attribute of a string context')) context.add(name);
        }
        const allAttr = info.get('allOutputs');
        if (allAttr !== undefined) {
          if (forceBool(allAttr, info.posOf('allOutputs'), 'while evaluating the `allOutputs` attribute of a string context')) {
            if (!isDerivationName(name)) {
              throw new EvalError(`tried to add all-outputs context of ${name}, which is not a derivation, to a string`, apos);
            }
            context.add(`=${name}`);
          }
        }
        const outsAttr = info.get('outputs');
        if (outsAttr !== undefined) {
          const opos = info.posOf('outputs');
          const outs = forceList(outsAttr, opos, 'while evaluating the `outputs` attribute of a string context');
          if (outs.length > 0 && !isDerivationName(name)) {
            throw new EvalError(`tried to add derivation output context of ${name}, which is not a derivation, to a string`, apos);
          }
          for (const o of outs) {
            const out = forceStringNoCtx(o, opos, 'while evaluating an output name within a string context');
            context.add(`!${out}!${name}`);
          }
        }
      }
      return mkString(typeof orig === 'string' ? orig : orig.s, context);
    },
  },
]);

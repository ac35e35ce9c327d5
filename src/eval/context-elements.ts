// String context elements as the evaluator encodes them (see values.ts):
// `/nix/store/…` (a path), `=/nix/store/….drv` (a derivation with its whole
// closure, from drvPath) and `!<output>!/nix/store/….drv` (one output).

import { EvalError } from './errors.js';

export type ContextElem =
  | { kind: 'opaque'; path: string }
  | { kind: 'drvDeep'; drvPath: string }
  | { kind: 'built'; drvPath: string; output: string };

export function parseNixContextElem(elem: string): ContextElem {
  if (elem.startsWith('=')) return { kind: 'drvDeep', drvPath: elem.slice(1) };
  if (elem.startsWith('!')) {
    const i = elem.indexOf('!', 1);
    if (i < 0) throw new EvalError(`invalid string context element '${elem}'`);
    return { kind: 'built', output: elem.slice(1, i), drvPath: elem.slice(i + 1) };
  }
  return { kind: 'opaque', path: elem };
}

/**
 * The element Nix's sorted context holds first (the one its messages
 * name): paths, then whole derivations, then outputs, each kind by its
 * store path (and outputs by name). Our contexts keep insertion order.
 */
export function firstInNixOrder(elems: Iterable<string>): string | undefined {
  let first: string | undefined;
  let firstKey = '';
  for (const elem of elems) {
    const c = parseNixContextElem(elem);
    const key = c.kind === 'opaque' ? `0${c.path}` : c.kind === 'drvDeep' ? `1${c.drvPath}` : `2${c.drvPath}\0${c.output}`;
    if (first === undefined || key < firstKey) {
      first = elem;
      firstKey = key;
    }
  }
  return first;
}

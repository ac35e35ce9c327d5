// Printing values as Nix prints them:
//
// - printAmbiguous: `nix-instantiate --eval` output (`{ a = 1; }`, `<CODE>`,
//   `<LAMBDA>`, «repeated»), attribute names unquoted, as Nix does.
// - printValue: the printer used inside error messages and by
//   builtins.trace (`{ a = 1; b = «thunk»; }`, `«lambda f @ /f.nix:1:4»`,
//   elision after 10 attributes/items, depth 10, strings cut at 1024 bytes).

import { showPos } from './position.js';
import { StackOverflowError } from './errors.js';
import {
  force,
  isDerivation,
  Lambda,
  NixAttrs,
  NixPath,
  NixString,
  PrimOp,
  PrimOpApp,
  setShowValueHook,
  Thunk,
  type Lazy,
  type Value,
  isInt,
  NixFloat,
} from './values.js';
import { formatFloat } from './float-format.js';
import { printAttributeName, printLiteralString } from './literal-strings.js';

export { printAttributeName, printLiteralString };

function stringChars(v: string | NixString): string {
  return typeof v === 'string' ? v : v.s;
}

/** `nix-instantiate --eval` output (Nix's printAmbiguous). `maxDepth` guards runaway structures. */
export function printAmbiguous(x: Lazy, maxDepth = 10000): string {
  // Like Nix, a list counts as repeated when the same stored cell (thunk or
  // list slot) is met again, a set when the same set is met again.
  const seen = new Set<object>();
  const out: string[] = [];
  const go = (x: Lazy, depth: number, cell: object) => {
    if (depth > maxDepth) throw new StackOverflowError('stack overflow; max-call-depth exceeded');
    if (x instanceof Thunk) {
      if (!x.forced) {
        out.push(x.blackholed ? '«potential infinite recursion»' : '<CODE>');
        return;
      }
      x = x.force();
    }
    const v = x as Value;
    if (v === null) out.push('null');
    else if (typeof v === 'boolean') out.push(v ? 'true' : 'false');
    else if (isInt(v)) out.push(v.toString());
    else if (v instanceof NixFloat) out.push(formatFloat(v.v));
    else if (typeof v === 'string' || v instanceof NixString) out.push(printLiteralString(stringChars(v)));
    else if (v instanceof NixPath) out.push(v.path);
    else if (v instanceof NixAttrs) {
      if (v.size > 0 && seen.has(v)) out.push('«repeated»');
      else {
        seen.add(v);
        out.push('{ ');
        for (const k of v.keys()) {
          out.push(printAttributeName(k), ' = ');
          const e = v.get(k)!;
          go(e, depth + 1, typeof e === 'object' && e !== null ? e : {});
          out.push('; ');
        }
        out.push('}');
      }
    } else if (Array.isArray(v)) {
      if (v.length > 0 && seen.has(cell)) out.push('«repeated»');
      else {
        seen.add(cell);
        out.push('[ ');
        for (const e of v) {
          go(e, depth + 1, typeof e === 'object' && e !== null ? e : {});
          out.push(' ');
        }
        out.push(']');
      }
    } else if (v instanceof Lambda) out.push('<LAMBDA>');
    else if (v instanceof PrimOp) out.push('<PRIMOP>');
    else if (v instanceof PrimOpApp) out.push('<PRIMOP-APP>');
  };
  go(x, 0, {});
  return out.join('');
}

export interface PrintOptions {
  force?: boolean;
  derivationPaths?: boolean;
  maxDepth?: number;
  maxAttrs?: number;
  maxListItems?: number;
  maxStringLength?: number;
  /** Throw errors met while forcing instead of printing «error: …». */
  errors?: 'print' | 'throw' | 'throwTopLevel';
  /** Called to show a derivation's drvPath when derivationPaths is set. */
  showDerivation?: (v: NixAttrs) => string;
}

/** The options Nix uses for values shown inside error messages. */
export const errorPrintOptions: PrintOptions = { maxDepth: 10, maxAttrs: 10, maxListItems: 10, maxStringLength: 1024 };

function elided(n: number, single: string, plural: string): string {
  return `«${n} ${n === 1 ? single : plural} elided»`;
}

/** Nix's Printer (print.cc) without colours or pretty-printing. */
export function printValue(x: Lazy, opts: PrintOptions = {}): string {
  const maxDepth = opts.maxDepth ?? Infinity;
  const maxAttrs = opts.maxAttrs ?? Infinity;
  const maxList = opts.maxListItems ?? Infinity;
  const maxStr = opts.maxStringLength ?? Infinity;
  const seen = new Set<object>();
  let totalAttrs = 0;
  let totalItems = 0;
  const out: string[] = [];

  const print = (x: Lazy, depth: number, cell: object = typeof x === 'object' && x !== null ? x : {}) => {
    try {
      if (x instanceof Thunk) {
        if (opts.force) x = x.force();
        else if (!x.forced) {
          out.push(x.blackholed ? '«potential infinite recursion»' : '«thunk»');
          return;
        } else x = x.force();
      }
      const v = x as Value;
      if (v === null) out.push('null');
      else if (typeof v === 'boolean') out.push(v ? 'true' : 'false');
      else if (isInt(v)) out.push(v.toString());
      else if (v instanceof NixFloat) out.push(formatFloat(v.v));
      else if (typeof v === 'string' || v instanceof NixString) out.push(printLiteralString(stringChars(v), maxStr));
      else if (v instanceof NixPath) out.push(v.path);
      else if (v instanceof NixAttrs) printAttrs(v, depth);
      else if (Array.isArray(v)) printList(v, depth, cell);
      else if (v instanceof Lambda) {
        const info = v.info;
        out.push(`«lambda${info.name ? ' ' + info.name : ''} @ ${info.pos ? showPos(info.pos) : '«none»:0'}»`);
      } else if (v instanceof PrimOp) out.push(`«primop ${v.name}»`);
      else if (v instanceof PrimOpApp) out.push(`«partially applied primop ${v.primop.name}»`);
    } catch (e) {
      if (e instanceof StackOverflowError) throw e;
      if (!(e instanceof Error) || !('traces' in e)) throw e;
      if (opts.errors === 'throw' || (opts.errors === 'throwTopLevel' && depth === 0)) throw e;
      out.push(`«error: ${e.message}»`);
    }
  };

  const printAttrs = (v: NixAttrs, depth: number) => {
    if (seen.has(v)) {
      out.push('«repeated»');
      return;
    }
    seen.add(v);
    if (opts.force && opts.derivationPaths && isDerivation(v)) {
      out.push(opts.showDerivation ? opts.showDerivation(v) : '«derivation»');
      return;
    }
    if (depth >= maxDepth) {
      out.push('{ ... }');
      return;
    }
    out.push('{');
    let keys = v.keys();
    if (maxAttrs !== Infinity) {
      const important = keys.filter((k) => k === 'type' || k === '_type');
      if (important.length > 0) keys = [...important, ...keys.filter((k) => k !== 'type' && k !== '_type')];
    }
    let current = 0;
    for (const k of keys) {
      out.push(' ');
      if (totalAttrs >= maxAttrs) {
        out.push(elided(keys.length - current, 'attribute', 'attributes'));
        break;
      }
      out.push(printAttributeName(k), ' = ');
      print(v.get(k)!, depth + 1);
      out.push(';');
      totalAttrs++;
      current++;
    }
    out.push(' }');
  };

  const printList = (v: Lazy[], depth: number, cell: object) => {
    if (v.length > 0 && seen.has(cell)) {
      out.push('«repeated»');
      return;
    }
    seen.add(cell);
    if (depth >= maxDepth) {
      out.push('[ ... ]');
      return;
    }
    out.push('[');
    let current = 0;
    for (const e of v) {
      out.push(' ');
      if (totalItems >= maxList) {
        out.push(elided(v.length - current, 'item', 'items'));
        break;
      }
      print(e, depth + 1);
      totalItems++;
      current++;
    }
    out.push(' ]');
  };

  print(x, 0, {});
  return out.join('');
}

/** How values appear inside error messages. */
export function showValueForError(v: Lazy): string {
  return printValue(v, errorPrintOptions);
}

setShowValueHook(showValueForError);

export { force };

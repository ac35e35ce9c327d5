// builtins.toXML and the XML printer behind `nix-instantiate --eval --xml`,
// writing exactly what Nix's value-to-xml.cc and XMLWriter write: two-space
// indentation, attributes sorted by name, `"<>&` and newlines escaped in
// attribute values, derivations shown once (later as <repeated />).

import { registerBuiltins } from './registry.js';
import {
  addContext,
  force,
  isDerivation,
  Lambda,
  mkString,
  NixAttrs,
  NixPath,
  NixString,
  Thunk,
  type Lazy,
  type Value,
  isInt,
  NixFloat,
} from '../values.js';
import type { EvalState } from '../eval-state.js';
import type { Pos } from '../position.js';
import { formatFloat } from '../float-format.js';
import { enterCallDepth } from './json.js';
import { DERIVATION_INTERNAL_PATH } from './derivation.js';

type XmlAttrs = Record<string, string>;

function escapeAttr(s: string): string {
  return s.replace(/["<>&\n]/g, (c) => (c === '"' ? '&quot;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '&' ? '&amp;' : '&#xA;'));
}

class XmlWriter {
  private out: string[] = ["<?xml version='1.0' encoding='utf-8'?>\n"];
  private open: string[] = [];

  private attrs(a: XmlAttrs): string {
    let s = '';
    for (const k of Object.keys(a).sort()) s += ` ${k}="${escapeAttr(a[k]!)}"`;
    return s;
  }

  openElement(name: string, a: XmlAttrs = {}): void {
    this.out.push(`${'  '.repeat(this.open.length)}<${name}${this.attrs(a)}>\n`);
    this.open.push(name);
  }

  closeElement(): void {
    const name = this.open.pop()!;
    this.out.push(`${'  '.repeat(this.open.length)}</${name}>\n`);
  }

  emptyElement(name: string, a: XmlAttrs = {}): void {
    this.out.push(`${'  '.repeat(this.open.length)}<${name}${this.attrs(a)} />\n`);
  }

  finish(): string {
    while (this.open.length > 0) this.closeElement();
    return this.out.join('');
  }
}

export interface XmlOptions {
  /** Force thunks (toXML, `--strict`); otherwise unevaluated values print as <unevaluated />. */
  strict: boolean;
  /** Add path/line/column of attributes and functions (`nix-instantiate --xml` without --no-location). */
  location: boolean;
}

function posAttrs(a: XmlAttrs, pos: Pos | undefined): void {
  if (!pos) return;
  // Only files have a path (Nix 2.8 put an `-E` expression's or stdin's
  // text there; current Nix leaves it out). The internal derivation.nix is
  // a file at the root of Nix's internal accessor.
  const o = pos.origin;
  if (o.kind === 'file') a['path'] = o.path === DERIVATION_INTERNAL_PATH ? '/derivation-internal.nix' : o.path;
  a['line'] = String(pos.line);
  a['column'] = String(pos.column);
}

/**
 * The XML document for a value; string contexts met on the way are added to
 * `context` when given.
 */
export function printValueAsXml(state: EvalState, value: Lazy, opts: XmlOptions, context: Set<string> = new Set()): string {
  const doc = new XmlWriter();
  const drvsSeen = new Set<string>();
  const { strict, location } = opts;

  const stringOfForced = (x: Lazy, pos: Pos | undefined): string | undefined => {
    if (strict) force(x, pos);
    if (x instanceof Thunk && !x.forced) return undefined;
    const v = force(x);
    return typeof v === 'string' ? v : v instanceof NixString ? v.s : undefined;
  };

  const showAttrs = (attrs: NixAttrs): void => {
    for (const name of attrs.keys()) {
      const a: XmlAttrs = { name };
      const apos = attrs.posOf(name);
      if (location) posAttrs(a, apos);
      doc.openElement('attr', a);
      go(attrs.get(name)!, apos);
      doc.closeElement();
    }
  };

  const go = (x: Lazy, pos: Pos | undefined): void => {
    enterCallDepth(state, pos);
    try {
      if (strict) force(x, pos);
      if (x instanceof Thunk && !x.forced) {
        doc.emptyElement('unevaluated');
        return;
      }
      const v: Value = force(x);
      if (isInt(v)) doc.emptyElement('int', { value: v.toString() });
      else if (typeof v === 'boolean') doc.emptyElement('bool', { value: v ? 'true' : 'false' });
      else if (typeof v === 'string') doc.emptyElement('string', { value: v });
      else if (v instanceof NixString) {
        addContext(context, v.ctx);
        doc.emptyElement('string', { value: v.s });
      } else if (v instanceof NixPath) doc.emptyElement('path', { value: v.path });
      else if (v === null) doc.emptyElement('null');
      else if (v instanceof NixFloat) doc.emptyElement('float', { value: formatFloat(v.v) });
      else if (Array.isArray(v)) {
        doc.openElement('list');
        for (const e of v) go(e, pos);
        doc.closeElement();
      } else if (v instanceof NixAttrs) {
        if (isDerivation(v)) {
          const a: XmlAttrs = {};
          let drvPath = '';
          const d = v.get('drvPath');
          if (d !== undefined) {
            const s = stringOfForced(d, v.posOf('drvPath'));
            if (s !== undefined) a['drvPath'] = drvPath = s;
          }
          const o = v.get('outPath');
          if (o !== undefined) {
            const s = stringOfForced(o, v.posOf('outPath'));
            if (s !== undefined) a['outPath'] = s;
          }
          doc.openElement('derivation', a);
          if (drvPath !== '' && !drvsSeen.has(drvPath)) {
            drvsSeen.add(drvPath);
            showAttrs(v);
          } else doc.emptyElement('repeated');
          doc.closeElement();
        } else {
          doc.openElement('attrs');
          showAttrs(v);
          doc.closeElement();
        }
      } else if (v instanceof Lambda) {
        const a: XmlAttrs = {};
        if (location) posAttrs(a, v.info.pos);
        doc.openElement('function', a);
        const info = v.info;
        if (info.formals) {
          const pa: XmlAttrs = {};
          if (info.arg !== undefined) pa['name'] = info.arg;
          if (info.ellipsis) pa['ellipsis'] = '1';
          doc.openElement('attrspat', pa);
          for (const name of info.formals.map((f) => f.name).sort()) doc.emptyElement('attr', { name });
          doc.closeElement();
        } else doc.emptyElement('varpat', { name: info.arg ?? '' });
        doc.closeElement();
      } else {
        // Built-in functions are not serialised.
        doc.emptyElement('unevaluated');
      }
    } finally {
      state.callDepth--;
    }
  };

  doc.openElement('expr');
  go(value, undefined);
  return doc.finish();
}

registerBuiltins([
  {
    name: '__toXML',
    arity: 1,
    fn: (args, _pos, state: EvalState) => {
      const context = new Set<string>();
      const s = printValueAsXml(state, args[0]!, { strict: true, location: false }, context);
      return mkString(s, context);
    },
  },
]);


// Prints an expression the way `nix-instantiate --parse` does (Nix's
// Expr::show): fully parenthesised, attributes and formals sorted by name,
// operator sugar shown in its lowered form (`__sub`, `__lessThan`, …).

import type { AttrName, Expr, ExprAttrs } from './ast.js';

const RESERVED = new Set(['if', 'then', 'else', 'assert', 'with', 'let', 'in', 'rec', 'inherit']);

/** A string literal with Nix's escapes (`\"`, `\\`, `\n`, `\r`, `\t`, `\${`). */
export function showString(s: string): string {
  let out = '"';
  let chunk = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string | undefined;
    if (c === 34) esc = '\\"';
    else if (c === 92) esc = '\\\\';
    else if (c === 10) esc = '\\n';
    else if (c === 13) esc = '\\r';
    else if (c === 9) esc = '\\t';
    else if (c === 36 && s.charCodeAt(i + 1) === 123) esc = '\\$';
    if (esc !== undefined) {
      out += s.slice(chunk, i) + esc;
      chunk = i + 1;
    }
  }
  return out + s.slice(chunk) + '"';
}

const isIdStart = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
const isIdRest = (c: number) => isIdStart(c) || (c >= 48 && c <= 57) || c === 39 || c === 45;

/** An identifier as Nix prints symbols: quoted when it is a keyword or not identifier-shaped. */
export function showIdentifier(s: string): string {
  if (s === '') return '""';
  if (RESERVED.has(s)) return `"${s}"`;
  if (!isIdStart(s.charCodeAt(0))) return showString(s);
  for (let i = 1; i < s.length; i++) if (!isIdRest(s.charCodeAt(i))) return showString(s);
  return s;
}

/** A double as C++'s `ostream << double` prints it (printf `%g`, 6 significant digits). */
export function showFloat(v: number): string {
  if (Number.isNaN(v)) return v < 0 ? '-nan' : 'nan';
  if (!Number.isFinite(v)) return v < 0 ? '-inf' : 'inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const exp = v.toExponential(5); // d.ddddde±X, already rounded to 6 digits
  const m = /^(-?)(\d)\.(\d+)e([+-]\d+)$/.exec(exp)!;
  const x = Number(m[4]);
  if (x < -4 || x >= 6) {
    let mant = `${m[2]}.${m[3]}`.replace(/0+$/, '').replace(/\.$/, '');
    const ax = Math.abs(x);
    return `${m[1]}${mant}e${x < 0 ? '-' : '+'}${ax < 10 ? '0' : ''}${ax}`;
  }
  let fixed = v.toFixed(5 - x);
  if (fixed.includes('.')) fixed = fixed.replace(/0+$/, '').replace(/\.$/, '');
  return fixed;
}

export function showAttrPath(path: AttrName[]): string {
  return path.map((a) => (a.name !== undefined ? showIdentifier(a.name) : `"\${${showExpr(a.expr)}}"`)).join('.');
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function showBindings(e: ExprAttrs, out: string[]): void {
  const sorted = [...e.attrs.entries()].sort((a, b) => byName(a[0], b[0]));
  const inherits: string[] = [];
  const inheritsFrom = new Map<number, string[]>();
  for (const [name, def] of sorted) {
    if (def.kind === 'inherited') inherits.push(name);
    else if (def.kind === 'inheritedFrom' && def.e.kind === 'Select' && def.e.e.kind === 'InheritFrom') {
      const idx = def.e.e.index;
      let l = inheritsFrom.get(idx);
      if (!l) inheritsFrom.set(idx, (l = []));
      l.push(name);
    }
  }
  if (inherits.length > 0) {
    out.push('inherit');
    for (const n of inherits) out.push(' ', showIdentifier(n));
    out.push('; ');
  }
  for (const idx of [...inheritsFrom.keys()].sort((a, b) => a - b)) {
    out.push('inherit (');
    show(e.inheritFromExprs![idx]!, out);
    out.push(')');
    for (const n of inheritsFrom.get(idx)!) out.push(' ', showIdentifier(n));
    out.push('; ');
  }
  for (const [name, def] of sorted) {
    if (def.kind !== 'plain') continue;
    out.push(showIdentifier(name), ' = ');
    show(def.e, out);
    out.push('; ');
  }
  for (const d of e.dynamicAttrs) {
    out.push('"${');
    show(d.nameExpr, out);
    out.push('}" = ');
    show(d.valueExpr, out);
    out.push('; ');
  }
}

function show(e: Expr, out: string[]): void {
  switch (e.kind) {
    case 'Int':
      out.push(e.value.toString());
      return;
    case 'Float':
      out.push(showFloat(e.value));
      return;
    case 'String':
      out.push(showString(e.value));
      return;
    case 'Path':
      out.push(e.value);
      return;
    case 'Var':
      out.push(showIdentifier(e.name));
      return;
    case 'InheritFrom':
      // Nix's ExprInheritFrom has no name of its own; it prints as an empty symbol.
      out.push('""');
      return;
    case 'Select':
      out.push('(');
      show(e.e, out);
      out.push(').', showAttrPath(e.attrPath));
      if (e.def) {
        out.push(' or (');
        show(e.def, out);
        out.push(')');
      }
      return;
    case 'OpHasAttr':
      out.push('((');
      show(e.e, out);
      out.push(') ? ', showAttrPath(e.attrPath), ')');
      return;
    case 'Attrs':
      if (e.recursive) out.push('rec ');
      out.push('{ ');
      showBindings(e, out);
      out.push('}');
      return;
    case 'List':
      out.push('[ ');
      for (const x of e.elems) {
        out.push('(');
        show(x, out);
        out.push(') ');
      }
      out.push(']');
      return;
    case 'Lambda':
      out.push('(');
      if (e.formals) {
        out.push('{ ');
        const formals = [...e.formals.formals].sort((a, b) => byName(a.name, b.name));
        let first = true;
        for (const f of formals) {
          if (first) first = false;
          else out.push(', ');
          out.push(showIdentifier(f.name));
          if (f.def) {
            out.push(' ? ');
            show(f.def, out);
          }
        }
        if (e.formals.ellipsis) {
          if (!first) out.push(', ');
          out.push('...');
        }
        out.push(' }');
        if (e.arg !== undefined) out.push(' @ ');
      }
      if (e.arg !== undefined) out.push(showIdentifier(e.arg));
      out.push(': ');
      show(e.body, out);
      out.push(')');
      return;
    case 'Call':
      out.push('(');
      show(e.fun, out);
      for (const a of e.args) {
        out.push(' ');
        show(a, out);
      }
      out.push(')');
      return;
    case 'Let':
      out.push('(let ');
      showBindings(e.attrs, out);
      out.push('in ');
      show(e.body, out);
      out.push(')');
      return;
    case 'With':
      out.push('(with ');
      show(e.attrs, out);
      out.push('; ');
      show(e.body, out);
      out.push(')');
      return;
    case 'If':
      out.push('(if ');
      show(e.cond, out);
      out.push(' then ');
      show(e.then, out);
      out.push(' else ');
      show(e.else, out);
      out.push(')');
      return;
    case 'Assert':
      out.push('assert ');
      show(e.cond, out);
      out.push('; ');
      show(e.body, out);
      return;
    case 'OpNot':
      out.push('(! ');
      show(e.e, out);
      out.push(')');
      return;
    case 'BinOp':
      out.push('(');
      show(e.e1, out);
      out.push(` ${e.op} `);
      show(e.e2, out);
      out.push(')');
      return;
    case 'ConcatStrings': {
      out.push('(');
      let first = true;
      for (const p of e.parts) {
        if (first) first = false;
        else out.push(' + ');
        show(p.e, out);
      }
      out.push(')');
      return;
    }
    case 'Pos':
      out.push('__curPos');
      return;
  }
}

/** The text `nix-instantiate --parse` prints for an expression. */
export function showExpr(e: Expr): string {
  const out: string[] = [];
  show(e, out);
  return out.join('');
}

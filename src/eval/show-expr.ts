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

/**
 * Work items: a string is printed as is, an expression is expanded into its
 * pieces. Printing with an explicit stack keeps very deep trees (long `++`
 * chains, else-if ladders) from exhausting the JS stack.
 */
type Item = string | Expr;

function bindingItems(e: ExprAttrs, items: Item[]): void {
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
  if (inherits.length > 0) items.push('inherit' + inherits.map((n) => ' ' + showIdentifier(n)).join('') + '; ');
  for (const idx of [...inheritsFrom.keys()].sort((a, b) => a - b)) {
    items.push('inherit (', e.inheritFromExprs![idx]!, ')' + inheritsFrom.get(idx)!.map((n) => ' ' + showIdentifier(n)).join('') + '; ');
  }
  for (const [name, def] of sorted) {
    if (def.kind === 'plain') items.push(showIdentifier(name) + ' = ', def.e, '; ');
  }
  for (const d of e.dynamicAttrs) items.push('"${', d.nameExpr, '}" = ', d.valueExpr, '; ');
}

/** The pieces of one expression, in print order. */
function expand(e: Expr): Item[] {
  switch (e.kind) {
    case 'Int':
      return [e.value.toString()];
    case 'Float':
      return [showFloat(e.value)];
    case 'String':
      return [showString(e.value)];
    case 'Path':
      return [e.value];
    case 'Var':
      return [showIdentifier(e.name)];
    case 'InheritFrom':
      // Nix's ExprInheritFrom has no name of its own; it prints as an empty symbol.
      return ['""'];
    case 'Select':
      return e.def
        ? ['(', e.e, ').' + showAttrPath(e.attrPath) + ' or (', e.def, ')']
        : ['(', e.e, ').' + showAttrPath(e.attrPath)];
    case 'OpHasAttr':
      return ['((', e.e, ') ? ' + showAttrPath(e.attrPath) + ')'];
    case 'Attrs': {
      const items: Item[] = [e.recursive ? 'rec { ' : '{ '];
      bindingItems(e, items);
      items.push('}');
      return items;
    }
    case 'List': {
      const items: Item[] = ['[ '];
      for (const x of e.elems) items.push('(', x, ') ');
      items.push(']');
      return items;
    }
    case 'Lambda': {
      const items: Item[] = ['('];
      if (e.formals) {
        items.push('{ ');
        const formals = [...e.formals.formals].sort((a, b) => byName(a.name, b.name));
        formals.forEach((f, i) => {
          items.push((i > 0 ? ', ' : '') + showIdentifier(f.name));
          if (f.def) items.push(' ? ', f.def);
        });
        if (e.formals.ellipsis) items.push(formals.length > 0 ? ', ...' : '...');
        items.push(' }');
        if (e.arg !== undefined) items.push(' @ ');
      }
      if (e.arg !== undefined) items.push(showIdentifier(e.arg));
      items.push(': ', e.body, ')');
      return items;
    }
    case 'Call': {
      const items: Item[] = ['(', e.fun];
      for (const a of e.args) items.push(' ', a);
      items.push(')');
      return items;
    }
    case 'Let': {
      const items: Item[] = ['(let '];
      bindingItems(e.attrs, items);
      items.push('in ', e.body, ')');
      return items;
    }
    case 'With':
      return ['(with ', e.attrs, '; ', e.body, ')'];
    case 'If':
      return ['(if ', e.cond, ' then ', e.then, ' else ', e.else, ')'];
    case 'Assert':
      return ['assert ', e.cond, '; ', e.body];
    case 'OpNot':
      return ['(! ', e.e, ')'];
    case 'BinOp':
      return ['(', e.e1, ` ${e.op} `, e.e2, ')'];
    case 'ConcatStrings': {
      const items: Item[] = ['('];
      e.parts.forEach((p, i) => {
        if (i > 0) items.push(' + ');
        items.push(p.e);
      });
      items.push(')');
      return items;
    }
    case 'Pos':
      return ['__curPos'];
  }
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The text `nix-instantiate --parse` prints for an expression. */
export function showExpr(e: Expr): string {
  const out: string[] = [];
  const stack: Item[] = [e];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (typeof item === 'string') {
      out.push(item);
      continue;
    }
    const pieces = expand(item);
    for (let i = pieces.length - 1; i >= 0; i--) stack.push(pieces[i]!);
  }
  return out.join('');
}

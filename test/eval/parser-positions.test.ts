import { describe, expect, it } from 'vitest';
import { parse } from '../../src/eval/parser.js';
import type { Expr, ExprAttrs, ExprLambda } from '../../src/eval/ast.js';
import type { Pos } from '../../src/eval/position.js';

const parseStr = (src: string) => parse(src, { kind: 'file', path: '/f.nix', source: src }, { basePath: '/' });
const at = (p: Pos | undefined) => (p ? `${p.line}:${p.column}` : 'none');

describe('node positions follow Nix', () => {
  it('calls sit at the function, operators at the operator', () => {
    const e = parseStr('f\n  x y');
    expect(e.kind).toBe('Call');
    expect(at(e.pos)).toBe('1:1');
    const op = parseStr('a  ==  b');
    expect(at(op.pos)).toBe('1:4');
    const sub = parseStr('a - b');
    expect(at(sub.pos)).toBe('1:3');
    const neg = parseStr(' -a');
    expect(at(neg.pos)).toBe('1:2');
  });

  it('`+` keeps the position of each operand', () => {
    const e = parseStr('(a) + b');
    if (e.kind !== 'ConcatStrings') throw new Error(e.kind);
    expect(at(e.pos)).toBe('1:5');
    expect(e.parts.map((p) => at(p.pos))).toEqual(['1:1', '1:7']);
    expect(e.forceString).toBe(false);
  });

  it('selects sit at the selected expression; keywords at the keyword', () => {
    expect(at(parseStr('  a.b.c').pos)).toBe('1:3');
    expect(at(parseStr('if a then b else c').pos)).toBe('1:1');
    expect(at((parseStr('x: with a; b') as ExprLambda).body.pos)).toBe('1:4');
    expect(at(parseStr('rec { }').pos)).toBe('1:1');
    expect(at(parseStr(' { a = 1; }').pos)).toBe('1:2');
    expect(at(parseStr('__curPos').pos)).toBe('1:1');
    expect(at(parseStr(' <p>').pos)).toBe('1:2');
  });

  it('string interpolation sits at its first part; indented strings at the opening', () => {
    const s = parseStr('"a${b}"');
    expect(s.kind).toBe('ConcatStrings');
    expect(at(s.pos)).toBe('1:2');
    const i = parseStr("''\n  ${b} c''");
    expect(i.kind).toBe('ConcatStrings');
    expect(at(i.pos)).toBe('1:1');
  });

  it('attribute definitions sit at the attribute name', () => {
    const e = parseStr('{\n  a.b = 1;\n  inherit c;\n  inherit (d) e;\n}') as ExprAttrs;
    expect(at(e.attrs.get('a')!.pos)).toBe('2:3');
    const nested = e.attrs.get('a')!.e as ExprAttrs;
    expect(at(nested.attrs.get('b')!.pos)).toBe('2:3');
    expect(at(e.attrs.get('c')!.pos)).toBe('3:11');
    const inh = e.attrs.get('e')!;
    expect(inh.kind).toBe('inheritedFrom');
    expect(at(inh.pos)).toBe('4:15');
    expect(inh.e.kind === 'Select' && inh.e.e.kind === 'InheritFrom' ? at(inh.e.e.pos) : '').toBe('4:12');
    expect(e.inheritFromExprs?.length).toBe(1);
  });

  it('formals sit at their names, lambdas at their start', () => {
    const l = parseStr('{ a,\n  b ? 1 }: a') as ExprLambda;
    expect(at(l.pos)).toBe('1:1');
    expect(l.formals!.formals.map((f) => `${f.name}@${at(f.pos)}`)).toEqual(['a@1:3', 'b@2:3']);
  });

  it('counts lines at \\n, \\r\\n and a lone \\r', () => {
    expect(at(parseStr('\r\n\r  x').pos)).toBe('3:3');
  });
});

describe('lambda names', () => {
  it('takes the name of the attribute it is bound to, through currying', () => {
    const e = parseStr('let f = x: y: x; in { g = a: a; h.i = b: b; ${"j"} = c: c; }') as Expr;
    if (e.kind !== 'Let') throw new Error();
    const f = e.attrs.attrs.get('f')!.e as ExprLambda;
    expect(f.name).toBe('f');
    expect((f.body as ExprLambda).name).toBe('f');
    const body = e.body as ExprAttrs;
    expect((body.attrs.get('g')!.e as ExprLambda).name).toBe('g');
    expect(((body.attrs.get('h')!.e as ExprAttrs).attrs.get('i')!.e as ExprLambda).name).toBe('i');
    expect((body.attrs.get('j')!.e as ExprLambda).name).toBe('j');
  });

  it('leaves anonymous lambdas and dynamic attributes unnamed', () => {
    const e = parseStr('{ ${x} = a: a; l = [ (b: b) ]; }') as ExprAttrs;
    expect((e.dynamicAttrs[0]!.valueExpr as ExprLambda).name).toBeUndefined();
  });
});

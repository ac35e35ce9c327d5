import { describe, expect, it } from 'vitest';
import { showExpr, showFloat, showIdentifier, showString } from '../../src/eval/show-expr.js';

describe('showFloat prints like C++ ostream (%g)', () => {
  it('uses six significant digits and drops trailing zeros', () => {
    expect(showFloat(1.5)).toBe('1.5');
    expect(showFloat(3.14159265)).toBe('3.14159');
    expect(showFloat(100000)).toBe('100000');
    expect(showFloat(2)).toBe('2');
    expect(showFloat(0)).toBe('0');
    expect(showFloat(-0.25)).toBe('-0.25');
  });
  it('switches to exponent notation outside 1e-4 … 1e6', () => {
    expect(showFloat(1000000)).toBe('1e+06');
    expect(showFloat(1234567)).toBe('1.23457e+06');
    expect(showFloat(0.0001)).toBe('0.0001');
    expect(showFloat(0.00001)).toBe('1e-05');
    expect(showFloat(1.5e300)).toBe('1.5e+300');
    expect(showFloat(999999.5)).toBe('1e+06');
  });
  it('prints non-finite values as inf / nan', () => {
    expect(showFloat(Infinity)).toBe('inf');
    expect(showFloat(-Infinity)).toBe('-inf');
    expect(showFloat(NaN)).toBe('nan');
  });
});

describe('strings and identifiers', () => {
  it('escapes only what Nix escapes', () => {
    expect(showString('a"b\\c\nd\re\tf${g}$h')).toBe('"a\\"b\\\\c\\nd\\re\\tf\\${g}$h"');
    expect(showString('ä')).toBe('"ä"');
  });
  it('quotes keywords and names that are no identifiers', () => {
    expect(showIdentifier('foo-bar\'')).toBe("foo-bar'");
    expect(showIdentifier('if')).toBe('"if"');
    expect(showIdentifier('or')).toBe('or');
    expect(showIdentifier('1x')).toBe('"1x"');
    expect(showIdentifier('a b')).toBe('"a b"');
    expect(showIdentifier('')).toBe('""');
  });
});

describe('showExpr of hand-built trees', () => {
  it('prints every node kind in Nix form', () => {
    expect(
      showExpr({
        kind: 'Lambda',
        formals: { formals: [{ name: 'b' }, { name: 'a', def: { kind: 'Int', value: 1n } }], ellipsis: true },
        arg: 'args',
        body: {
          kind: 'Assert',
          cond: { kind: 'OpNot', e: { kind: 'Var', name: 'x' } },
          body: {
            kind: 'OpHasAttr',
            e: { kind: 'Var', name: 'y' },
            attrPath: [{ name: 'p' }, { expr: { kind: 'Var', name: 'q' } }],
          },
        },
      }),
    ).toBe('({ a ? 1, b, ... } @ args: assert (! x); ((y) ? p."${q}"))');
    expect(showExpr({ kind: 'Float', value: 0.1 })).toBe('0.1');
    expect(showExpr({ kind: 'Path', value: '/a b' })).toBe('/a b');
    expect(showExpr({ kind: 'List', elems: [] })).toBe('[ ]');
  });
});

import { describe, expect, it } from 'vitest';
import { parse } from '../../src/eval/parser.js';
import { showExpr } from '../../src/eval/show-expr.js';

const p = (src: string) => showExpr(parse(src, { kind: 'string', source: src }, { basePath: '/base' }));

describe('parse → showExpr', () => {
  it('prints operators in their lowered form', () => {
    expect(p('a + b * c - d')).toBe('(__sub (a + (__mul b c)) d)');
    expect(p('x: y: x < y')).toBe('(x: (y: (__lessThan x y)))');
  });
  it('sorts attributes and resolves relative paths', () => {
    expect(p('{ b = ./x; a = 1; }')).toBe('{ a = 1; b = /base/x; }');
  });
});

// Differential test against the reference `nix-instantiate --parse` (Nix 2.8
// on the test machines): randomly generated operator-heavy expressions must
// come out with the same grouping. The generator avoids constructs whose
// printing changed after 2.8 (attribute order, `inherit`, formals order).

import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parse } from '../../src/eval/parser.js';
import { showExpr } from '../../src/eval/show-expr.js';

const haveNix = spawnSync('nix-instantiate', ['--version']).status === 0;

function generator(seed: number) {
  let s = seed;
  const rnd = () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const ops = ['+', '-', '*', '/', '++', '//', '==', '!=', '<', '>', '<=', '>=', '&&', '||', '->'];
  const atom = (d: number): string => {
    const r = rnd();
    if (d <= 0 || r < 0.35) return pick(['a', 'b', 'c', '1', '2.5', '"s"', '[ a b ]', '{ x = a; }', 'a.x', 'a.x or b', 'a."y"']);
    if (r < 0.5) return `(${expr(d - 1)})`;
    if (r < 0.6) return `${atom(d - 1)} ${atom(d - 1)}`;
    if (r < 0.7) return `[ ${atom(d - 1)} ${atom(d - 1)} ]`;
    return `(${expr(d - 1)}).x`;
  };
  const expr = (d: number): string => {
    const r = rnd();
    if (d <= 0) return atom(0);
    if (r < 0.45) return `${expr(d - 1)} ${pick(ops)} ${expr(d - 1)}`;
    if (r < 0.52) return `!${expr(d - 1)}`;
    if (r < 0.59) return `-${atom(d - 1)}`;
    if (r < 0.64) return `${expr(d - 1)} ? ${pick(['x', 'x.y', '"z"'])}`;
    if (r < 0.69) return `if ${expr(d - 1)} then ${expr(d - 1)} else ${expr(d - 1)}`;
    if (r < 0.73) return `x: ${expr(d - 1)}`;
    if (r < 0.77) return `let y = ${expr(d - 1)}; in ${expr(d - 1)}`;
    if (r < 0.8) return `assert ${expr(d - 1)}; ${expr(d - 1)}`;
    return atom(d);
  };
  return () => expr(4);
}

const accepts = (src: string) => {
  try {
    parse(src, { kind: 'stdin', source: src }, { basePath: '/' });
    return true;
  } catch {
    return false;
  }
};

describe('grouping agrees with nix-instantiate --parse', () => {
  it('for 300 generated expressions', () => {
    const next = generator(20260101);
    const exprs: string[] = [];
    while (exprs.length < 300) {
      const e = next();
      if (accepts(e)) exprs.push(e);
    }
    const src = `a: b: c: [\n${exprs.map((e) => `(${e})`).join('\n')}\n]`;
    const ours = showExpr(parse(src, { kind: 'stdin', source: src }, { basePath: '/' }));
    expect(ours.startsWith('(a: (b: (c: [ ')).toBe(true);
    if (!haveNix) return;
    const ref = spawnSync('nix-instantiate', ['--parse', '-'], { input: src, encoding: 'utf8' });
    expect(ref.stderr).toBe('');
    expect(ref.stdout.length).toBeGreaterThan(10000);
    expect(ours).toBe(ref.stdout.trimEnd());
  });
});

import { describe, expect, it } from 'vitest';
import { parse, type ParseOptions } from '../../src/eval/parser.js';
import { showExpr } from '../../src/eval/show-expr.js';

const opts: ParseOptions = { basePath: '/base/dir', home: '/home/alice' };
const p = (src: string, o: Partial<ParseOptions> = {}) =>
  showExpr(parse(src, { kind: 'string', source: src }, { ...opts, ...o }));

describe('literals', () => {
  it('integers and floats', () => {
    expect(p('123')).toBe('123');
    expect(p('9223372036854775807')).toBe('9223372036854775807');
    expect(p('1.5')).toBe('1.5');
    expect(p('1.')).toBe('1');
    expect(p('.5')).toBe('0.5');
    expect(p('2.5e3')).toBe('2500');
    expect(p('1.0e-7')).toBe('1e-07');
    expect(p('3.14159265')).toBe('3.14159');
    // `1e3` is no float in Nix: an integer applied to the variable e3
    expect(p('1e3')).toBe('(1 e3)');
    // a leading zero makes `01` an integer followed by a float
    expect(p('[ 01.5 ]')).toBe('[ (1) (0.5) ]');
  });

  it('strings with escapes, dollars and line endings', () => {
    expect(p('"a\\nb\\tc\\rd\\\\e\\"f\\qg"')).toBe('"a\\nb\\tc\\rd\\\\e\\"fqg"');
    expect(p('"$$"')).toBe('"$$"');
    // `$${` is a literal `$` followed by a literal `${`
    expect(p('"$${x}"')).toBe('"$\\${x}"');
    expect(p('"a$"')).toBe('"a$"');
    expect(p('"\\${x}"')).toBe('"\\${x}"');
    expect(p('"a\r\nb\rc"')).toBe('"a\\nb\\nc"');
    expect(p('""')).toBe('""');
  });

  it('string interpolation', () => {
    expect(p('"${x}"')).toBe('(x)');
    expect(p('"a${x}b${y}"')).toBe('("a" + x + "b" + y)');
    expect(p('"${"nested ${x}"}"')).toBe('(("nested " + x))');
  });

  it('URIs are strings', () => {
    expect(p('http://example.org/a?b=c&d')).toBe('"http://example.org/a?b=c&d"');
    expect(p('x:x')).toBe('"x:x"');
    expect(p('x: x')).toBe('(x: x)');
  });

  it('__curPos', () => {
    expect(p('__curPos')).toBe('__curPos');
  });
});

describe('indented strings', () => {
  it('strips the common indentation', () => {
    expect(p("''\n  a\n    b\n  ''")).toBe('"a\\n  b\\n"');
    expect(p("''a\n  b''")).toBe('"a\\n  b"');
  });
  it('ignores empty lines and a final line of spaces when measuring', () => {
    expect(p("''\n    x\n\n    y\n  ''")).toBe('"x\\n\\ny\\n"');
  });
  it('handles the escapes', () => {
    expect(p("''a''$b''")).toBe('("a" + "$" + "b")');
    expect(p("''''' x''")).toBe('("\'\'" + " x")');
    expect(p("''''\\n''")).toBe('"\\n"');
    expect(p("''$${x}''")).toBe('"$\\${x}"');
    expect(p("''a'b''")).toBe('"a\'b"');
  });
  it('interpolation ends a line\'s indentation', () => {
    expect(p("''\n    ${x}\n  y''")).toBe('("  " + x + "\\ny")');
    expect(p("''${x}''")).toBe('(x)');
    expect(p("''''")).toBe('""');
    expect(p("''\n''")).toBe('""');
  });
});

describe('paths', () => {
  it('resolves relative paths against the base directory', () => {
    expect(p('./a/b')).toBe('/base/dir/a/b');
    expect(p('../x')).toBe('/base/x');
    expect(p('a/b')).toBe('/base/dir/a/b');
    expect(p('./.')).toBe('/base/dir');
    expect(p('a/../../../../..')).toBe('/');
  });
  it('canonicalises absolute paths and expands ~', () => {
    expect(p('/a/./b/../c')).toBe('/a/c');
    expect(p('~/src/x')).toBe('/home/alice/src/x');
  });
  it('interpolates into paths', () => {
    expect(p('./a/${x}')).toBe('(/base/dir/a/ + x)');
    expect(p('./a${x}')).toBe('(/base/dir/a + x)');
    expect(p('/a/${x}b/c')).toBe('(/a/ + x + "b/c")');
    expect(p('~/${x}')).toBe('(/home/alice/ + x)');
  });
  it('lowers <…> paths to __findFile', () => {
    expect(p('<nixpkgs/lib>')).toBe('(__findFile __nixPath "nixpkgs/lib")');
  });
  it('treats 1/2 as a path, not a division', () => {
    expect(p('1/2')).toBe('/base/dir/1/2');
    expect(p('1 / 2')).toBe('(__div 1 2)');
  });
});

describe('operators', () => {
  it('lowers arithmetic and comparisons', () => {
    expect(p('a - b')).toBe('(__sub a b)');
    expect(p('a * b / c')).toBe('(__div (__mul a b) c)');
    expect(p('-a')).toBe('(__sub 0 a)');
    expect(p('a < b')).toBe('(__lessThan a b)');
    expect(p('a > b')).toBe('(__lessThan b a)');
    expect(p('a <= b')).toBe('(! (__lessThan b a))');
    expect(p('a >= b')).toBe('(! (__lessThan a b))');
    expect(p('a + b')).toBe('(a + b)');
  });
  it('has Nix precedence and associativity', () => {
    expect(p('a + b * c')).toBe('(a + (__mul b c))');
    expect(p('a - b - c')).toBe('(__sub (__sub a b) c)');
    expect(p('a -> b -> c')).toBe('(a -> (b -> c))');
    expect(p('a // b // c')).toBe('(a // (b // c))');
    expect(p('a ++ b ++ c')).toBe('(a ++ (b ++ c))');
    expect(p('a || b && c')).toBe('(a || (b && c))');
    expect(p('a == b && c != d')).toBe('((a == b) && (c != d))');
    expect(p('!a == b')).toBe('((! a) == b)');
    expect(p('!a + b')).toBe('(! (a + b))');
    expect(p('!a // b')).toBe('((! a) // b)');
    expect(p('-a ? b')).toBe('(((__sub 0 a)) ? b)');
    expect(p('a ++ b ? c')).toBe('(a ++ ((b) ? c))');
    expect(p('a ? b ? c')).toBe('((((a) ? b)) ? c)');
    expect(p('- f x')).toBe('(__sub 0 (f x))');
  });
  it('treats a-b as one identifier', () => {
    expect(p('a-b')).toBe('a-b');
    expect(p('a -b')).toBe('(__sub a b)');
  });
  it('has-attr with attribute paths', () => {
    expect(p('a ? b.c')).toBe('((a) ? b.c)');
    expect(p('a ? "x y".${z}')).toBe('((a) ? "x y"."${z}")');
  });
  it('pipe operators when enabled', () => {
    const xp = { experimentalFeatures: new Set(['pipe-operators']) };
    expect(p('x |> f |> g', xp)).toBe('(g (f x))');
    expect(p('g <| f <| x', xp)).toBe('(g (f x))');
    // a pipe into a call extends that call, as in Nix
    expect(p('x |> f a', xp)).toBe('(f a x)');
  });
});

describe('application and selection', () => {
  it('applies left to right and extends calls', () => {
    expect(p('f x y')).toBe('(f x y)');
    expect(p('(f x) y')).toBe('(f x y)');
    expect(p('(a - b) c')).toBe('(__sub a b c)');
    expect(p('<p> x')).toBe('(__findFile __nixPath "p" x)');
  });
  it('selects with defaults', () => {
    expect(p('a.b.c')).toBe('(a).b.c');
    expect(p('a.b or c')).toBe('(a).b or (c)');
    expect(p('a."b c".${d}')).toBe('(a)."b c"."${d}"');
    expect(p('a.${"b"}')).toBe('(a).b');
    expect(p('a.or')).toBe('(a).or');
    expect(p('f a.b or c')).toBe('(f (a).b or (c))');
  });
  it('accepts `or` as a function argument', () => {
    expect(p('map or [ ]')).toBe('(map or [ ])');
    expect(p('[ a or b ]')).toBe('[ ((a or)) (b) ]');
  });
});

describe('attribute sets', () => {
  it('sorts, quotes and nests', () => {
    expect(p('{ b = 1; a = 2; "x y" = 3; "if" = 4; }')).toBe('{ a = 2; b = 1; "if" = 4; "x y" = 3; }');
    expect(p('{ a.b = 1; a.c = 2; }')).toBe('{ a = { b = 1; c = 2; }; }');
    expect(p('{ a = { b = 1; }; a.c = 2; }')).toBe('{ a = { b = 1; c = 2; }; }');
    expect(p('{ a.c = 2; a = { b = 1; }; }')).toBe('{ a = { b = 1; c = 2; }; }');
    expect(p('{ a = { b = 1; }; a = { c = 2; }; }')).toBe('{ a = { b = 1; c = 2; }; }');
    expect(p('{ }')).toBe('{ }');
    expect(p('rec { a = 1; b = a; }')).toBe('rec { a = 1; b = a; }');
  });
  it('dynamic attributes', () => {
    expect(p('{ ${x} = 1; "${y}z" = 2; }')).toBe('{ "${x}" = 1; "${(y + "z")}" = 2; }');
    expect(p('{ a.${x}.b = 1; }')).toBe('{ a = { "${x}" = { b = 1; }; }; }');
    // a string literal in ${} is a static name
    expect(p('{ ${"s"} = 1; }')).toBe('{ s = 1; }');
  });
  it('inherit and inherit (e)', () => {
    expect(p('{ inherit a b; inherit (s) c d; inherit (t) e; x = 1; }')).toBe(
      '{ inherit a b; inherit (s) c d; inherit (t) e; x = 1; }',
    );
    expect(p('{ inherit "a" ${"b"}; }')).toBe('{ inherit a b; }');
    expect(p('{ inherit; }')).toBe('{ }');
  });
  it('merges inherit-from sources when nested sets merge', () => {
    expect(p('{ a = { inherit (s) x; }; a = { inherit (t) y; }; }')).toBe('{ a = { inherit (s) x; inherit (t) y; }; }');
  });
});

describe('let, with, assert, if, lists', () => {
  it('let … in and the legacy let { }', () => {
    expect(p('let a = 1; b = a; in b')).toBe('(let a = 1; b = a; in b)');
    expect(p('let { body = x; x = 1; }')).toBe('(rec { body = x; x = 1; }).body');
    expect(p('let in 1')).toBe('(let in 1)');
  });
  it('with, assert, if', () => {
    expect(p('with a; b')).toBe('(with a; b)');
    expect(p('assert a; b')).toBe('assert a; b');
    expect(p('if a then b else c')).toBe('(if a then b else c)');
  });
  it('lists hold selects, not applications', () => {
    expect(p('[ 1 a.b (f x) ]')).toBe('[ (1) ((a).b) ((f x)) ]');
    expect(p('[]')).toBe('[ ]');
  });
});

describe('functions', () => {
  it('plain and pattern lambdas', () => {
    expect(p('x: y: x')).toBe('(x: (y: x))');
    expect(p('{ b, a ? 1, ... }: a')).toBe('({ a ? 1, b, ... }: a)');
    expect(p('{ a, b, }: a')).toBe('({ a, b }: a)');
    expect(p('args@{ a }: a')).toBe('({ a } @ args: a)');
    expect(p('{ a } @ args: a')).toBe('({ a } @ args: a)');
    expect(p('{ ... }: 1')).toBe('({ ... }: 1)');
    expect(p('{ }: 1')).toBe('({  }: 1)');
  });
});

describe('comments and whitespace', () => {
  it('skips comments, including doc comments', () => {
    expect(p('# c\n/* b */ /** doc */ 1 # end')).toBe('1');
    expect(p('1\r\n')).toBe('1');
  });
});

describe('long chains', () => {
  it('parses thousands of chained operators, else-ifs and lambdas without recursion', () => {
    const n = 20000;
    const concat = Array.from({ length: n }, (_, i) => `[${i}]`).join(' ++ ');
    expect(p(concat).startsWith('([ (0) ] ++ ([ (1) ] ++')).toBe(true);
    const ifs = Array.from({ length: n }, (_, i) => `if c${i} then ${i} else`).join(' ') + ' 0';
    expect(p(ifs).endsWith(' else 0' + ')'.repeat(n))).toBe(true);
    const lambdas = Array.from({ length: n }, (_, i) => `x${i}:`).join(' ') + ' 0';
    expect(p(lambdas).startsWith('(x0: (x1: ')).toBe(true);
    const impl = Array.from({ length: n }, (_, i) => `a${i}`).join(' -> ');
    expect(p(impl).endsWith('(a19998 -> a19999)' + ')'.repeat(n - 2))).toBe(true);
  });

  it('reports absurd bracket nesting as a Nix error, not a JS crash', () => {
    const deep = '('.repeat(100000) + '1' + ')'.repeat(100000);
    expect(() => p(deep)).toThrow(/stack overflow \(expression nested too deeply\)/);
  });
});

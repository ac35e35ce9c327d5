import { describe, expect, it } from 'vitest';
import { parse, renderParseWarning, type ParseOptions } from '../../src/eval/parser.js';
import { ParseError } from '../../src/eval/errors.js';
import { renderError } from '../../src/eval/error-format.js';

const opts: ParseOptions = { basePath: '/base' };

/** The error as `message @line:column`. */
function err(src: string, o: Partial<ParseOptions> = {}): string {
  try {
    parse(src, { kind: 'stdin', source: src }, { ...opts, ...o });
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
    return `${e.message} @${e.pos?.line}:${e.pos?.column}`;
  }
  return 'no error';
}

describe('syntax errors in bison wording', () => {
  it('lists at most four expected tokens, in bison order', () => {
    expect(err('x.if')).toBe("syntax error, unexpected 'if', expecting identifier or 'or' or '${' or '\"' @1:3");
    expect(err('if x else y')).toBe("syntax error, unexpected 'else', expecting 'then' @1:6");
    // an operator can't start an expression: too many alternatives to list
    expect(err('* 2')).toBe("syntax error, unexpected '*' @1:1");
    expect(err('{ x = 1 }')).toBe("syntax error, unexpected '}', expecting ';' @1:9");
  });

  it('reports what is expected after bindings', () => {
    expect(err('{ 5 = 1; }')).toBe("syntax error, unexpected integer, expecting 'inherit' @1:3");
    expect(err('{ a = 1; 5 }')).toBe("syntax error, unexpected integer, expecting 'inherit' @1:10");
    expect(err('rec { 5 }')).toBe("syntax error, unexpected integer, expecting 'inherit' or '}' @1:7");
    expect(err('let a = 1; 5 in a')).toBe("syntax error, unexpected integer, expecting 'in' or 'inherit' @1:12");
    expect(err('{ a b }')).toBe("syntax error, unexpected identifier, expecting '.' or '=' @1:5");
  });

  it('formal sets', () => {
    expect(err('{ a, b c }: a')).toBe("syntax error, unexpected identifier, expecting '}' or ',' @1:8");
    expect(err('{ a, 1 }: a')).toBe("syntax error, unexpected integer, expecting identifier or '...' or '}' @1:6");
    expect(err('{ a }')).toBe("syntax error, unexpected end of file, expecting ':' or '@' @1:6");
    expect(err('{ a, ... , b }: a')).toBe("syntax error, unexpected ',', expecting '}' @1:10");
  });

  it('strings and end of input', () => {
    expect(err('"abc')).toBe("syntax error, unexpected end of file, expecting '\"' @1:5");
    expect(err('"a$')).toBe("syntax error, unexpected end of file, expecting '\"' @1:4");
    expect(err("''abc")).toBe(
      "syntax error, unexpected end of file, expecting indented string or '${' or end of an indented string @1:6",
    );
    expect(err('(\n')).toBe('syntax error, unexpected end of file @2:1');
    expect(err('1 2 )')).toBe("syntax error, unexpected ')', expecting end of file @1:5");
  });

  it('characters outside the grammar are invalid tokens', () => {
    expect(err('1 $ 2')).toBe("syntax error, unexpected invalid token, expecting end of file @1:3");
    expect(err('1 ä')).toBe("syntax error, unexpected invalid token, expecting end of file @1:3");
    // columns count UTF-8 bytes, as Nix does
    expect(err('"ä" $')).toBe("syntax error, unexpected invalid token, expecting end of file @1:6");
  });

  it('`or` alone is no expression', () => {
    expect(err('[ or ]')).toBe("syntax error, unexpected 'or' @1:3");
  });

  it('non-associative comparisons', () => {
    expect(err('1 == 2 == 3')).toBe("syntax error, unexpected '==' @1:8");
    expect(err('1 < 2 > 3')).toBe("syntax error, unexpected '>' @1:7");
  });
});

describe('errors found while parsing', () => {
  it('duplicate attributes', () => {
    expect(err('{ a = 1; a = 2; }')).toBe("attribute 'a' already defined at «stdin»:1:3 @1:10");
    expect(err('{ a.b = 1; a.b = 2; }')).toBe("attribute 'a.b' already defined at «stdin»:1:3 @1:12");
    expect(err('{ a = 1; a.b = 2; }')).toBe("attribute 'a' already defined at «stdin»:1:3 @1:10");
    expect(err('{ inherit a; a = 1; }')).toBe("attribute 'a' already defined at «stdin»:1:11 @1:14");
    expect(err('{ a = 1; inherit (x) a; }')).toBe("attribute 'a' already defined at «stdin»:1:3 @1:22");
    expect(err('let a = 1; a = 2; in a')).toBe("attribute 'a' already defined at «stdin»:1:5 @1:12");
    expect(err('{ a.x = 1; a = { x = 2; }; }')).toBe("attribute 'a.x' already defined at «stdin»:1:3 @1:18");
    expect(err('{ "a b" = 1; "a b" = 2; }')).toBe('attribute \'"a b"\' already defined at «stdin»:1:3 @1:14');
    expect(err('{ "a b" = 1; inherit "a b"; }')).toBe('attribute \'"a b"\' already defined at «stdin»:1:3 @1:22');
    // an inherit clause is checked once complete: a syntax error inside it comes first
    expect(err('{ a = 1; inherit a 5; }')).toBe("syntax error, unexpected integer @1:20");
  });

  it('duplicate formals', () => {
    expect(err('{ a, b, a }: a')).toBe("duplicate formal function argument 'a' @1:9");
    expect(err('a@{ a }: a')).toBe("duplicate formal function argument 'a' @1:1");
    expect(err('{ a } @ a: a')).toBe("duplicate formal function argument 'a' @1:1");
  });

  it('dynamic attributes where they are not allowed', () => {
    expect(err('let ${"a" + ""} = 1; in a')).toBe('dynamic attributes not allowed in let @1:1');
    expect(err('{ inherit ${a}; }')).toBe('dynamic attributes not allowed in inherit @1:11');
    expect(err('{ inherit (x) "${a}"; }')).toBe('dynamic attributes not allowed in inherit @1:15');
  });

  it('integer overflow and bad floats', () => {
    expect(err('9223372036854775808')).toBe("invalid integer '9223372036854775808' @1:1");
    expect(err('[ 1.5e999 ]')).toBe("invalid float '1.5e999' @1:3");
  });

  it('a path that does not continue properly', () => {
    // the end-of-path marker is located at the last path piece, as in flex
    expect(err('a/b//c')).toBe("syntax error, unexpected end of path, expecting '${' @1:5");
  });

  it('trailing slashes in paths', () => {
    expect(err('/nix/store/\n')).toBe('path has a trailing slash @1:12');
    expect(err('[ ./a/ ]')).toBe('path has a trailing slash @1:7');
  });

  it('pipe operators need the experimental feature', () => {
    expect(err('1 |> 2')).toBe(
      "experimental Nix feature 'pipe-operators' is disabled; add '--extra-experimental-features pipe-operators' to enable it @1:3",
    );
    expect(err('f <| 1')).toMatch(/^experimental Nix feature 'pipe-operators' is disabled/);
    // mixing the two directions is a syntax error
    expect(err('a |> b <| c', { experimentalFeatures: new Set(['pipe-operators']) })).toBe(
      "syntax error, unexpected '<|', expecting end of file @1:8",
    );
  });

  it('null bytes in strings', () => {
    expect(err('"a\u0000b"')).toBe(
      "input string 'a␀b' cannot be represented as Nix string because it contains null bytes @1:2",
    );
  });

  it('~ paths in pure mode', () => {
    expect(err('~/x', { pureEval: true })).toBe("the path '~/x' can not be resolved in pure mode @undefined:undefined");
  });
});

describe('rendering', () => {
  it('prints parse errors with a code frame as Nix does', () => {
    const src = 'let\n  x = 1;\n  x = 2;\nin x\n';
    let text = '';
    try {
      parse(src, { kind: 'stdin', source: src }, opts);
    } catch (e) {
      text = renderError(e as ParseError, { showTrace: false });
    }
    expect(text).toBe(
      [
        "error: attribute 'x' already defined at «stdin»:2:3",
        '       at «stdin»:3:3:',
        '            2|   x = 1;',
        '            3|   x = 2;',
        '             |   ^',
        '            4| in x',
      ].join('\n'),
    );
  });
});

describe('lints', () => {
  function warnings(src: string, lint: ParseOptions['lint']): string[] {
    const out: string[] = [];
    parse(src, { kind: 'stdin', source: src }, { ...opts, lint, home: '/h', warn: (m, pos) => out.push(`${m} @${pos?.line}:${pos?.column}`) });
    return out;
  }

  it('are silent by default', () => {
    expect(warnings('[ a/b /x ~/y http://z ]', undefined)).toEqual([]);
  });

  it('warn about short, absolute and home path literals and URLs', () => {
    expect(warnings('[ a/b ./c ]', { shortPathLiterals: 'warn' })).toEqual([
      "relative path literal 'a/b' should be prefixed with '.' for clarity: './a/b' (lint-short-path-literals) @1:3",
    ]);
    expect(warnings('[ /x ~/y ]', { absolutePathLiterals: 'warn' })).toEqual([
      "absolute path literals are not portable. Consider replacing path literal '/x' by a string, relative path, or parameter (lint-absolute-path-literals) @1:3",
      "home path literals are not portable. Consider replacing path literal '~/y' by a string, relative path, or parameter (lint-absolute-path-literals) @1:6",
    ]);
    expect(warnings('http://z', { urlLiterals: 'warn' })).toEqual([
      'URL literals are discouraged. Consider using a string literal "http://z" instead (lint-url-literals) @1:1',
    ]);
    // a quoted URL is just a string
    expect(warnings('"http://z"', { urlLiterals: 'fatal' })).toEqual([]);
  });

  it('render as Nix prints warnings', () => {
    const src = '[\n  a/b\n]\n';
    const out: string[] = [];
    parse(src, { kind: 'file', path: '/p/x.nix', source: src }, { ...opts, lint: { shortPathLiterals: 'warn' }, warn: (m, pos) => out.push(renderParseWarning(m, pos)) });
    expect(out).toEqual([
      [
        "warning: relative path literal 'a/b' should be prefixed with '.' for clarity: './a/b' (lint-short-path-literals)",
        '         at /p/x.nix:2:3:',
        '              1| [',
        '              2|   a/b',
        '               |   ^',
        '              3| ]',
      ].join('\n'),
    ]);
  });

  it('fail when fatal', () => {
    expect(err('http://z', { lint: { urlLiterals: 'fatal' } })).toBe(
      'URL literals are disallowed. Consider using a string literal "http://z" instead (lint-url-literals) @1:1',
    );
    expect(err('x y/z', { lint: { shortPathLiterals: 'fatal' } })).toBe(
      "relative path literal 'y/z' should be prefixed with '.' for clarity: './y/z' (lint-short-path-literals) @1:3",
    );
    expect(err('../y', { lint: { shortPathLiterals: 'fatal' } })).toBe('no error');
  });

  it('warns about `or` used as an identifier where that will change meaning', () => {
    const out: string[] = [];
    const src = '[ (x: x) or ]';
    parse(src, { kind: 'stdin', source: src }, { ...opts, warn: (m) => out.push(m) });
    expect(out).toEqual([
      'at «stdin»:1:3: This expression uses `or` as an identifier in a way that will change in a future Nix release.\n' +
        'Wrap this entire expression in parentheses to preserve its current meaning:\n' +
        '    ((x: x) or)\n' +
        'Give feedback at https://github.com/NixOS/nix/pull/11121',
    ]);
    out.length = 0;
    const ok = 'map or [ ]';
    parse(ok, { kind: 'stdin', source: ok }, { ...opts, warn: (m) => out.push(m) });
    expect(out).toEqual([]);
  });
});

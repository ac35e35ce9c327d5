import { describe, expect, it } from 'vitest';
import { evalError, evalNix, newState } from './eval-helpers.js';

describe('substring and stringLength', () => {
  it('count bytes and clamp like Nix', () => {
    expect(evalNix('builtins.substring 1 3 "hello"')).toBe('"ell"');
    expect(evalNix('builtins.substring 3 100 "hello"')).toBe('"lo"');
    expect(evalNix('builtins.substring 10 1 "hello"')).toBe('""');
    expect(evalNix('builtins.substring 1 (-1) "hello"')).toBe('"ello"');
    expect(evalNix('builtins.stringLength "é"')).toBe('2');
    expect(evalNix('builtins.substring 0 2 "éa"')).toBe('"é"');
  });

  it('rejects a negative start and non-strings', () => {
    expect(evalError('builtins.substring (-3) 3 "x"')).toBe("negative start position in 'substring'");
    expect(evalError('builtins.substring 0 3 { }')).toBe('cannot coerce a set to a string: { }');
    expect(evalError('builtins.stringLength 1')).toBe('cannot coerce an integer to a string: 1');
  });

  it('keeps the context of an empty substring', () => {
    expect(
      evalNix(
        'builtins.hasContext (builtins.substring 0 0 (builtins.appendContext "x" { "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x" = { path = true; }; }))',
      ),
    ).toBe('true');
  });
});

describe('replaceStrings and concatStringsSep', () => {
  it('replaces left to right, the first matching pattern winning', () => {
    expect(evalNix('builtins.replaceStrings ["oo" "a"] ["a" "i"] "foobar"')).toBe('"fabir"');
    expect(evalNix('builtins.replaceStrings [""] ["-"] "abc"')).toBe('"-a-b-c-"');
    expect(evalNix('builtins.replaceStrings ["a" ""] ["X" "-"] "abc"')).toBe('"X-b-c-"');
    expect(evalNix('builtins.replaceStrings ["ab" "a" ""] ["1" "2" "-"] "abacab"')).toBe('"12-c1-"');
    expect(evalNix('builtins.replaceStrings ["a" "ab"] ["1" "2"] "abab"')).toBe('"1b1b"');
    expect(evalNix('builtins.replaceStrings ["" "a"] ["-" "X"] "aba"')).toBe('"-a-b-a-"');
    expect(evalNix('builtins.replaceStrings ["aa"] ["b"] "aaaaa"')).toBe('"bba"');
    expect(evalNix('builtins.replaceStrings [""] ["x"] ""')).toBe('"x"');
  });

  it('takes the context of the subject and of the replacements used', () => {
    const ctx = (p: string) => `(builtins.appendContext "${p}" { "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-${p}" = { path = true; }; })`;
    expect(evalNix(`builtins.attrNames (builtins.getContext (builtins.replaceStrings ["a" "z"] [ ${ctx('x')} ${ctx('y')} ] "abc"))`)).toBe(
      '[ "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x" ]',
    );
  });

  it('forces replacements only when used', () => {
    expect(evalNix('builtins.replaceStrings ["x" "o"] [(throw "unused") "0"] "foo"')).toBe('"f00"');
  });

  it('reports mismatched lists', () => {
    expect(evalError('builtins.replaceStrings [ "a" ] [ ] "x"')).toBe(
      "'from' and 'to' arguments passed to builtins.replaceStrings have different lengths",
    );
  });

  it('joins with a separator and coerces elements', () => {
    expect(evalNix('builtins.concatStringsSep "/" ["a" "b" "c"]')).toBe('"a/b/c"');
    expect(evalNix('builtins.concatStringsSep ", " []')).toBe('""');
    expect(evalError('builtins.concatStringsSep "-" [ 1 ]')).toBe('cannot coerce an integer to a string: 1');
  });
});

describe('match and split', () => {
  it('returns groups, null for no match, and Nix errors for bad patterns', () => {
    expect(evalNix('builtins.match "(a)(b)?" "a"')).toBe('[ "a" null ]');
    expect(evalNix('builtins.match "a" "b"')).toBe('null');
    expect(evalError('builtins.match "(.*" ""')).toBe("invalid regular expression '(.*'");
  });

  it('split interleaves text and groups', () => {
    expect(evalNix('builtins.split "(a)|(c)" "abc"')).toBe('[ "" [ "a" null ] "b" [ null "c" ] "" ]');
    expect(evalNix('builtins.split "x" "abc"')).toBe('[ "abc" ]');
  });
});

describe('versions', () => {
  it('parseDrvName, splitVersion, compareVersions', () => {
    expect(evalNix('builtins.parseDrvName "hello-2.10"')).toBe('{ name = "hello"; version = "2.10"; }');
    expect(evalNix('builtins.splitVersion "1.2.3pre4-rc"')).toBe('[ "1" "2" "3" "pre" "4" "rc" ]');
    expect(evalNix('builtins.compareVersions "1.2" "1.10"')).toBe('-1');
    expect(evalError('builtins.compareVersions 1 "1"')).toBe('expected a string but found an integer: 1');
  });
});

describe('hashes', () => {
  it('hashString gives base-16 digests of the UTF-8 bytes', () => {
    expect(evalNix('builtins.hashString "md5" "é"')).toBe('"66ddcd97cfdeabb2f6fb8a999b4bc76f"');
    expect(evalNix('builtins.hashString "sha1" ""')).toBe('"da39a3ee5e6b4b0d3255bfef95601890afd80709"');
    expect(evalError('builtins.hashString "foo" "x"')).toBe(
      "unknown hash algorithm 'foo', expect 'blake3', 'md5', 'sha1', 'sha256', or 'sha512'",
    );
  });

  it('convertHash converts between encodings and warns about base32', () => {
    expect(
      evalNix('builtins.convertHash { hash = "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="; toHashFormat = "nix32"; }'),
    ).toBe('"0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73"');
    expect(
      evalNix(
        'builtins.convertHash { hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"; hashAlgo = "sha256"; toHashFormat = "sri"; }',
      ),
    ).toBe('"sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="');
    const lines: string[] = [];
    const state = newState({ log: (l) => lines.push(l) });
    evalNix('builtins.convertHash { hash = "sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk="; toHashFormat = "base32"; }', state);
    expect(lines.join('\n')).toContain('"base32" is a deprecated alias for hash format "nix32".');
  });
});

describe('string contexts', () => {
  const withCtx = '(builtins.appendContext "x" { "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x.drv" = { outputs = ["out" "dev"]; allOutputs = true; }; })';

  it('getContext groups elements by path with sorted outputs', () => {
    expect(evalNix(`builtins.attrValues (builtins.getContext ${withCtx})`)).toBe('[ { allOutputs = true; outputs = [ "dev" "out" ]; } ]');
    expect(evalNix('builtins.getContext "abc"')).toBe('{ }');
  });

  it('toString and stringLength keep each context apart when they nest, and after a failure', () => {
    // They collect into reused Sets: one coercion evaluating another must
    // not see or clear the outer one's elements, nor a caught error leave
    // elements behind for the next call.
    const c = (p: string) => `(builtins.appendContext "${p}" { "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-${p}" = { path = true; }; })`;
    const names = (e: string) => evalNix(`builtins.attrNames (builtins.getContext (${e}))`);
    const inner = `(toString [ ${c('x')} (toString ${c('y')}) ])`;
    expect(names(`toString [ ${c('z')} ${inner} (builtins.stringLength (toString ${c('w')})) ]`)).toBe(
      '[ "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x" "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-y" "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-z" ]',
    );
    expect(evalNix(`(builtins.tryEval (toString [ ${c('x')} (throw "no") ])).success`)).toBe('false');
    expect(evalNix(`let r = builtins.tryEval (toString [ ${c('x')} (throw "no") ]); in builtins.seq r (builtins.getContext (toString [ "a" ]))`)).toBe('{ }');
    expect(names(`toString ${c('y')}`)).toBe('[ "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-y" ]');
  });

  it('hasContext and unsafeDiscardStringContext', () => {
    expect(evalNix(`builtins.hasContext ${withCtx}`)).toBe('true');
    expect(evalNix(`builtins.hasContext (builtins.unsafeDiscardStringContext ${withCtx})`)).toBe('false');
  });

  it('unsafeDiscardOutputDependency and addDrvOutputDependencies convert drv-deep elements', () => {
    const deep = '(builtins.appendContext "x" { "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x.drv" = { allOutputs = true; }; })';
    expect(evalNix(`builtins.attrValues (builtins.getContext (builtins.unsafeDiscardOutputDependency ${deep}))`)).toBe('[ { path = true; } ]');
    expect(
      evalNix(`builtins.attrValues (builtins.getContext (builtins.addDrvOutputDependencies (builtins.unsafeDiscardOutputDependency ${deep})))`),
    ).toBe('[ { allOutputs = true; } ]');
    expect(evalError('builtins.addDrvOutputDependencies ""')).toBe("context of string '' must have exactly one element, but has 0");
  });

  it('appendContext checks its keys', () => {
    expect(evalError('builtins.appendContext "x" { "/tmp/x" = { path = true; }; }')).toBe("context key '/tmp/x' is not a store path");
    expect(evalError('builtins.appendContext "x" { "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x" = { allOutputs = true; }; }')).toBe(
      'tried to add all-outputs context of /nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x, which is not a derivation, to a string',
    );
  });
});

import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EvalState } from '../../src/eval/eval-state.js';
import { printAmbiguous, printValue } from '../../src/eval/print-value.js';
import { formatFloat } from '../../src/eval/float-format.js';
import { renderError } from '../../src/eval/error-format.js';
import { NixError } from '../../src/eval/errors.js';
import { ReadOnlyStore } from '../../src/store/readonly-store.js';

function newState(opts = {}) {
  const logs: string[] = [];
  const st = new EvalState(new ReadOnlyStore('/nix/store'), { showTrace: true, log: (l) => logs.push(l), ...opts });
  return { st, logs };
}

/** Evaluates strictly and prints as `nix-instantiate --eval --strict`. */
function ev(src: string): string {
  const { st } = newState();
  const v = st.evalString(src, { kind: 'string', source: src }, '/base');
  st.forceValueDeep(v);
  return printAmbiguous(v);
}

/** The rendered error of a failing evaluation. */
function err(src: string, showTrace = true): string {
  const { st } = newState({ showTrace });
  try {
    const v = st.evalString(src, { kind: 'string', source: src }, '/base');
    st.forceValueDeep(v);
  } catch (e) {
    if (e instanceof NixError) return renderError(e, { showTrace });
    throw e;
  }
  throw new Error('expected an error');
}

describe('basic expressions', () => {
  it('evaluates literals and arithmetic', () => {
    expect(ev('1 + 2 * 3 - 4 / 2')).toBe('5');
    expect(ev('1.5 + 1')).toBe('2.5');
    expect(ev('7 / 2')).toBe('3');
    expect(ev('-7 / 2')).toBe('-3');
    expect(ev('"a" + "b"')).toBe('"ab"');
    expect(ev('./x + "/y"')).toBe('/base/x/y');
    expect(ev('1 < 2')).toBe('true');
    expect(ev('[ 1 2 ] < [ 1 3 ]')).toBe('true');
    expect(ev('"abc" < "abd"')).toBe('true');
  });

  it('prints values like nix-instantiate --eval', () => {
    expect(ev('{ b = 1; a = [ true null "x\\n" ]; }')).toBe('{ a = [ true null "x\\n" ]; b = 1; }');
    expect(ev('x: x')).toBe('<LAMBDA>');
    expect(ev('builtins.add')).toBe('<PRIMOP>');
    expect(ev('builtins.add 1')).toBe('<PRIMOP-APP>');
    expect(ev('let x = [ 1 ]; in [ x x ]')).toBe('[ [ 1 ] «repeated» ]');
    expect(ev('0.1 + 0.2')).toBe('0.3');
    expect(ev('"${"$"}{x}"')).toBe('"\\${x}"');
  });

  it('formats floats as C++ streams do', () => {
    expect(formatFloat(1e20)).toBe('1e+20');
    expect(formatFloat(123456789)).toBe('1.23457e+08');
    expect(formatFloat(0.0001)).toBe('0.0001');
    expect(formatFloat(0.00001)).toBe('1e-05');
    expect(formatFloat(2)).toBe('2');
  });

  it("rounds exact ties to even and shows NaN's sign, as printf does (values from Nix 2.8)", () => {
    // JavaScript's toExponential/toFixed round an exact halfway value up.
    expect(ev('12345.25')).toBe('12345.2');
    expect(ev('12345.75')).toBe('12345.8');
    expect(ev('-12345.25')).toBe('-12345.2');
    expect(ev('1234565.0')).toBe('1.23456e+06');
    expect(ev('builtins.toJSON 12345.25')).toBe('"12345.2"');
    expect(ev('toString 0.0078125')).toBe('"0.007812"');
    expect(ev('toString (-0.0078125)')).toBe('"-0.007812"');
    expect(ev('toString 0.0234375')).toBe('"0.023438"');
    // inf * 0 is the processor's NaN, whose sign bit is set (`-x` is `0 - x`, which keeps it).
    expect(ev('1.0e308 * 10 * 0.0')).toBe('-nan');
    expect(ev('toString (1.0e308 * 10 * 0.0)')).toBe('"-nan"');
    expect(ev('builtins.toJSON (-(1.0e308 * 10 * 0.0))')).toBe('"-nan"');
    expect(ev('builtins.fromTOML "x = -nan"')).toBe('{ x = -nan; }');
    expect(ev('builtins.fromTOML "x = nan"')).toBe('{ x = nan; }');
  });

  it('scopes: let, rec, with, inherit', () => {
    expect(ev('let a = 1; b = a + 1; in b')).toBe('2');
    expect(ev('rec { a = b; b = 2; }.a')).toBe('2');
    expect(ev('with { x = 1; }; with { x = 2; }; x')).toBe('2');
    expect(ev('let x = 1; in with { x = 2; }; x')).toBe('1');
    expect(ev('let s = { a = 1; b = 2; }; in { inherit (s) a b; }')).toBe('{ a = 1; b = 2; }');
    expect(ev('let a = 3; in { inherit a; }')).toBe('{ a = 3; }');
    expect(ev('rec { a = 1; __overrides = { a = 2; }; b = a; }.b')).toBe('2');
  });

  it('functions with formals and defaults', () => {
    expect(ev('({ a, b ? a + 1, ... }@args: [ a b args.c ]) { a = 1; c = 3; }')).toBe('[ 1 2 3 ]');
    expect(ev('let f = { __functor = self: x: self.n + x; n = 10; }; in f 5')).toBe('15');
  });

  it('select with or, hasAttr, update, concat', () => {
    expect(ev('{ a.b = 1; }.a.c or 5')).toBe('5');
    expect(ev('{ a.b = 1; } ? a.b')).toBe('true');
    expect(ev('{ a = 1; b = 2; } // { b = 3; }')).toBe('{ a = 1; b = 3; }');
    expect(ev('[ 1 ] ++ [ 2 ]')).toBe('[ 1 2 ]');
    expect(ev('let k = "x"; in { ${k} = 1; }')).toBe('{ x = 1; }');
  });

  it('equality follows Nix', () => {
    expect(ev('1 == 1.0')).toBe('true');
    expect(ev('(x: x) == (x: x)')).toBe('false');
    expect(ev('let f = x: x; in f == f')).toBe('false');
    expect(ev('let f = x: x; in [ f ] == [ f ]')).toBe('true');
    expect(ev('{ type = "derivation"; outPath = "a"; x = 1; } == { type = "derivation"; outPath = "a"; x = 2; }')).toBe('true');
  });

  it('__curPos and unsafeGetAttrPos', () => {
    const { st } = newState();
    const dir = mkdtempSync(join(tmpdir(), 'tsnix-eval-'));
    writeFileSync(join(dir, 'a.nix'), '{\n  x = 1;\n  p = __curPos;\n}\n');
    const v = st.evalString(`let s = import ${dir}/a.nix; in [ (builtins.unsafeGetAttrPos "x" s).line s.p.column ]`);
    st.forceValueDeep(v);
    expect(printAmbiguous(v)).toBe('[ 2 7 ]');
  });
});

describe('integers', () => {
  it('detects overflow', () => {
    expect(err('9223372036854775807 + 1')).toContain('integer overflow in adding 9223372036854775807 + 1');
    expect(err('builtins.mul 9223372036854775807 2')).toContain('integer overflow in multiplying 9223372036854775807 * 2');
    expect(err('1 / 0')).toContain('error: division by zero');
  });
  it('bit operations use all 64 bits', () => {
    expect(ev('builtins.bitXor (-1) 9223372036854775807')).toBe('-9223372036854775808');
    expect(ev('builtins.bitAnd 12 10')).toBe('8');
  });
});

describe('builtins', () => {
  it('lists', () => {
    expect(ev('map (x: x * 2) [ 1 2 3 ]')).toBe('[ 2 4 6 ]');
    expect(ev('builtins.filter (x: x > 1) [ 1 2 3 ]')).toBe('[ 2 3 ]');
    expect(ev("builtins.foldl' (a: b: a + b) 0 [ 1 2 3 ]")).toBe('6');
    expect(ev('builtins.sort builtins.lessThan [ 3 1 2 ]')).toBe('[ 1 2 3 ]');
    expect(ev('builtins.sort (a: b: a.k < b.k) [ { k = 1; v = 1; } { k = 0; v = 2; } { k = 1; v = 3; } ]')).toBe(
      '[ { k = 0; v = 2; } { k = 1; v = 1; } { k = 1; v = 3; } ]',
    );
    expect(ev('builtins.genList (x: x * x) 4')).toBe('[ 0 1 4 9 ]');
    expect(ev('builtins.partition (x: x > 2) [ 1 3 2 4 ]')).toBe('{ right = [ 3 4 ]; wrong = [ 1 2 ]; }');
    expect(ev('builtins.groupBy (x: if x > 2 then "big" else "small") [ 1 3 ]')).toBe('{ big = [ 3 ]; small = [ 1 ]; }');
    expect(ev('builtins.elem 2 [ 1 2 ]')).toBe('true');
    expect(ev('builtins.concatMap (x: [ x x ]) [ 1 2 ]')).toBe('[ 1 1 2 2 ]');
    expect(ev('builtins.all (x: x > 0) [ 1 2 ]')).toBe('true');
    expect(ev('builtins.any (x: x > 1) [ 1 2 ]')).toBe('true');
    expect(ev('builtins.tail [ 1 2 3 ]')).toBe('[ 2 3 ]');
  });

  it('attribute sets', () => {
    expect(ev('builtins.attrNames { b = 1; a = 2; }')).toBe('[ "a" "b" ]');
    expect(ev('builtins.attrValues { b = 1; a = 2; }')).toBe('[ 2 1 ]');
    expect(ev('builtins.listToAttrs [ { name = "a"; value = 1; } { name = "a"; value = 2; } ]')).toBe('{ a = 1; }');
    expect(ev('builtins.removeAttrs { a = 1; b = 2; } [ "a" ]')).toBe('{ b = 2; }');
    expect(ev('builtins.intersectAttrs { a = 1; } { a = 2; b = 3; }')).toBe('{ a = 2; }');
    expect(ev('builtins.catAttrs "a" [ { a = 1; } { b = 2; } ]')).toBe('[ 1 ]');
    expect(ev('builtins.mapAttrs (n: v: n + v) { a = "x"; }')).toBe('{ a = "ax"; }');
    expect(ev('builtins.zipAttrsWith (n: vs: vs) [ { a = 1; } { a = 2; b = 3; } ]')).toBe('{ a = [ 1 2 ]; b = [ 3 ]; }');
    expect(ev('builtins.functionArgs ({ a, b ? 1 }: a)')).toBe('{ a = false; b = true; }');
    expect(ev('builtins.genericClosure { startSet = [ { key = 1; } ]; operator = x: if x.key < 3 then [ { key = x.key + 1; } ] else [ ]; }')).toBe(
      '[ { key = 1; } { key = 2; } { key = 3; } ]',
    );
  });

  it('control', () => {
    expect(ev('builtins.tryEval (throw "x")')).toBe('{ success = false; value = false; }');
    expect(ev('builtins.tryEval 1')).toBe('{ success = true; value = 1; }');
    expect(ev('builtins.seq 1 2')).toBe('2');
    const { st, logs } = newState();
    st.forceValueDeep(st.evalString('builtins.trace { a = 1; } 2'));
    expect(logs).toEqual(['trace: { a = 1; }']);
  });

  it('types and coercions', () => {
    expect(ev('map builtins.typeOf [ 1 1.0 "" true null [ ] { } (x: x) ./. ]')).toBe(
      '[ "int" "float" "string" "bool" "null" "list" "set" "lambda" "path" ]',
    );
    expect(ev('toString [ 1 null true false "a" [ ] 2.5 ]')).toBe('"1  1  a 2.500000"');
    expect(ev('toString { __toString = s: "hi"; }')).toBe('"hi"');
    expect(ev('baseNameOf "/a/b/"')).toBe('"b"');
    expect(ev('dirOf "/a/b"')).toBe('"/a"');
    expect(ev('dirOf /a/b')).toBe('/a');
  });
});

describe('errors', () => {
  it('reports undefined variables at compile time', () => {
    expect(err('let x = 1; in if false then y else x')).toBe(
      "error: undefined variable 'y'\n       at «string»:1:29:\n            1| let x = 1; in if false then y else x\n             |                             ^",
    );
  });

  it('missing attributes with suggestions', () => {
    expect(err('{ foo = 1; }.fob')).toContain("error: attribute 'fob' missing");
    expect(err('{ foo = 1; }.fob')).toContain('Did you mean foo?');
  });

  it('type errors name the type and value', () => {
    expect(err('1 + "a"')).toContain('error: cannot add a string to an integer');
    expect(err('builtins.length 1')).toContain('error: expected a list but found an integer: 1');
    expect(err('builtins.length 1')).toContain('… while evaluating the first argument passed to builtins.length');
  });

  it('abort with the builtin frame', () => {
    expect(err('abort "x"')).toBe(
      "error:\n       … while calling the 'abort' builtin\n         at «string»:1:1:\n            1| abort \"x\"\n             | ^\n\n       error: evaluation aborted with the following error message: 'x'",
    );
  });

  it('assertions show the equality mismatch', () => {
    expect(err('assert 1 == 2; 3')).toContain("error: an integer with value '1' is not equal to an integer with value '2'");
    expect(err('assert "a" == "b"; 3')).toContain(`error: string '"a"' is not equal to string '"b"'`);
    expect(err('assert false; 3')).toContain("error: assertion 'false' failed");
  });

  it('missing and unexpected arguments', () => {
    expect(err('({ a }: a) { }')).toContain("error: function 'anonymous lambda' called without required argument 'a'");
    expect(err('({ a }: a) { a = 1; b = 2; }')).toContain("error: function 'anonymous lambda' called with unexpected argument 'b'");
  });

  it('names an attribute that is no identifier quoted, as Nix prints a symbol', () => {
    expect(err('({ a }: a) { a = 1; "x y" = 2; }')).toContain(`called with unexpected argument '"x y"'`);
    expect(err('{ }."foo bar"')).toContain(`error: attribute '"foo bar"' missing`);
    expect(err('{ }."if"')).toContain(`error: attribute '"if"' missing`);
    expect(err('builtins.getAttr "" { }')).toContain(`error: attribute '""' missing`);
    expect(err('{ "a b" = throw "x"; }."a b"')).toContain(`while evaluating the attribute '"a b"'`);
    expect(err('builtins.deepSeq { "x y" = throw "z"; } 1')).toContain(`while evaluating the attribute '"x y"'`);
    expect(err('builtins.toJSON { "x y" = throw "z"; }')).toContain(`while evaluating attribute '"x y"'`);
    expect(err('{ a-b\'c = throw "z"; }.a-b\'c')).toContain(`while evaluating the attribute 'a-b'c'`);
  });

  it('checks the names of a layered argument (`//`) in every layer', () => {
    expect(err('({ a, b ? 0 }: a) ({ a = 1; } // { c = 2; })')).toContain("called with unexpected argument 'c'");
    expect(err('({ a, b ? 0 }: a) ({ c = 2; } // { a = 1; })')).toContain("called with unexpected argument 'c'");
    expect(err('({ a, b ? 0 }: a) (builtins.removeAttrs { c = 2; x = 0; } [ "x" ] // { a = 1; } // { b = 3; })')).toContain(
      "called with unexpected argument 'c'",
    );
    expect(ev('({ a, b ? 0 }: a + b) ({ a = 1; } // { b = 2; })')).toBe('3');
    expect(ev('({ a, b ? 0 }: a + b) ({ a = 1; b = 5; } // { a = 2; } // { b = 7; })')).toBe('9');
    expect(ev('({ a, ... }: a) ({ a = 1; } // { z = 2; })')).toBe('1');
  });

  it('infinite recursion', () => {
    expect(err('let x = x; in x')).toContain('error: infinite recursion encountered');
  });

  it('deep recursion stops at max-call-depth', () => {
    const { st } = newState({ maxCallDepth: 200 });
    expect(() => st.forceValueDeep(st.evalString('let f = n: if n == 0 then 0 else 1 + f (n - 1); in f 1000'))).toThrow(
      'stack overflow; max-call-depth exceeded',
    );
  });

  it('error values print in messages with elision', () => {
    const { st } = newState();
    const v = st.evalString('{ a = 1; b = x: x; c = [ 1 2 3 4 5 6 7 8 9 10 11 12 ]; }');
    expect(printValue(v, { maxListItems: 10 })).toBe('{ a = 1; b = «thunk»; c = «thunk»; }');
    expect(printValue(v, { maxListItems: 10, force: true })).toContain('[ 1 2 3 4 5 6 7 8 9 10 «2 items elided» ]');
  });
});

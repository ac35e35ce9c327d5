// The evaluator's fast paths must behave exactly like the general code they
// short-cut: `a + b` on integers and strings, two-argument calls (foldl',
// sort), listToAttrs without sorting, and the derivation writer's shortcuts.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evalError, evalNix, newState } from './eval-helpers.js';
import { AppThunk, FnThunk, force, NixAttrs, Thunk } from '../../src/eval/values.js';
import { StackOverflowError } from '../../src/eval/errors.js';
import { printAmbiguous } from '../../src/eval/print-value.js';
import { NixError } from '../../src/eval/errors.js';
import { renderError } from '../../src/eval/error-format.js';
import { AtermText, sortedBytewise, unparseDerivation, emptyDerivation, parseDerivation } from '../../src/store/derivation.js';
import { sortStringsInPlace } from '../../src/sort-strings.js';

function rendered(src: string): string {
  const st = newState();
  try {
    st.forceValueDeep(st.evalString(src));
  } catch (e) {
    if (e instanceof NixError) return renderError(e, { showTrace: false });
    throw e;
  }
  throw new Error('expected an error');
}

/**
 * Writes the lines of a Nix file to a fresh temporary folder and returns its
 * path: positions are known for files (a string gives none, as in current Nix).
 */
function nixFile(lines: string[]): string {
  const file = join(mkdtempSync(join(tmpdir(), 'tsnix-fast-paths-')), 'test.nix');
  writeFileSync(file, lines.join('\n'));
  return file;
}

describe('a + b', () => {
  it('adds integers up to the 64-bit limits and reports overflow', () => {
    expect(evalNix('9223372036854775806 + 1')).toBe('9223372036854775807');
    expect(evalNix('(-9223372036854775807) + (-1)')).toBe('-9223372036854775808');
    expect(evalError('9223372036854775807 + 1')).toBe('integer overflow in adding 9223372036854775807 + 1');
    expect(evalError('(-9223372036854775807) + (-2)')).toBe('integer overflow in adding -9223372036854775807 + -2');
  });

  it('mixes integers, floats, strings and paths as before', () => {
    expect(evalNix('1 + 2.5')).toBe('3.5');
    expect(evalNix('2.5 + 1')).toBe('3.5');
    expect(evalNix('"a" + "b"')).toBe('"ab"');
    expect(evalNix('let x = "a"; in x + x')).toBe('"aa"');
    expect(evalNix('/a + "/b"')).toBe('/a/b');
    expect(evalNix('"a" + toString 1')).toBe('"a1"');
    expect(evalError('1 + "a"')).toBe('cannot add a string to an integer');
    expect(evalError('"a" + 1')).toBe('cannot coerce an integer to a string: 1');
  });

  it('keeps the context of strings', () => {
    expect(evalNix('builtins.hasContext ("a" + builtins.toFile "x" "y")')).toBe('true');
    expect(evalNix('builtins.hasContext ("a" + "b")')).toBe('false');
  });

  it('reports a bad left operand before evaluating the right one', () => {
    expect(evalError('{ } + (throw "right")')).toBe('cannot coerce a set to a string: { }');
    expect(evalError('1 + (throw "right")')).toBe('right');
    expect(evalError('"a" + (throw "right")')).toBe('right');
  });

  it('evaluates each operand once', () => {
    const logs: string[] = [];
    const st = newState({ log: (l) => logs.push(l) });
    st.forceValueDeep(st.evalString('(builtins.trace "l" 1) + (builtins.trace "r" 2.5)'));
    expect(logs.length).toBe(2);
  });
});

describe('two-argument calls', () => {
  it("foldl' over lambdas, primops and partial applications", () => {
    expect(evalNix("builtins.foldl' (a: b: a + b) 0 [ 1 2 3 ]")).toBe('6');
    expect(evalNix("builtins.foldl' builtins.add 0 [ 1 2 3 ]")).toBe('6');
    expect(evalNix("builtins.foldl' (a: builtins.add a) 0 [ 1 2 3 ]")).toBe('6');
    expect(evalNix("builtins.foldl' (a: { __functor = self: b: a + b; }) 0 [ 1 2 ]")).toBe('3');
    expect(evalError("builtins.foldl' (a: 1) 0 [ 1 ]")).toBe('attempt to call something which is not a function but an integer: 1');
  });

  it('sort with a lambda comparator', () => {
    expect(evalNix('builtins.sort (a: b: a > b) [ 3 1 2 ]')).toBe('[ 3 2 1 ]');
  });
});

describe('listToAttrs', () => {
  it('keeps the first of duplicate names', () => {
    expect(evalNix('builtins.listToAttrs [ { name = "a"; value = 1; } { name = "b"; value = 2; } { name = "a"; value = 3; } ]')).toBe(
      '{ a = 1; b = 2; }',
    );
  });

  it('reports a missing value in name order, as before', () => {
    expect(evalError('builtins.listToAttrs [ { name = "b"; } { name = "a"; value = 1; } ]')).toBe("attribute 'value' missing");
    expect(rendered('builtins.listToAttrs [ { name = "b"; value = 1; } { name = "a"; } ]')).toContain("attribute 'value' missing");
  });
});

describe('positions of entries taken from another set', () => {
  it('removeAttrs and intersectAttrs keep the positions of the set the values come from', () => {
    const file = nixFile([
      'let',
      '  s = {',
      '    a = 1;',
      '    b = 2;',
      '    c = 3;',
      '  } // { d = 4; };',
      '  r = builtins.removeAttrs s [ "a" ];',
      '  rr = builtins.removeAttrs (builtins.removeAttrs r [ "b" ]) [ "x" "d" ];',
      '  i = builtins.intersectAttrs { c = 0; d = 0; } s;',
      '  line = n: set: (builtins.unsafeGetAttrPos n set).line;',
      'in [ (line "b" r) (line "d" r) (line "c" rr) (builtins.attrNames rr) (line "c" i) (line "d" i) ((r // { e = 5; }).c) (line "c" (r // { e = 5; })) (builtins.unsafeGetAttrPos "a" r) ]',
    ]);
    expect(evalNix(`import ${file}`)).toBe('[ 4 6 5 [ "c" ] 5 6 3 5 null ]');
  });
});

describe('removeAttrs of a literal set', () => {
  it('keeps the values and positions of the literal, for plain and rec sets, however often it is applied', () => {
    const file = nixFile([
      'let',
      '  mk = i: {',
      '    name = "p${toString i}";',
      '    deps = [ i ];',
      '    extra = i * 2;',
      '  };',
      '  r = i: builtins.removeAttrs (mk i) [ "deps" "nope" ];',
      '  rs = rec {',
      '    a = 1;',
      '    b = a + 1;',
      '    c = b + 1;',
      '  };',
      '  line = n: set: (builtins.unsafeGetAttrPos n set).line;',
      '  x = builtins.removeAttrs rs [ "a" ];',
      'in [',
      '  (r 1) (r 2) (builtins.attrNames (r 3)) (line "name" (r 4)) (line "extra" (r 5)) (builtins.unsafeGetAttrPos "deps" (r 6))',
      '  x (line "c" x) (builtins.removeAttrs x [ "b" ]) (line "c" (builtins.removeAttrs x [ "b" ]))',
      '  (builtins.removeAttrs rs [ "a" "b" "c" ] == { }) (builtins.attrNames (builtins.removeAttrs rs [ "c" "a" "b" ]))',
      '  ((r 7) // { deps = 0; }) (line "name" ((r 8) // { deps = 0; })) (builtins.removeAttrs rs [ "z" ])',
      ']',
    ]);
    expect(evalNix(`import ${file}`)).toBe(
      '[ { extra = 2; name = "p1"; } { extra = 4; name = "p2"; } [ "extra" "name" ] 3 5 null ' +
        '{ b = 2; c = 3; } 11 { c = 3; } 11 true [ ] { deps = 0; extra = 14; name = "p7"; } 3 { a = 1; b = 2; c = 3; } ]',
    );
  });
});

describe('removeAttrs of a literal set, alternating removals', () => {
  it('gives each removal its own names (the Shape remembers only the last one)', () => {
    expect(
      evalNix(
        'let s = n: { a = n; b = n + 1; c = n + 2; }; in map (r: builtins.removeAttrs (s 1) r) [ [ "a" ] [ "b" ] [ "a" ] [ "a" "c" ] [ "c" "a" ] [ "b" ] ]',
      ),
    ).toBe('[ { b = 2; c = 3; } { a = 1; c = 3; } { b = 2; c = 3; } { b = 2; } { b = 2; } { a = 1; c = 3; } ]');
  });
});

describe('derivation writer shortcuts', () => {
  it('sorts in byte order, with and without astral characters', () => {
    expect(sortedBytewise(['b', 'a', 'B', '_'])).toEqual(['B', '_', 'a', 'b']);
    // U+FFFD sorts before U+1F600 in bytes, after it in UTF-16 units.
    expect(sortedBytewise(['\u{1F600}', '\uFFFD', 'a'])).toEqual(['a', '\uFFFD', '\u{1F600}']);
    // Sets and Map keys too, without changing them.
    const m = new Map([['z', 1], ['a', 2]]);
    expect(sortedBytewise(m)).toEqual(['a', 'z']);
    expect(sortedBytewise(new Set(['y', 'x']))).toEqual(['x', 'y']);
    expect([...m.keys()]).toEqual(['z', 'a']);
  });

  it('sorts short arrays without the built-in sort, with the same result', () => {
    let seed = 7;
    const rnd = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
    for (let trial = 0; trial < 500; trial++) {
      const xs = Array.from({ length: rnd(40) }, () => 'abcAB_-'.slice(rnd(7), rnd(8) + 1) + String(rnd(3)));
      expect(sortStringsInPlace(xs.slice())).toEqual(xs.slice().sort());
    }
  });

  it('escapes only strings that need it and round-trips', () => {
    const drv = emptyDerivation('x');
    drv.outputs.set('out', { kind: 'inputAddressed', path: '/nix/store/00000000000000000000000000000000-x' });
    drv.platform = 'x86_64-linux';
    drv.builder = '/bin/sh';
    drv.args = ['-c', 'echo "hi"\n\ttab\\'];
    drv.env.set('plain', 'value');
    drv.env.set('quoted', 'a"b\r');
    const text = unparseDerivation(drv);
    expect(text).toBe(
      'Derive([("out","/nix/store/00000000000000000000000000000000-x","","")],[],[],"x86_64-linux","/bin/sh",' +
        '["-c","echo \\"hi\\"\\n\\ttab\\\\"],[("plain","value"),("quoted","a\\"b\\r")])',
    );
    expect(parseDerivation(text, 'x')).toEqual(drv);
  });

  it('prints each text from the values as they are, reusing only an unchanged unmasked environment', () => {
    const drv = emptyDerivation('x');
    drv.outputs.set('out', { kind: 'inputAddressed', path: '' });
    drv.platform = 's';
    drv.builder = '/b';
    drv.env.set('out', '');
    drv.env.set('a', '1');
    const t = new AtermText(drv);
    const none = new Map<string, Set<string>>();
    const env = (text: string): string => text.slice(text.lastIndexOf(',['));
    expect(env(t.text(true, none))).toBe(',[("a","1"),("out","")])');
    drv.env.set('out', '/nix/store/p-x');
    expect(env(t.text(true, none))).toBe(',[("a","1"),("out","")])');
    expect(env(t.text(false, none))).toBe(',[("a","1"),("out","/nix/store/p-x")])');
    expect(env(t.text(false, drv.inputDrvs))).toBe(',[("a","1"),("out","/nix/store/p-x")])');
    drv.env.set('a', '2');
    expect(env(t.text(false, none))).toBe(',[("a","2"),("out","/nix/store/p-x")])');
    drv.env.set('b', '"');
    expect(env(t.text(false, none))).toBe(',[("a","2"),("b","\\""),("out","/nix/store/p-x")])');
    expect(t.text(false, none)).toBe(unparseDerivation(drv));
  });

  it('keeps the values of the lists it coerced in place of their thunks, but not floats', () => {
    const st = newState();
    const attrs = force(
      st.evalString(`
        let
          nan = (builtins.fromTOML "x = nan").x;
          xs = [ "a\${"b"}" (nan + 0) { outPath = "/o"; } ];
          ys = builtins.tail ([ 0 ] ++ xs);
          d = derivation { name = "d"; system = "x"; builder = "/b"; l = xs; args = [ (toString 1) ]; };
        in { inherit d xs ys; same = builtins.seq ys (builtins.seq d.drvPath (xs == ys)); }`),
    ) as NixAttrs;
    expect(force(attrs.get('same')!)).toBe(true);
    const xs = force(attrs.get('xs')!) as unknown[];
    // The string and the set in place, the NaN still behind its thunk
    // (eqValues compares a stored float by its slot, and ys shares the slot).
    expect(typeof xs[0]).toBe('string');
    expect(xs[1]).toBeInstanceOf(Thunk);
    expect(xs[2]).toBeInstanceOf(NixAttrs);
    expect(printAmbiguous(force(attrs.get('ys')!))).toBe('[ "ab" nan { outPath = "/o"; } ]');
  });
});

describe('// layering', () => {
  it('keeps the newest value and the size through many small updates of a big set', () => {
    const src = `
      let
        big = builtins.listToAttrs (builtins.genList (i: { name = "a\${toString i}"; value = i; }) 5000);
        upd = builtins.foldl' (acc: i: acc // { "a\${toString i}" = -i; "n\${toString i}" = i; }) big (builtins.genList (i: i) 100);
      in [ (builtins.length (builtins.attrNames upd)) upd.a0 upd.a5 upd.a99 upd.a100 upd.a4999 upd.n0 upd.n99 (upd ? n100) ]`;
    expect(evalNix(src)).toBe("[ 5100 0 -5 -99 100 4999 0 99 false ]");
  });

  it('agrees with a plain copy after each of many updates', () => {
    const src = `
      let
        big = builtins.listToAttrs (builtins.genList (i: { name = "k\${toString i}"; value = i; }) 4000);
        step = acc: i: acc // (if builtins.isAttrs acc then { "k\${toString (i * 7)}" = i; "x\${toString (i / 3)}" = i; } else { });
        sets = builtins.genList (n: builtins.foldl' step big (builtins.genList (i: i) n)) 40;
        copy = s: builtins.listToAttrs (map (name: { inherit name; value = s.\${name}; }) (builtins.attrNames s));
      in builtins.all (s: s == copy s && builtins.length (builtins.attrNames s) == builtins.length (builtins.attrValues s)) sets`;
    expect(evalNix(src)).toBe('true');
  });

  it('names a literal layered over another literal in byte order, for each base in turn', () => {
    // One top literal over two base literals, alternately (the merged names
    // are remembered per pair): overlapping names once, U+FFFD before
    // U+1F600 (byte order), and the attributes a derivation takes in turn.
    const src = `
      let
        top = base: base // { b = 0; "\u{1F600}" = 1; x = 2; };
        bases = [ { a = 1; b = 2; z = 3; } { "\uFFFD" = 1; c = 2; x = 3; } ];
        sets = builtins.genList (i: top (builtins.elemAt bases (i - i / 2 * 2))) 6;
        drv = base: derivation (base // { name = "n"; system = "s"; builder = "/b"; });
      in [ (map builtins.attrNames sets) (map (s: s.b) sets) (map (s: s.x) sets)
           (drv { z = 1; a = 2; }).drvPath (drv { b = 3; }).drvPath ]`;
    const names1 = '[ "a" "b" "x" "z" "\u{1F600}" ]';
    const names2 = '[ "b" "c" "x" "\uFFFD" "\u{1F600}" ]';
    expect(evalNix(src)).toBe(
      `[ [ ${names1} ${names2} ${names1} ${names2} ${names1} ${names2} ] [ 0 0 0 0 0 0 ] [ 2 2 2 2 2 2 ] ` +
        '"/nix/store/psm29smffw7dj7bw7jqwi6a1s4c2asp2-n.drv" "/nix/store/pnbfvhnnnd5w6yz6fzjzjilhp403s21f-n.drv" ]',
    );
  });

  it('merges two small literals into one set, with the values and positions of each', () => {
    const file = nixFile([
      'let',
      '  left = i: rec { a = i; b = a + 1; c = "l"; };',
      '  right = i: { c = "r"; d = i * 10; };',
      '  sets = builtins.genList (i: left i // right i) 3;',
      '  s = builtins.elemAt sets 2;',
      'in [ (map builtins.attrNames sets) (map (x: [ x.a x.b x.c x.d ]) sets)',
      '     (builtins.unsafeGetAttrPos "b" s).line (builtins.unsafeGetAttrPos "c" s).line',
      '     (builtins.unsafeGetAttrPos "d" s).column ]',
    ]);
    expect(evalNix(`import ${file}`)).toBe('[ [ [ "a" "b" "c" "d" ] [ "a" "b" "c" "d" ] [ "a" "b" "c" "d" ] ] [ [ 0 1 "r" 0 ] [ 1 2 "r" 10 ] [ 2 3 "r" 20 ] ] 2 3 25 ]');
    const st = newState();
    const merged = force(st.evalString('{ a = 1; b = 2; } // { b = 3; c = 4; }')) as NixAttrs;
    expect(merged.layers).toBe(0);
    expect(merged.keys()).toEqual(['a', 'b', 'c']);
  });

  it('layers literals too big to merge, and more pairs of Shapes than are kept', () => {
    const names = (p: string, n: number): string => Array.from({ length: n }, (_, i) => `${p}${i} = ${i};`).join(' ');
    const st = newState();
    const big = force(st.evalString(`{ ${names('a', 9)} } // { ${names('b', 8)} }`)) as NixAttrs;
    expect(big.layers).toBe(1);
    // Named in byte order (a layer of one literal over another, see Shape.sortedNamesOver).
    expect(big.keys()).toEqual([...Array.from({ length: 9 }, (_, i) => `a${i}`), ...Array.from({ length: 8 }, (_, i) => `b${i}`)]);
    // One right-hand Shape under ten left-hand ones: the first eight merge.
    const src = `
      let
        lefts = [ ${Array.from({ length: 10 }, (_, i) => `{ l${i} = ${i}; z = 0; }`).join(' ')} ];
        upd = l: l // { z = 1; r = 2; };
      in map (l: let s = upd l; in [ (builtins.attrNames s) s.z ]) lefts`;
    expect(evalNix(src)).toBe(
      '[ ' + Array.from({ length: 10 }, (_, i) => `[ [ "l${i}" "r" "z" ] 1 ]`).join(' ') + ' ]',
    );
    const lefts = Array.from({ length: 10 }, (_, i) => `{ m${i} = ${i}; }`).join(' ');
    const layered = force(st.evalString(`let r = l: l // { z = 1; }; xs = map r [ ${lefts} ]; in builtins.deepSeq xs (builtins.elemAt xs 9)`)) as NixAttrs;
    expect(layered.layers).toBe(1);
  });

  it('removeAttrs and mapAttrs see every layer', () => {
    const src = `
      let
        big = builtins.listToAttrs (builtins.genList (i: { name = "a\${toString i}"; value = i; }) 5000);
        upd = builtins.foldl' (acc: i: acc // { "a\${toString i}" = -i; }) big (builtins.genList (i: i) 50);
        r = builtins.removeAttrs upd [ "a1" "a150" "nope" ];
        m = builtins.mapAttrs (k: v: v * 2) upd;
      in [ (builtins.length (builtins.attrNames r)) (r ? a1) r.a2 r.a151 m.a3 m.a4999 ]`;
    expect(evalNix(src)).toBe('[ 4998 false -2 151 -6 9998 ]');
  });
});

describe('lookups through many layers', () => {
  it('give the same values before and after the layers are flattened', () => {
    // A set looked up through its layers about half as many times as it has
    // names gets them flattened into one Map (NixAttrs.deepLookup): the four
    // rounds straddle that point, under overlays and a removeAttrs layer.
    const src = `
      let
        inherit (builtins) attrNames foldl' genList length listToAttrs removeAttrs;
        big = listToAttrs (genList (i: { name = "p\${toString i}"; value = i; }) 300);
        overlays = [
          (self: super: { p5 = super.p5 * 10; extra = self.p7; })
          (self: super: removeAttrs super [ "p9" "p10" ])
          (self: super: { p9 = "back"; p11 = super.p11 + super.p12; })
          (self: super: { top = self.p9; })
        ];
        fix = f: let x = f x; in x;
        pkgs = fix (foldl' (f: o: self: let super = f self; in super // o self super) (self: big) overlays);
        names = genList (i: "p\${toString i}") 305 ++ [ "extra" "top" "none" ];
        pkgs2 = removeAttrs pkgs [ "p9" "p10" "p20" "none" ] // { p20 = "new"; };
        look = n: pkgs2.\${n} or "missing";
        rounds = genList (r: map look names) 4;
        copy = listToAttrs (map (name: { inherit name; value = pkgs2.\${name}; }) (attrNames pkgs2));
      in [
        (builtins.all (r: r == builtins.head rounds) rounds)
        (map look names == map (n: copy.\${n} or "missing") names)
        (length (attrNames pkgs)) (length (attrNames pkgs2)) pkgs.p5 pkgs.extra pkgs.p9 (pkgs ? p10) pkgs.p11 pkgs.top
        (look "p9") (look "p10") (look "p20") (look "p304") (builtins.length (builtins.filter (x: x == "missing") (builtins.head rounds)))
      ]`;
    // Recorded from the reference Nix 2.8.
    expect(evalNix(src)).toBe('[ true true 302 300 50 7 "back" true 23 "back" "missing" "missing" "new" "missing" 8 ]');
  });
});

describe('mapAttrs', () => {
  it('of literal, rec and layered sets: the values, no positions (as Nix 2.8 gives them)', () => {
    const file = nixFile([
      'let s = { a = 1;',
      '  b = 2; }; r = rec { x = 1; y = x + 1; };',
      'in [ (builtins.unsafeGetAttrPos "a" (builtins.mapAttrs (n: v: v) s)) (builtins.mapAttrs (n: v: v * 10) r)',
      '  (builtins.attrNames (builtins.mapAttrs (n: v: v) (s // { c = 3; }))) ((builtins.mapAttrs (n: v: n) (s // { a = 0; })).a)',
      '  (builtins.mapAttrs (n: v: v + 1) (builtins.mapAttrs (n: v: v * 2) s)) ]',
    ]);
    expect(evalNix(`import ${file}`)).toBe('[ null { x = 10; y = 20; } [ "a" "b" "c" ] "a" { a = 3; b = 5; } ]');
  });
});

describe('// in a loop that grows a set', () => {
  /**
   * Entries of every Map reachable from a set through its fields (values,
   * positions, the layers under it, the operands its positions come from):
   * what the set keeps alive.
   */
  function reachableEntries(root: NixAttrs): number {
    const seen = new Set<object>();
    let n = 0;
    const walk = (o: unknown): void => {
      if (o === null || typeof o !== 'object' || seen.has(o)) return;
      seen.add(o);
      if (o instanceof Map) n += o.size;
      else if (o instanceof NixAttrs) {
        const f = o as unknown as { k: unknown; d: unknown; x: Record<string, unknown> | null };
        walk(f.k);
        walk(f.d);
        if (f.x) for (const key of ['base', 'flat', 'posL', 'posR']) walk(f.x[key]);
      }
    };
    walk(root);
    return n;
  }

  it('keeps a bounded number of earlier sets alive, and their positions', () => {
    const file = nixFile([
      'let',
      '  step = acc: i: acc // { "k${toString i}" = i; };',
      '  s = builtins.foldl\' step { first = 0; } (builtins.genList (i: i) 1000);',
      '  line = n: (builtins.unsafeGetAttrPos n s).line;',
      'in { inherit s; r = [ (builtins.length (builtins.attrNames s)) s.k0 s.k999 (line "first") (line "k0") (line "k500") (line "k999") ]; }',
    ]);
    const st = newState();
    const v = st.evalFile(file);
    st.forceValueDeep(v);
    const top = force(v) as NixAttrs;
    expect(printAmbiguous(force(top.get('r')!))).toBe('[ 1001 0 999 3 2 2 2 ]');
    // Each earlier set kept alive costs its size: keeping all of them (as
    // each full copy once kept the set it was copied from, through the
    // operands it takes its positions from) is ≈ n²/8 entries here, 125,000
    // and more; a bounded number of them is a small multiple of n.
    expect(reachableEntries(force(top.get('s')!) as NixAttrs)).toBeLessThan(30 * 1001);
  });
});

describe('// with a small left side and a big right one', () => {
  it('gives the values and positions Nix 2.8 gives, grown in a loop from either side', () => {
    const file = nixFile([
      'let',
      '  step = acc: i:',
      '    { "k${toString i}" = i;',
      '      shared = i; }',
      '    // acc;',
      '  big = builtins.listToAttrs (builtins.genList (i: { name = "b${toString i}"; value = i; }) 40);',
      "  s = builtins.foldl' step big (builtins.genList (i: i) 3000);",
      "  g = builtins.foldl' (acc: i: acc // { \"g${toString i}\" = i;",
      '    last = i; }) { } (builtins.genList (i: i) 3000);',
      '  line = n: set: (builtins.unsafeGetAttrPos n set).line;',
      '  col = n: set: (builtins.unsafeGetAttrPos n set).column;',
      'in [',
      '  (builtins.length (builtins.attrNames s)) s.shared s.k0 s.k2999 s.b39',
      '  (line "k0" s) (line "k1500" s) (line "shared" s) (col "shared" s) (line "b3" s)',
      '  (builtins.length (builtins.attrNames g)) g.last g.g0 g.g2999',
      '  (line "g0" g) (line "g2999" g) (line "last" g) (col "last" g)',
      '  (({ a = 1; } // big) ? a) (builtins.length (builtins.attrNames ({ b1 = 0; } // big))) ({ b1 = "x"; } // big).b1',
      '  (line "b1" ({ b1 = 0; } // big))',
      ']',
    ]);
    // Recorded from the reference Nix 2.8 on the same file.
    expect(evalNix(`import ${file}`)).toBe('[ 3041 0 0 2999 39 3 3 4 7 6 3001 2999 0 2999 8 8 9 5 true 40 1 6 ]');
  });
});

describe('removeAttrs of a big set', () => {
  it('gives the values Nix 2.8 gives when names are removed, re-added and intersected in a loop', () => {
    // Removals from a big set are layers hiding names, folded together as
    // the loop goes on; each set must equal a plain copy of itself made at
    // every step.
    const src = `
      let
        inherit (builtins) attrNames attrValues foldl' genList length listToAttrs removeAttrs intersectAttrs mapAttrs;
        big = listToAttrs (genList (i: { name = "k\${toString i}"; value = i; }) 400);
        step = acc: i:
          let r = removeAttrs acc [ "k\${toString (i * 3)}" "absent" ];
          in if i / 4 * 4 == i then r // { "k\${toString i}" = -i; "x\${toString i}" = i; } else r;
        copy = s: listToAttrs (map (name: { inherit name; value = s.\${name}; }) (attrNames s));
        layered = n: foldl' step big (genList (i: i) n);
        copied = n: foldl' (acc: i: copy (step acc i)) big (genList (i: i) n);
        s = layered 120;
        f = { k1, k2, ... }: k1 + k2;
      in [
        (builtins.all (n: layered n == copied n && attrNames (layered n) == attrNames (copied n)) (genList (n: n) 120))
        (length (attrNames s)) (length (attrValues s)) (s ? k0) s.k4 (s ? k3) (s ? k6) s.k7 s.x8 (s ? x9) (s.k9 or "gone")
        (builtins.hasAttr "k30" s) (builtins.attrNames (intersectAttrs { k0 = 0; k1 = 0; k3 = 0; k5 = 0; } s))
        (mapAttrs (n: v: v + 1) s).k5 (builtins.toJSON (removeAttrs s (genList (i: "k\${toString i}") 120)) == builtins.toJSON (removeAttrs (copied 120) (genList (i: "k\${toString i}") 120)))
        (f (removeAttrs big (genList (i: "k\${toString (i + 3)}") 40)))
        (removeAttrs big [ "k1" ] // { k1 = "back"; }).k1
      ]`;
    // Recorded from the reference Nix 2.8.
    expect(evalNix(src)).toBe('[ true 320 320 true -4 false false 7 8 false "gone" false [ "k0" "k1" "k5" ] 6 true 3 "back" ]');
  });

  it('hides the names in a layer over the set instead of copying the rest', () => {
    const st = newState();
    const v = force(st.evalString('let big = builtins.listToAttrs (builtins.genList (i: { name = "k${toString i}"; value = i; }) 1000); in [ big (builtins.removeAttrs big [ "k1" "k2" ]) ]')) as unknown[];
    const big = force(v[0] as NixAttrs) as NixAttrs;
    const r = force(v[1] as NixAttrs) as NixAttrs;
    expect(r.base).toBe(big);
    expect([r.size, r.has('k1'), r.has('k3'), r.keys().length, [...r.flat().keys()].includes('k2')]).toEqual([998, false, true, 998, false]);
  });

  it('accepts a set without the removed names where a function takes exactly the names left', () => {
    const formals = Array.from({ length: 69 }, (_, i) => (i === 1 ? 'k1 ? 0' : `k${i}`)).join(', ');
    const call = (removed: string) =>
      `let big = builtins.listToAttrs (builtins.genList (i: { name = "k\${toString i}"; value = i; }) 70); in ({ ${formals} }: k0 + k68) (builtins.removeAttrs big [ "${removed}" ])`;
    expect(evalNix(call('k69'))).toBe('68');
    expect(evalError(call('k1'))).toContain("called with unexpected argument 'k69'");
  });
});

describe('// with a layered right side', () => {
  it('stacks the layers of the right side over the left one', () => {
    const src = `
      let
        a = { x = 1; y = 2; } // { z = 3; };
        b = { y = 20; w = 40; } // { w = 41; v = 50; } // builtins.removeAttrs { u = 60; x = 10; } [ ];
        r = a // b;
      in [ r (builtins.attrNames r) (builtins.length (builtins.attrValues r)) (r == { u = 60; v = 50; w = 41; x = 10; y = 20; z = 3; }) ]`;
    expect(evalNix(src)).toBe('[ { u = 60; v = 50; w = 41; x = 10; y = 20; z = 3; } [ "u" "v" "w" "x" "y" "z" ] 6 true ]');
  });

  it('leaves both operands unchanged', () => {
    const src = `
      let
        a = { x = 1; } // { y = 2; };
        b = { x = 3; } // { z = 4; };
        r = a // b;
      in [ a b r (builtins.attrNames a) (builtins.attrNames b) ]`;
    expect(evalNix(src)).toBe('[ { x = 1; y = 2; } { x = 3; z = 4; } { x = 3; y = 2; z = 4; } [ "x" "y" ] [ "x" "z" ] ]');
  });

  it('stays correct when the layers run out', () => {
    const src = `
      let
        l = builtins.foldl' (acc: i: acc // { "k\${toString i}" = i; }) { } (builtins.genList (i: i) 12);
        r = builtins.foldl' (acc: i: acc // ({ "k\${toString i}" = -i; } // { "m\${toString i}" = i; })) l (builtins.genList (i: i) 12);
      in [ (builtins.length (builtins.attrNames r)) r.k0 r.k11 r.m11 ]`;
    expect(evalNix(src)).toBe('[ 24 0 -11 11 ]');
  });
});

describe('toString', () => {
  it('of integers, strings, forced thunks and values with context', () => {
    expect(evalNix('[ (toString 42) (toString (-7)) (toString "s") (let x = 1 + 2; in builtins.seq x (toString x)) (toString 1.5) (toString [ 1 "a" null true ]) ]')).toBe(
      '[ "42" "-7" "s" "3" "1.500000" "1 a  1" ]',
    );
    expect(evalNix('builtins.hasContext (toString (builtins.toFile "x" "y"))')).toBe('true');
    expect(evalNix('builtins.hasContext (toString "plain")')).toBe('false');
  });
});

describe('functionArgs and intersectAttrs', () => {
  // functionArgs must build a new set per call: the printer shows a set met
  // twice as «repeated», so sharing one would be visible.
  it('give equal, distinct sets for every call of the same lambda', () => {
    const src = `
      let
        mk = i: { a, b ? i, ... }: a + b;
        fa = builtins.functionArgs (mk 1);
        fb = builtins.functionArgs (mk 2);
        auto = { a = 1; b = 2; c = 3; };
      in [ fa fb (fa == fb) (builtins.intersectAttrs fa auto) (builtins.intersectAttrs auto fa) (mk 5 (builtins.intersectAttrs fa { a = 10; })) ]`;
    expect(evalNix(src)).toBe('[ { a = false; b = true; } { a = false; b = true; } true { a = 1; b = 2; } { a = false; b = true; } 15 ]');
  });

  it("take the right set's values and positions, for the same names from different sets", () => {
    // A literal of 31 names (more than a Shape's intersection takes), 20 of them in `big`.
    const lits = Array.from({ length: 31 }, (_, i) => `n${i * 2} = 0;`).join(' ');
    const file = nixFile([
      'let',
      '  fa = builtins.functionArgs ({ a, b ? 1, c ? 2 }: a);',
      '  r1 = { a = 1; x = 0; y = 0;',
      '         c = 3; };',
      '  r2 = { c = 4; a = 5; z = 6; w = 7; };',
      '  big = builtins.listToAttrs (builtins.genList (i: { name = "n${toString i}"; value = i; }) 40);',
      '  fbig = builtins.functionArgs (args@{ n0, n31, n39, ... }: args);',
      '  many = builtins.listToAttrs (builtins.genList (i: { name = "n${toString (i * 2)}"; value = 0; }) 31);',
      '  line = s: n: (builtins.unsafeGetAttrPos n s).line;',
      '  i1 = builtins.intersectAttrs fa r1; i2 = builtins.intersectAttrs fa r2; i3 = builtins.intersectAttrs fa r1;',
      'in [ i1 i2 i3 (line i1 "a") (line i1 "c") (line i2 "c") (line i3 "c")',
      '     (builtins.intersectAttrs fa { z = 1; x = 2; y = 3; w = 4; }) (builtins.intersectAttrs fbig big)',
      `     (builtins.intersectAttrs fa r1 // { b = 7; }) (builtins.attrNames (builtins.intersectAttrs { ${lits} } big))`,
      '     (builtins.length (builtins.attrNames (builtins.intersectAttrs many big))) ]',
    ]);
    expect(evalNix(`import ${file}`)).toBe(
      '[ { a = 1; c = 3; } { a = 5; c = 4; } { a = 1; c = 3; } 3 4 5 4 { } { n0 = 0; n31 = 31; n39 = 39; } { a = 1; b = 7; c = 3; } ' +
        `[ ${Array.from({ length: 20 }, (_, i) => `"n${i * 2}"`).sort().join(' ')} ] 20 ]`,
    );
  });
});

describe('thunks (two fields: the code and the environment or value)', () => {
  it('go from pending to forced, keeping the value and dropping the environment', () => {
    const env = [1, 2];
    const t = new Thunk((e) => BigInt((e as number[]).length), env);
    expect([t.pending, t.blackholed, t.forced]).toEqual([true, false, false]);
    expect(t.force()).toBe(2n);
    expect([t.pending, t.blackholed, t.forced]).toEqual([false, false, true]);
    expect(t.v).toBe(2n);
  });

  it('are blackholed while forced, so forcing again inside is infinite recursion', () => {
    let seen: boolean[] = [];
    const t: Thunk = new Thunk(() => {
      seen = [t.pending, t.blackholed, t.forced];
      return t.force();
    }, []);
    expect(() => t.force()).toThrow(/infinite recursion/);
    expect(seen).toEqual([false, true, false]);
    // The failure is remembered: forcing again throws the same error.
    expect(() => t.force()).toThrow(/infinite recursion/);
    expect([t.pending, t.blackholed, t.forced]).toEqual([false, false, false]);
  });

  it('are pending again, with their environment, after an error that depends on the stack', () => {
    let calls = 0;
    const env = ['x'];
    const t = new Thunk((e) => {
      calls++;
      if (calls === 1) throw new StackOverflowError('stack overflow; max-call-depth exceeded', undefined);
      return (e as string[])[0]!;
    }, env);
    expect(() => t.force()).toThrow(StackOverflowError);
    expect([t.pending, t.blackholed, t.forced]).toEqual([true, false, false]);
    expect(t.force()).toBe('x');
    expect(calls).toBe(2);
  });

  it('apply a function (AppThunk) or a closure (FnThunk) once', () => {
    const st = newState();
    const f = force(st.evalString('x: x + 1'));
    const a = new AppThunk(f, 41);
    expect(a.fn).toBe(f);
    expect(a.force()).toBe(42);
    expect(a.force()).toBe(42);
    expect(a.arg).toBeNull();
    let n = 0;
    const c = new FnThunk(() => ++n);
    expect([c.force(), c.force(), n]).toEqual([1, 1, 1]);
  });
});

// `derivation` runs a native body in place of derivation.nix's for the usual
// outputs. Everything observable must be what the Nix body gives: the
// values, the sharing the printer shows as «repeated», attribute positions,
// the set's own position, and errors with their traces (with and without
// --show-trace). Each case runs both ways and compares.
import { describe, expect, it } from 'vitest';
import { EvalState } from '../../src/eval/eval-state.js';
import { NixError } from '../../src/eval/errors.js';
import { renderError } from '../../src/eval/error-format.js';
import { printAmbiguous } from '../../src/eval/print-value.js';
import { showPos } from '../../src/eval/position.js';
import { determinePos, force, NixAttrs } from '../../src/eval/values.js';
import { ReadOnlyStore } from '../../src/store/readonly-store.js';

function state(nativeDerivation: boolean, showTrace = false): EvalState {
  return new EvalState(new ReadOnlyStore('/nix/store'), { log: () => {}, nativeDerivation, showTrace });
}

/** What one evaluation shows: the strict printout, every attribute's position, the set's position; or the rendered error. */
function observe(src: string, nativeDerivation: boolean, showTrace = false): string {
  const st = state(nativeDerivation, showTrace);
  try {
    const v = st.evalString(src);
    const out: string[] = [];
    const top = force(v);
    if (top instanceof NixAttrs) {
      for (const k of top.keys()) {
        const p = top.posOf(k);
        out.push(`${k} @ ${p ? showPos(p) : '-'}`);
      }
      const p = determinePos(top);
      out.push(`set @ ${p ? showPos(p) : '-'}`);
    }
    st.forceValueDeep(v);
    out.push(printAmbiguous(v));
    return out.join('\n');
  } catch (e) {
    if (e instanceof NixError) return renderError(e, { showTrace });
    throw e;
  }
}

const base = 'name = "w"; system = "x86_64-linux"; builder = "/bin/sh";';

const cases: Record<string, string> = {
  'default output': `derivation { ${base} }`,
  'two outputs': `derivation { ${base} outputs = [ "out" "dev" ]; }`,
  'the first output is the default': `derivation { ${base} outputs = [ "lib" "out" ]; }`,
  'each output': `let d = derivation { ${base} outputs = [ "out" "dev" "man" ]; } in [ d.dev d.man.out d.all (map (x: x.outputName) d.all) ]`,
  'attributes the wrapper overrides': `derivation { ${base} type = "x"; all = 1; drvAttrs = 2; outPath = 3; drvPath = 4; outputName = 5; out = 6; }`,
  'drvAttrs unchanged': `(derivation { ${base} extra = [ 1 2 ]; }).drvAttrs`,
  'selected without instantiating': `(derivation { name = "w"; system = "x86_64-linux"; builder = throw "never"; }).name`,
  'a large attribute set': `derivation ({ ${base} } // builtins.listToAttrs (builtins.genList (i: { name = "a\${toString i}"; value = i; }) 40))`,
  'layered attributes': `derivation ({ ${base} } // { a = 1; } // { b = 2; } // { c = 3; })`,
  'equality by output path': `let a = derivation { ${base} }; in [ (a == a.out) (a == derivation { ${base} }) ]`,
  // The Nix body's own paths, and the failures it reports.
  'an output named like a wrapper attribute': `derivation { ${base} outputs = [ "out" "type" ]; }`,
  'outputs with context': `derivation { ${base} outputs = [ "out\${builtins.substring 0 0 (derivation { ${base} }).outPath}" ]; }`,
  'outputs not a list': `derivation { ${base} outputs = "out"; }`,
  'outputs empty': `derivation { ${base} outputs = [ ]; }`,
  'outputs failing': `derivation { ${base} outputs = [ "out" (throw "no output") ]; }`,
  'duplicate outputs': `derivation { ${base} outputs = [ "out" "out" ]; }`,
  'an output with a space': `derivation { ${base} outputs = [ "out" "a b" ]; }`,
  'an invalid name': `(derivation { name = "~x~"; system = "x86_64-linux"; builder = "/bin/sh"; }).outPath`,
  'a missing builder': `(derivation { name = "w"; system = "x86_64-linux"; }).drvPath`,
  'a failing attribute': `derivation { ${base} x = throw "bad attribute"; }`,
  'not a set': 'derivation 1',
  'an output path used twice after failing': `let d = derivation { ${base} x = throw "bad"; }; in [ (builtins.tryEval d.outPath).success d.drvPath ]`,
};

describe('the native derivation body', () => {
  for (const [label, src] of Object.entries(cases)) {
    it(`${label}: the same as derivation.nix's body`, () => {
      const nix = observe(src, false);
      expect(observe(src, true)).toBe(nix);
      expect(observe(src, true, true)).toBe(observe(src, false, true));
    });
  }

  it('leaves `all` and its elements unevaluated, as the map in derivation.nix does', () => {
    const shown = (native: boolean, src: string) => printAmbiguous(state(native).evalString(src));
    for (const src of [`derivation { ${base} }`, `(derivation { ${base} outputs = [ "out" "dev" ]; }).all`]) {
      expect(shown(true, src)).toBe(shown(false, src));
    }
    expect(shown(true, `derivation { ${base} }`)).toMatch(/^\{ all = <CODE>; /);
    expect(shown(true, `(derivation { ${base} outputs = [ "out" "dev" ]; }).all`)).toBe('[ <CODE> <CODE> ]');
  });

  it('points positions and traces into derivation-internal.nix', () => {
    expect(observe(`derivation { ${base} }`, true)).toMatch(/^outPath @ «nix-internal»\/derivation-internal\.nix:49:7$/m);
    const err = observe(`(derivation { name = "~x~"; system = "x86_64-linux"; builder = "/bin/sh"; }).outPath`, true, true);
    expect(err).toContain("while calling the 'derivationStrict' builtin");
    expect(err).toMatch(/derivation-internal\.nix:\d+:12:\n.*\n.*strict = derivationStrict drvAttrs;/);
  });

  it('is the path taken for plain outputs: one set with the attributes, or one layer over many, not three', () => {
    const layers = (native: boolean, src: string): number => (force(state(native).evalString(src)) as NixAttrs).layers;
    // A few attributes and the wrapper's own names make one set (see MERGE_MAX).
    expect(layers(true, `derivation { ${base} }`)).toBe(0);
    expect(layers(true, `derivation { ${base} outputs = [ "out" "dev" ]; }`)).toBe(0);
    const many = Array.from({ length: 12 }, (_, i) => `a${i} = ${i};`).join(' ');
    expect(layers(true, `derivation { ${base} ${many} }`)).toBe(1);
    expect(layers(false, `derivation { ${base} }`)).toBeGreaterThan(1);
    expect(layers(true, `derivation { ${base} outputs = [ "out" "type" ]; }`)).toBeGreaterThan(1);
  });
});

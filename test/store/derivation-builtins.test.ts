// derivationStrict and the other store builtins, evaluated by tsnix, against
// the reference's .drv paths, output paths and store paths (committed golden
// facts, and live ones when the reference Nix is installed).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import '../../src/eval/builtins/index.js';
import { EvalState } from '../../src/eval/eval-state.js';
import { ReadOnlyStore } from '../../src/store/readonly-store.js';
import { force, NixAttrs, NixString, type Value } from '../../src/eval/values.js';
import { drvSources, goldenDerivations, makeSourceTree, pathSources, sourceSources } from './golden.js';

const str = (x: Value): string => (x instanceof NixString ? x.s : (x as string));
const newState = (): EvalState => new EvalState(new ReadOnlyStore());
const evalString = (expr: string): string => str(force(newState().evalString(expr)));

function evalDerivation(expr: string, features: string[] = []): { drvPath: string; outputs: Record<string, string> } {
  const state = new EvalState(new ReadOnlyStore(), { experimentalFeatures: new Set(features) });
  const v = force(state.evalString(`let d = ${expr}; in builtins.derivationStrict d.drvAttrs`));
  if (!(v instanceof NixAttrs)) throw new Error('not a set');
  const outputs: Record<string, string> = {};
  for (const k of v.keys()) if (k !== 'drvPath') outputs[k] = str(force(v.get(k)!));
  return { drvPath: str(force(v.get('drvPath')!)), outputs };
}

/** Cases that also exercise builtins of other families; they run once those exist. */
const needs: Record<string, string> = { contextDiscarded: 'unsafeDiscardStringContext' };
const runnable = (key: string): boolean => !needs[key] || newState().builtins.has(needs[key]!);

for (const [label, facts] of drvSources()) {
  describe(`derivationStrict (${label})`, () => {
    it.each(Object.entries(facts.cases).filter(([k]) => runnable(k)))('%s', (_key, c) => {
      const r = evalDerivation(c.expr);
      expect(r.outputs).toEqual(c.outputs);
      expect(r.drvPath).toBe(c.drvPath);
    });
    it.each(Object.entries(facts.experimental))('%s (experimental)', (_key, c) => {
      const r = evalDerivation(c.expr, c.features);
      expect(r.outputs).toEqual(c.outputs);
      expect(r.drvPath).toBe(c.drvPath);
    });
  });
}

const work = mkdtempSync(join(tmpdir(), 'tsnix-drv-builtins-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const tree = makeSourceTree(work);

for (const [label, facts] of sourceSources()) {
  describe(`store builtins on source trees (${label})`, () => {
    it.each(Object.entries(facts.sources))('%s', (_key, { expr, value }) => {
      expect(evalString(expr.replaceAll('@DIR@', tree))).toBe(value);
    });
  });
}

for (const [label, facts] of pathSources()) {
  describe(`builtins.toFile (${label})`, () => {
    it.each(facts.texts)('$expr', ({ expr, path }) => {
      expect(evalString(expr)).toBe(path);
    });
  });
}

describe('derivationStrict errors', () => {
  const errors = goldenDerivations().errors;
  const messageOf = (expr: string): string => {
    try {
      force(newState().evalString(`(${expr}).drvPath`));
    } catch (e) {
      return (e as Error).message;
    }
    return 'no error';
  };
  // Where Nix 2.8 and current Nix agree, the message is the reference's.
  it.each(
    [
      'missingBuilder',
      'missingSystem',
      'duplicateOutput',
      'fixedWithTwoOutputs',
      'badHashMode',
      'badHash',
      'hashWithoutAlgo',
      'hashAlgoMismatch',
      'unknownAlgo',
    ].map((k) => [k, errors[k]!] as const),
  )('%s', (_k, { expr, message }) => {
    expect(`error: ${messageOf(expr)}`).toBe(message);
  });
  it('coercion failures start with the reference message', () => {
    expect(`error: ${messageOf(errors.functionAttr!.expr)}`).toMatch(/^error: cannot coerce a function to a string/);
    expect(`error: ${messageOf(errors.setAttr!.expr)}`).toMatch(/^error: cannot coerce a set to a string/);
  });
  // The evaluator follows current Nix's wording where it changed since 2.8.
  it('uses current wording for names, toFile references and feature gates', () => {
    expect(messageOf(errors.badNameChar!.expr)).toBe(
      "invalid derivation name: name 'foo bar' contains illegal character ' '. Please pass a different 'name'.",
    );
    expect(messageOf(errors.emptyName!.expr)).toBe("invalid derivation name: name must not be empty. Please pass a different 'name'.");
    expect(messageOf(errors.nameEndsInDrv!.expr)).toBe(
      "derivation names are allowed to end in '.drv' only if they produce a single derivation file",
    );
    expect(messageOf(errors.toFileWithOutputRef!.expr)).toMatch(
      /^files created by builtins.toFile may not reference derivations, but refs-out references !out!\/nix\/store\/[a-z0-9]{32}-dep.drv$/,
    );
    // Of several, the one current Nix meets first in its sorted context: `=drv` before `!output!drv`, then by .drv path and output.
    const d = (name: string) => `(derivation { name = "${name}"; system = "x"; builder = "/bin/sh"; outputs = [ "lib" "out" ]; })`;
    const drvOf = (name: string) => evalString(`${d(name)}.drvPath`);
    const [first, second] = [drvOf('a'), drvOf('b')].sort();
    const nameOf = (p: string) => p.slice(p.indexOf('-') + 1, -4);
    expect(messageOf(`builtins.toFile "t" "\${${d(nameOf(second!))}.out}\${${d(nameOf(first!))}.out}\${${d(nameOf(first!))}.lib}"`)).toBe(
      `files created by builtins.toFile may not reference derivations, but t references !lib!${first}`,
    );
    expect(messageOf(`builtins.toFile "t" "\${${d('a')}.out}\${${d('b')}.drvPath}"`)).toBe(
      `files created by builtins.toFile may not reference derivations, but t references =${drvOf('b')}`,
    );
    // A string that may not have a context names, as current Nix does, a path before any derivation.
    const file = evalString('builtins.toFile "f" "x"');
    expect(messageOf(`builtins.getAttr "\${${d('a')}.lib}\${builtins.toFile "f" "x"}" {}`)).toMatch(
      new RegExp(`is not allowed to refer to a store path \\(such as '${file}'\\)$`),
    );
    expect(messageOf(errors.contentAddressedNeedsFeature!.expr)).toBe(
      "experimental Nix feature 'ca-derivations' is disabled; add '--extra-experimental-features ca-derivations' to enable it",
    );
    expect(messageOf('derivation { name = "a"; system = "x"; builder = "/bin/sh"; outputs = [ "out" "drvPath" ]; }')).toBe(
      "invalid derivation output name 'drvPath'",
    );
  });
  it('traces the attribute and the derivation', () => {
    let err: any;
    try {
      force(newState().evalString('(derivation { name = "foo"; system = "x"; builder = "/bin/sh"; bad = { }; }).drvPath'));
    } catch (e) {
      err = e;
    }
    const hints: string[] = err.traces.map((t: { hint: string }) => t.hint);
    expect(hints).toContain("while evaluating attribute 'bad' of derivation 'foo'");
    expect(hints.some((h) => h.startsWith("while evaluating derivation 'foo'\n  whose name attribute is located at «string»:1:"))).toBe(true);
  });
});

describe('placeholder', () => {
  it('is "/" + base-32 sha256 of nix-output:<name>', () => {
    expect(evalString('builtins.placeholder "out"')).toBe('/1rz4g4znpzjwh1xymhjpm42vipw92pr73vdgl6xs1hycac8kf2n9');
  });
});

describe('derivation wrapper', () => {
  it('makes every output reachable and the first output the default', () => {
    const r = evalString(
      'let d = derivation { name = "x"; system = "s"; builder = "/b"; outputs = [ "lib" "out" ]; }; in "${d.outputName} ${toString (map (o: o.outputName) d.all)} ${d.out.lib.outputName} ${d.type}"',
    );
    expect(r).toBe('lib lib out lib derivation');
  });
});

describe('structured attrs', () => {
  it('turns a very deep value into Nix stack overflow error, not a JS one', () => {
    let err: any;
    try {
      force(
        newState().evalString(`(derivation {
          name = "deep"; system = "x"; builder = "/bin/sh"; __structuredAttrs = true;
          nested = builtins.foldl' (tail: head: { inherit head tail; }) null (builtins.genList (x: x) 100000);
        }).outPath`),
      );
    } catch (e) {
      err = e;
    }
    expect(err?.message).toBe('stack overflow; max-call-depth exceeded');
    const hints: string[] = err.traces.map((t: { hint: string }) => t.hint);
    expect(hints).toContain("while evaluating attribute 'head'");
    expect(hints.filter((h) => h === "while evaluating attribute 'tail'").length).toBeGreaterThan(9000);
    expect(hints).toContain("while evaluating attribute 'nested' of derivation 'deep'");
  });

  it('counts each level while forcing it, as Nix does: a leaf that calls a function overflows one level sooner', () => {
    // The deepest chain of `{ head; tail; }` sets that still serializes
    // under max-call-depth 60, with plain integers as heads, and with heads
    // that are still applications of `x: x` (forcing one is a call, checked
    // one level deeper than the set holding it).
    const deepest = (heads: string): number => {
      let n = 0;
      for (;;) {
        const state = new EvalState(new ReadOnlyStore(), { maxCallDepth: 60 });
        const chain = `let l = ${heads}; in builtins.foldl' (tail: head: { inherit head tail; }) null l`;
        try {
          force(state.evalString(`(derivation { name = "d"; system = "x"; builder = "/b"; __structuredAttrs = true; nested = ${chain}; }).drvPath`.replaceAll('LEN', String(n + 1))));
        } catch (e) {
          if ((e as Error).message === 'stack overflow; max-call-depth exceeded') return n;
          throw e;
        }
        n++;
      }
    };
    const plain = deepest('let g = builtins.genList (x: x) LEN; in builtins.deepSeq g g');
    const applied = deepest('builtins.genList (x: x) LEN');
    expect(plain).toBeGreaterThan(20);
    expect(applied).toBe(plain - 1);
  });

  it('checks what __toString returns, as toJSON does', () => {
    expect(() =>
      force(newState().evalString('(derivation { name = "f"; system = "x"; builder = "/b"; __structuredAttrs = true; f = { __toString = self: 5; }; }).outPath')),
    ).toThrow('`__toString` should return a string, but got an integer: 5');
  });

  it('refuses functions', () => {
    expect(() =>
      force(newState().evalString('(derivation { name = "f"; system = "x"; builder = "/b"; __structuredAttrs = true; f = x: x; }).outPath')),
    ).toThrow('cannot convert a function to JSON');
  });
});

describe('warnings', () => {
  it('warns that structured attrs disable output checks, at the attribute, traced to the derivation', () => {
    const lines: string[] = [];
    const state = new EvalState(new ReadOnlyStore(), { log: (l) => lines.push(l) });
    force(state.evalString('(builtins.derivationStrict { name = "w"; system = "x"; builder = "/b"; __structuredAttrs = true; maxSize = 1; }).out'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("… while evaluating derivation 'w'");
    expect(lines[0]).toContain(
      "warning: 'structuredAttrs' disables the effect of the derivation attribute 'maxSize'; use 'outputChecks.<output>.maxSize' instead",
    );
    expect(lines[0]).toMatch(/at «string»:1:\d+:/);
  });
});

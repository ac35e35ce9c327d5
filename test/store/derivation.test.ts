import { describe, expect, it } from 'vitest';
import {
  AtermText,
  derivationOutputPath,
  derivationStorePath,
  derivationType,
  parseDerivation,
  parseDerivationFile,
  unparseDerivation,
  type Derivation,
} from '../../src/store/derivation.js';
import { fillInputAddressedOutputs, hashDerivationModulo, hashPlaceholder, type DrvHash } from '../../src/store/derivation-hash.js';
import { drvSources } from './golden.js';

const nameOf = (drvPath: string): string => drvPath.slice(drvPath.lastIndexOf('/') + 34, -'.drv'.length);

for (const [label, facts] of drvSources()) {
  describe(`derivations (${label})`, () => {
    for (const [key, c] of Object.entries(facts.cases)) {
      it(`${key}: parses and rewrites every .drv byte for byte, at its path`, () => {
        for (const [path, text] of Object.entries(c.drvs)) {
          const drv = parseDerivationFile(text, path);
          expect(unparseDerivation(drv)).toBe(text);
          expect(derivationStorePath(drv)).toBe(path);
        }
      });

      it(`${key}: computes the output paths from scratch`, () => {
        const read = (p: string): Derivation => {
          const text = c.drvs[p];
          if (text === undefined) throw new Error(`missing ${p}`);
          return parseDerivation(text, nameOf(p));
        };
        const ctx = { readDerivation: read, cache: new Map<string, DrvHash>() };
        const drv = read(c.drvPath);
        const type = derivationType(drv);
        if (type.kind === 'inputAddressed') {
          // Rebuild as derivationStrict does: outputs known by name only.
          const fresh: Derivation = { ...drv, outputs: new Map(), env: new Map(drv.env) };
          fillInputAddressedOutputs(fresh, drv.outputs.keys(), ctx);
          expect(unparseDerivation(fresh)).toBe(c.drvs[c.drvPath]);
          // Again through one AtermText kept across the three texts, as
          // derivationStrict does: the outputs filled in between must show.
          const again: Derivation = { ...drv, outputs: new Map(), env: new Map(drv.env) };
          const text = new AtermText(again);
          fillInputAddressedOutputs(again, drv.outputs.keys(), ctx, text);
          expect(text.text(false, again.inputDrvs)).toBe(c.drvs[c.drvPath]);
          expect(hashDerivationModulo(again, ctx, false, text)).toEqual(hashDerivationModulo(drv, { readDerivation: read }, false));
        }
        for (const [out, path] of Object.entries(c.outputs)) expect(derivationOutputPath(drv, out)).toBe(path);
        expect(hashDerivationModulo(drv, ctx, false).kind).toBe('regular');
      });
    }

    for (const [key, c] of Object.entries(facts.experimental)) {
      it(`${key} (experimental): round-trips, and stays deferred when computed from scratch`, () => {
        const read = (p: string): Derivation => parseDerivationFile(c.drvs[p]!, p);
        for (const [path, text] of Object.entries(c.drvs)) {
          const drv = read(path);
          expect(unparseDerivation(drv)).toBe(text);
          expect(derivationStorePath(drv)).toBe(path);
        }
        const drv = read(c.drvPath);
        const type = derivationType(drv);
        const ctx = { readDerivation: read, cache: new Map<string, DrvHash>() };
        if (type.kind === 'inputAddressed') {
          expect(type.deferred).toBe(true);
          const fresh: Derivation = { ...drv, outputs: new Map(), env: new Map(drv.env) };
          fillInputAddressedOutputs(fresh, drv.outputs.keys(), ctx);
          expect(unparseDerivation(fresh)).toBe(c.drvs[c.drvPath]);
        }
        expect(hashDerivationModulo(drv, ctx, false).kind).toBe('deferred');
      });
    }
  });
}

describe('derivation details', () => {
  it('computes placeholders as builtins.placeholder does', () => {
    expect(hashPlaceholder('out')).toBe('/1rz4g4znpzjwh1xymhjpm42vipw92pr73vdgl6xs1hycac8kf2n9');
  });

  it('gives fixed-output derivations the same output path however the hash is spelled', () => {
    const cases = drvSources()[0]![1].cases;
    const p = cases.fixedFlatSha256Hex!.outputs.out;
    expect(cases.fixedFlatSha256Base32!.outputs.out).toBe(p);
    expect(cases.fixedSri!.outputs.out).toBe(p);
    expect(cases.fixedPrefixedAlgo!.outputs.out).toBe(p);
    // and downstream paths do not depend on how a fixed output is produced
    expect(cases.dependsOnFixed!.outputs.out).toBe(cases.fixedChangesNothingDownstream!.outputs.out);
  });

  const minimal = 'Derive([("out","/nix/store/9v1i3w349bxwp3wfj0xphi27i6vhfhi3-basic","","")],[],[],"x","/bin/sh",[],[])';

  it('rejects malformed ATerm with a clear error', () => {
    expect(() => parseDerivation('Derive([]', 'x')).toThrow("expected string ',['");
    expect(() => parseDerivation('Deriv', 'x')).toThrow("expected string 'Derive(['");
    expect(() => parseDerivation(minimal.replace('"/nix/store/9v', '"nix/store/9v'), 'x')).toThrow("bad path 'nix/store/9v1i3w349bxwp3wfj0xphi27i6vhfhi3-basic' in derivation");
    expect(() => parseDerivation(minimal.replace('/nix/store/9v1i', '/tmp/9v1i'), 'x')).toThrow('is not in the Nix store');
    expect(() => parseDerivation(minimal.slice(0, -1), 'x')).toThrow("expected string ')'");
    expect(() => parseDerivation(minimal + 'x', 'x')).toThrow('trailing data');
    expect(() => parseDerivation('Derive([("out","/nix/store/9v1i3w349bxwp3wfj0xphi27i6vhfhi3-basic","sha7","abc")],[],[],"x","/bin/sh",[],[])', 'x')).toThrow(
      "unknown hash algorithm 'sha7'",
    );
    expect(() => parseDerivation('Derive([("out","', 'x')).toThrow('unexpected end of derivation');
    expect(() => parseDerivationFile('nope', '/nix/store/9v1i3w349bxwp3wfj0xphi27i6vhfhi3-basic.drv')).toThrow(
      "error parsing derivation '/nix/store/9v1i3w349bxwp3wfj0xphi27i6vhfhi3-basic.drv': expected string 'Derive(['",
    );
  });

  it('refuses to mix output kinds', () => {
    const d = parseDerivation(minimal, 'basic');
    d.outputs.set('dev', { kind: 'deferred' });
    expect(() => derivationType(d)).toThrow("can't mix derivation output types");
    d.outputs.clear();
    expect(() => derivationType(d)).toThrow('must have at least one output');
  });

  it('sorts env keys bytewise, not by UTF-16 units', () => {
    const d = parseDerivation(minimal, 'basic');
    d.env.set('\u{1F600}', 'astral');
    d.env.set('\uFFFD', 'bmp');
    const text = unparseDerivation(d);
    expect(text.indexOf('\uFFFD')).toBeLessThan(text.indexOf('\u{1F600}'));
  });
});

describe('ATerm strings', () => {
  it('round-trips every escape and long runs between them', () => {
    const d = parseDerivation('Derive([("out","/nix/store/9v1i3w349bxwp3wfj0xphi27i6vhfhi3-basic","","")],[],[],"x","/bin/sh",[],[])', 'basic');
    const nasty = 'plain "quoted" back\\slash\nnew\rret\ttab \\n literal ' + 'x'.repeat(1000) + ' end\\';
    d.env.set('k', nasty);
    d.args.push(nasty, '', '"', '\\');
    const text = unparseDerivation(d);
    const back = parseDerivation(text, 'basic');
    expect(back.env.get('k')).toBe(nasty);
    expect(back.args).toEqual([nasty, '', '"', '\\']);
    expect(unparseDerivation(back)).toBe(text);
  });
  it('keeps unknown escapes as the escaped character, as Nix does', () => {
    const d = parseDerivation('Derive([("out","/nix/store/9v1i3w349bxwp3wfj0xphi27i6vhfhi3-basic","","")],[],[],"x","/bin/\\sh",["\\q"],[])', 'basic');
    expect(d.builder).toBe('/bin/sh');
    expect(d.args).toEqual(['q']);
  });
});

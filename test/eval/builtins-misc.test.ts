// Builtins not covered by the per-family suites: type predicates, a few list
// and attribute primitives, arithmetic helpers, control flow and the
// environment constants. Expected values are what C++ Nix prints.
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { evalError, evalNix, newState } from './eval-helpers.js';

const referenceOnPath = spawnSync('sh', ['-c', 'command -v nix-instantiate'], { encoding: 'utf8' }).stdout.trim() !== '';

describe('type predicates', () => {
  const values = ['null', 'true', '1', '1.5', '"s"', './p', '[ ]', '{ }', '(x: x)', 'builtins.add'];
  const cases: [string, boolean[]][] = [
    ['isNull', [true, false, false, false, false, false, false, false, false, false]],
    ['isBool', [false, true, false, false, false, false, false, false, false, false]],
    ['isInt', [false, false, true, false, false, false, false, false, false, false]],
    ['isFloat', [false, false, false, true, false, false, false, false, false, false]],
    ['isString', [false, false, false, false, true, false, false, false, false, false]],
    ['isPath', [false, false, false, false, false, true, false, false, false, false]],
    ['isList', [false, false, false, false, false, false, true, false, false, false]],
    ['isAttrs', [false, false, false, false, false, false, false, true, false, false]],
    ['isFunction', [false, false, false, false, false, false, false, false, true, true]],
  ];
  for (const [name, expected] of cases) {
    it(name, () => {
      expect(evalNix(`map builtins.${name} [ ${values.join(' ')} ]`)).toBe(`[ ${expected.join(' ')} ]`);
    });
  }
});

describe('lists and attributes', () => {
  it("concatLists, elemAt, foldl', getAttr", () => {
    expect(evalNix('builtins.concatLists [ [ 1 ] [ ] [ 2 3 ] ]')).toBe('[ 1 2 3 ]');
    expect(evalNix('builtins.elemAt [ "a" "b" ] 1')).toBe('"b"');
    expect(evalError('builtins.elemAt [ 1 ] 5')).toBe("'builtins.elemAt' called with index 5 on a list of size 1");
    expect(evalNix("builtins.foldl' (acc: x: acc * 10 + x) 0 [ 1 2 3 ]")).toBe('123');
    expect(evalNix('builtins.getAttr "b" { a = 1; b = 2; }')).toBe('2');
    expect(evalError('builtins.getAttr "c" { a = 1; }')).toBe("attribute 'c' missing");
  });
});

describe('arithmetic', () => {
  it('div, bitOr and ceil follow Nix', () => {
    expect(evalNix('[ (builtins.div 7 2) (builtins.div (-7) 2) (7 / 2.0) ]')).toBe('[ 3 -3 3.5 ]');
    expect(evalError('builtins.div 1 0')).toBe('division by zero');
    expect(evalNix('builtins.bitOr 5 (-9223372036854775807 - 1)')).toBe('-9223372036854775803');
    expect(evalNix('[ (builtins.ceil 1.2) (builtins.ceil (-1.2)) (builtins.floor (-1.2)) ]')).toBe('[ 2 -1 -2 ]');
  });
});

describe('control', () => {
  it('deepSeq forces nested values; seq only the first level', () => {
    expect(evalNix('builtins.seq { a = throw "x"; } 1')).toBe('1');
    expect(evalError('builtins.deepSeq { a = throw "deep"; } 1')).toBe('deep');
  });

  it('traceVerbose prints only with trace-verbose', () => {
    const lines: string[] = [];
    const quiet = newState({ log: (l) => lines.push(l) });
    expect(evalNix('builtins.traceVerbose "hi" 1', quiet)).toBe('1');
    expect(lines).toEqual([]);
  });

  it('break is the identity outside the debugger', () => {
    expect(evalNix('builtins.break 42')).toBe('42');
  });
});

describe('environment', () => {
  it('currentSystem, langVersion, storeDir, currentTime', () => {
    expect(evalNix('builtins.currentSystem')).toMatch(/^"(x86_64|aarch64|[a-z0-9_]+)-[a-z]+"$/);
    expect(evalNix('builtins.langVersion')).toBe('6');
    expect(evalNix('builtins.storeDir')).toBe('"/nix/store"');
    expect(Number(evalNix('builtins.currentTime'))).toBeGreaterThan(1_600_000_000);
  });

  it('toPath and findFile', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsnix-findfile-'));
    mkdirSync(join(dir, 'pkgs'));
    writeFileSync(join(dir, 'pkgs', 'x.nix'), '1');
    expect(evalNix(`builtins.toPath "${dir}/a/../pkgs"`)).toBe(`"${dir}/pkgs"`);
    expect(evalNix(`builtins.findFile [ { prefix = "p"; path = "${dir}/pkgs"; } ] "p/x.nix"`)).toBe(`${dir}/pkgs/x.nix`);
    expect(evalError('builtins.findFile [ ] "nope"')).toContain("file 'nope' was not found in the Nix search path");
  });
});

describe('sources and fetchers', () => {
  it('filterSource hashes only what the filter keeps, as the reference does', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsnix-filter-'));
    writeFileSync(join(dir, 'keep.txt'), 'k');
    writeFileSync(join(dir, 'drop.log'), 'd');
    const expr = `builtins.filterSource (p: t: builtins.match ".*\\\\.log" p == null) ${dir}`;
    const filtered = evalNix(expr);
    expect(filtered).toMatch(/^"\/nix\/store\/[0-9a-z]{32}-tsnix-filter-/);
    expect(filtered).not.toBe(evalNix(`builtins.filterSource (p: t: true) ${dir}`));
    if (referenceOnPath) {
      const ref = execFileSync('nix-instantiate', ['--eval', '--readonly-mode', '-E', expr], { encoding: 'utf8' });
      expect(filtered + '\n').toBe(ref);
    }
  });

  it('fetchers that need the network say so clearly', () => {
    expect(evalError('builtins.fetchGit { url = "https://example.org/x.git"; }')).toMatch(/fetch|supported/i);
    expect(evalError('builtins.fetchTarball "https://example.org/x.tar.gz"')).toMatch(/fetch|supported|download/i);
  });
});

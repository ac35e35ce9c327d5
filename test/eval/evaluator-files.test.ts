import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EvalState } from '../../src/eval/eval-state.js';
import { printAmbiguous } from '../../src/eval/print-value.js';
import { renderError } from '../../src/eval/error-format.js';
import { NixError } from '../../src/eval/errors.js';
import { NixAttrs } from '../../src/eval/values.js';
import { ReadOnlyStore } from '../../src/store/readonly-store.js';

function fixture(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsnix-eval-files-'));
  writeFileSync(join(dir, 'a.nix'), '{ x = 1; f = y: y + 1; }\n');
  writeFileSync(join(dir, 'trace.nix'), 'builtins.trace "imported" 42\n');
  writeFileSync(join(dir, 'scoped.nix'), 'x + y\n');
  mkdirSync(join(dir, 'lib'));
  writeFileSync(join(dir, 'lib', 'default.nix'), '"lib default"\n');
  writeFileSync(join(dir, 'text'), 'hello\n');
  symlinkSync('text', join(dir, 'link'));
  return dir;
}

function state(opts = {}) {
  const logs: string[] = [];
  const st = new EvalState(new ReadOnlyStore('/nix/store'), { showTrace: true, log: (l) => logs.push(l), ...opts });
  const ev = (src: string) => {
    const v = st.evalString(src, { kind: 'string', source: src }, '/');
    st.forceValueDeep(v);
    return printAmbiguous(v);
  };
  const err = (src: string) => {
    try {
      ev(src);
    } catch (e) {
      if (e instanceof NixError) return renderError(e, { showTrace: true });
      throw e;
    }
    throw new Error('expected an error');
  };
  return { st, logs, ev, err };
}

describe('import', () => {
  it('imports files and directories (default.nix), evaluating each file once', () => {
    const dir = fixture();
    const { ev, logs } = state();
    expect(ev(`(import ${dir}/a.nix).f 2`)).toBe('3');
    expect(ev(`import ${dir}/lib`)).toBe('"lib default"');
    expect(ev(`[ (import ${dir}/trace.nix) (import ${dir}/trace.nix) ]`)).toBe('[ 42 42 ]');
    expect(logs).toEqual(['trace: imported']);
  });

  it('reports a file that is not there in current Nix\'s words, and one missing from a directory as unreadable', () => {
    const dir = fixture();
    const { err } = state();
    expect(err(`import ${dir}/missing.nix`)).toContain(`error: path '${dir}/missing.nix' does not exist`);
    mkdirSync(join(dir, 'empty'));
    expect(err(`import ${dir}/empty`)).toContain(`error: opening file '${dir}/empty/default.nix': No such file or directory`);
  });

  it('scopedImport puts the scope in front of the builtins', () => {
    const dir = fixture();
    expect(state().ev(`scopedImport { x = 1; y = 2; } ${dir}/scoped.nix`)).toBe('3');
  });

  it('finds <name> along the search path', () => {
    const dir = fixture();
    const { ev, err } = state({ nixPath: [`foo=${dir}`, dir] });
    expect(ev('<foo/lib>')).toBe(`${dir}/lib`);
    expect(ev('import <lib>')).toBe('"lib default"');
    expect(ev('builtins.length builtins.nixPath')).toBe('2');
    expect(err('<nope>')).toContain("error: file 'nope' was not found in the Nix search path (add it using $NIX_PATH or -I)");
  });
});

describe('filesystem builtins', () => {
  it('reads files, directories and types', () => {
    const dir = fixture();
    const { ev, err } = state();
    expect(ev(`builtins.readFile ${dir}/text`)).toBe('"hello\\n"');
    expect(ev(`builtins.readFile ${dir}/link`)).toBe('"hello\\n"');
    expect(ev(`builtins.readFileType ${dir}/link`)).toBe('"symlink"');
    expect(ev(`builtins.readDir ${dir}`)).toBe(
      '{ "a.nix" = "regular"; lib = "directory"; link = "symlink"; "scoped.nix" = "regular"; text = "regular"; "trace.nix" = "regular"; }',
    );
    expect(ev(`[ (builtins.pathExists ${dir}/text) (builtins.pathExists ${dir}/nope) (builtins.pathExists "${dir}/text/") ]`)).toBe(
      '[ true false false ]',
    );
    expect(err(`builtins.readDir ${dir}/text`)).toContain(`error: '${dir}/text' is not a directory`);
    expect(err(`builtins.readFile ${dir}/nope`)).toContain(`error: path '${dir}/nope' does not exist`);
    expect(err('builtins.readFile "relative"')).toContain("error: string 'relative' doesn't represent an absolute path");
  });

  it('words failed file-system calls as Nix does, never as Node does', () => {
    const dir = fixture();
    symlinkSync('loop2', join(dir, 'loop1'));
    symlinkSync('loop1', join(dir, 'loop2'));
    symlinkSync('nowhere', join(dir, 'dangling'));
    const { err } = state();
    const cases: [string, string][] = [
      [`builtins.path { path = ${dir}/lib; recursive = false; }`, 'reading from file: Is a directory'],
      [`builtins.path { path = ${dir}/dangling; recursive = false; }`, `opening file '${dir}/dangling': No such file or directory`],
      [`builtins.path { path = /nonexistent-tsnix; }`, "getting status of '/nonexistent-tsnix': No such file or directory"],
      [`builtins.readFile ${dir}/loop1`, `reading file '${dir}/loop1': Too many levels of symbolic links`],
      [`import ${dir}/loop1`, `opening file '${dir}/loop1': Too many levels of symbolic links`],
      [`builtins.hashFile "sha256" ${dir}/loop1`, `opening file '${dir}/loop1': Too many levels of symbolic links`],
    ];
    for (const [src, message] of cases) {
      const text = err(src);
      expect(text).toContain(`error: ${message}`);
      expect(text).not.toMatch(/E[A-Z]+: |illegal operation/);
    }
  });

  it('filters escape sequences out of traces and errors written to a pipe, as Nix does', () => {
    const dir = fixture();
    const file = join(dir, 'ansi.nix');
    writeFileSync(file, 'let esc = builtins.fromJSON "\\"\\\\u001b\\""; in builtins.trace "T ${esc}[1;35mpurple${esc}[0m\\ttab\\r" (throw "E ${esc}[1;35mpurple${esc}[0m")\n');
    const r = spawnSync(join(__dirname, '../../bin/nix-instantiate'), ['--eval', file], { encoding: 'utf8' });
    expect(r.stderr.split('\n')[0]).toBe('trace: T purple tab');
    expect(r.stderr).toContain('error: E purple\n');
    expect(r.stderr).not.toContain('\x1b');
  });

  it('getEnv is empty in pure mode', () => {
    process.env.TSNIX_TEST_VAR = 'yes';
    expect(state().ev('builtins.getEnv "TSNIX_TEST_VAR"')).toBe('"yes"');
    expect(state({ pureEval: true }).ev('builtins.getEnv "TSNIX_TEST_VAR"')).toBe('""');
  });
});

describe('errors and traces', () => {
  it('a failed thunk rethrows a copy of its error', () => {
    const { err } = state();
    const out = err(
      'let a = throw "nope"; b = builtins.addErrorContext "forcing b" a; c = builtins.addErrorContext "forcing c" a; in builtins.seq (builtins.tryEval b) c',
    );
    expect(out).toContain('… forcing c');
    expect(out).toContain('… forcing b');
    expect(out.indexOf('… forcing c')).toBeLessThan(out.indexOf('… forcing b'));
  });

  it('reports infinite recursion at the re-entry', () => {
    const { err } = state();
    expect(err('let x = y; y = x; in x')).toContain('… entering the infinite recursion');
  });

  it('suggests formal names for unexpected arguments', () => {
    expect(state().err('({ alpha ? 0 }: alpha) { alpah = 1; }')).toContain('Did you mean alpha?');
  });

  it('reports calling a non-function', () => {
    expect(state().err('1 2')).toContain('error: attempt to call something which is not a function but an integer: 1');
  });

  it('with: undefined variables are found at run time', () => {
    expect(state().err('with { a = 1; }; b')).toContain("error: undefined variable 'b'");
  });

  it('deep but finite recursion within max-call-depth evaluates (large stack)', () => {
    const { ev } = state({ maxCallDepth: 3000 });
    expect(ev('let f = n: if n == 0 then 0 else 1 + f (n - 1); in f 500')).toBe('500');
  });
});

describe('auto-calling and attribute paths', () => {
  it('autoCallFunction passes --arg values and defaults', () => {
    const { st } = state();
    const f = st.evalString('{ a, b ? 2 }: a + b');
    const r = st.autoCallFunction(f, new NixAttrs(new Map([['a', 1n]])));
    expect(printAmbiguous(r)).toBe('3');
    expect(() => st.autoCallFunction(f, NixAttrs.empty)).toThrow("cannot evaluate a function that has an argument without a value ('a')");
  });

  it('findAlongAttrPath selects attributes and list elements', () => {
    const { st } = state();
    const v = st.evalString('{ a = { "b.c" = [ 10 20 ]; }; }');
    expect(printAmbiguous(st.findAlongAttrPath(v, 'a."b.c".1', NixAttrs.empty))).toBe('20');
    expect(() => st.findAlongAttrPath(v, 'a.x', NixAttrs.empty)).toThrow("attribute 'x' in selection path 'a.x' not found");
  });
});

describe('fetchers', () => {
  it('checks the store path name as Nix does', () => {
    const { err } = state();
    expect(err('builtins.fetchurl "https://example.com/~wiggle~"')).toContain(
      "error: invalid store path name when fetching URL 'https://example.com/~wiggle~': name '~wiggle~' contains illegal character '~'. Please pass an attribute set with 'url' and 'name' attributes to 'fetchurl',  so that it can create a valid store path.",
    );
    expect(err('builtins.fetchurl { url = "https://example.com/a"; name = "~x"; }')).toContain(
      "Please change the value for the 'name' attribute passed to 'fetchurl'",
    );
  });

  it('fetches file:// URLs into the store as fixed-output paths', () => {
    const dir = fixture();
    const { ev } = state();
    const out = ev(`builtins.fetchurl "file://${dir}/text"`);
    expect(out).toMatch(/^"\/nix\/store\/[0-9a-z]{32}-text"$/);
  });

  it('flake references need the flakes feature', () => {
    expect(state().err('builtins.parseFlakeRef "github:NixOS/nixpkgs"')).toContain("attribute 'parseFlakeRef' missing");
    const { ev } = state({ experimentalFeatures: new Set(['flakes']) });
    expect(ev('builtins.parseFlakeRef "github:NixOS/nixpkgs/23.05?dir=lib"')).toBe(
      '{ dir = "lib"; owner = "NixOS"; ref = "23.05"; repo = "nixpkgs"; type = "github"; }',
    );
    expect(ev('builtins.flakeRefToString { type = "github"; owner = "NixOS"; repo = "nixpkgs"; ref = "23.05"; dir = "lib"; }')).toBe(
      '"github:NixOS/nixpkgs/23.05?dir=lib"',
    );
  });
});

describe('attribute set updates', () => {
  it('keeps values and positions right through layers, folded deltas and copies', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsnix-eval-update-'));
    writeFileSync(
      join(dir, 'u.nix'),
      [
        'let',
        '  base = builtins.listToAttrs (builtins.genList (i: { name = "k${toString i}"; value = i; }) 200);',
        '  step = acc: i: acc // { "k${toString i}" = -i; "n${toString i}" = i; };',
        '  layered = builtins.foldl\' step base (builtins.genList (x: x) 40);',
        '  big = layered // builtins.listToAttrs (builtins.genList (i: { name = "b${toString i}"; value = i; }) 100);',
        '  top = big // {',
        '    k1 = "top";',
        '  };',
        'in {',
        '  values = [ layered.k0 layered.k39 layered.k40 layered.n5 top.k1 top.b99 (builtins.length (builtins.attrNames top)) ];',
        '  posTop = (builtins.unsafeGetAttrPos "k1" top).line;',
        '  posLayer = (builtins.unsafeGetAttrPos "n3" top).line;',
        '  posBase = (builtins.unsafeGetAttrPos "k100" top).line;',
        '}',
      ].join('\n'),
    );
    const { ev } = state();
    expect(ev(`import ${dir}/u.nix`)).toBe(
      '{ posBase = 2; posLayer = 3; posTop = 7; values = [ 0 -39 40 5 "top" 99 340 ]; }',
    );
  });
});

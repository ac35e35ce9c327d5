// Reading a path whose string names store paths (its context): the store
// paths must be valid, a chroot store's are read from where it keeps them,
// and a source only hashed into a read-only store is read from the source,
// as current Nix reads its "lazy" paths. Building for an import from
// derivation is tested with the commands (test/build/import-from-derivation.test.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EvalState } from '../../src/eval/eval-state.js';
import { evalError, evalNix, newState } from './eval-helpers.js';
import { openChrootStore, tempDir } from '../store/local/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'tsnix-realise-'));
writeFileSync(join(dir, 'foo.txt'), 'hello\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('reading paths with a context', () => {
  it('needs the store paths to be valid, as Nix does', () => {
    // The path Nix 2.8 gives builtins.toFile "x" "y"; a read-only store wrote nothing.
    const invalid = "path '/nix/store/lfngsssysp6h1v4ccqg23c52s9sjl779-x' is not valid";
    expect(evalError('builtins.readFile (builtins.toFile "x" "y")')).toBe(invalid);
    expect(evalError('builtins.pathExists (builtins.toFile "x" "y")')).toBe(invalid);
    expect(evalError('builtins.findFile [ { prefix = ""; path = "${builtins.toFile "x" "y"}"; } ] "a"')).toBe(
      "cannot find '/nix/store/lfngsssysp6h1v4ccqg23c52s9sjl779-x', since path '/nix/store/lfngsssysp6h1v4ccqg23c52s9sjl779-x' is not valid",
    );
    expect(evalError('builtins.exec [ "cat" (builtins.toFile "x" "y") ]', newState({ enableNativeCode: true }))).toBe(
      "cannot execute 'cat', since store path '/nix/store/lfngsssysp6h1v4ccqg23c52s9sjl779-x' is not valid",
    );
  });

  it('reads a source hashed into a read-only store from the source', () => {
    expect(evalNix(`builtins.readFile "\${${dir}/foo.txt}"`)).toBe('"hello\\n"');
    expect(evalNix(`builtins.readDir "\${${dir}}"`)).toBe('{ "foo.txt" = "regular"; }');
    // builtins.path without a filter holds the same files.
    expect(evalNix(`builtins.readFile (builtins.path { path = ${dir}/foo.txt; })`)).toBe('"hello\\n"');
    expect(evalNix(`builtins.readFile "\${builtins.path { path = ${dir}; name = "src"; }}/foo.txt"`)).toBe('"hello\\n"');
    // Filtered, it does not: the store path is not there to read.
    expect(evalError(`builtins.readDir (builtins.filterSource (p: t: false) ${dir})`)).toMatch(/^path '\/nix\/store\/[0-9a-z]{32}-tsnix-realise-\w+' is not valid$/);
  });

  it("reads a chroot store's paths where it keeps them", () => {
    const root = tempDir();
    try {
      const store = openChrootStore(root);
      const state = new EvalState(store, { log: () => {} });
      expect(evalNix('builtins.readFile (builtins.toFile "x" "y")', state)).toBe('"y"');
      expect(evalNix('import (builtins.toFile "v.nix" "1 + 2")', state)).toBe('3');
      const drv = 'derivation { name = "d"; system = "x"; builder = "/bin/sh"; }';
      expect(evalNix(`builtins.substring 0 7 (builtins.readFile (${drv}).drvPath)`, state)).toBe('"Derive("');
      // Messages and positions name the logical path, not where the chroot keeps it.
      const missing = '/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x';
      for (const op of ['builtins.readFile', 'builtins.readDir', 'builtins.readFileType', 'import', 'builtins.hashFile "sha256"'])
        expect(evalError(`${op} ${missing}`, state)).toBe(`path '${missing}' does not exist`);
      expect(evalError('builtins.readDir (builtins.toFile "x" "y")', state)).toBe("'/nix/store/lfngsssysp6h1v4ccqg23c52s9sjl779-x' is not a directory");
      // Copied again from where the chroot keeps it; a filter sees the logical paths (as in current Nix).
      expect(evalNix('builtins.readFile (builtins.path { path = builtins.toFile "a" "b"; })', state)).toBe('"b"');
      const seen: string[] = [];
      const traced = new EvalState(store, { log: (l) => seen.push(l) });
      expect(evalNix(`builtins.readDir (builtins.filterSource (p: t: builtins.trace p true) "\${${dir}}")`, traced)).toBe('{ "foo.txt" = "regular"; }');
      expect(seen).toEqual([expect.stringMatching(/^trace: \/nix\/store\/[0-9a-z]{32}-tsnix-realise-\w+\/foo\.txt$/)]);
      // Relative paths in a file kept in the chroot are relative to its logical path.
      expect(evalNix('import (builtins.toFile "rel.nix" "./.")', state)).toBe('/nix/store');
      expect(evalNix('(builtins.unsafeGetAttrPos "a" (import (builtins.toFile "p.nix" "{ a = 1; }"))).file', state)).toMatch(
        /^"\/nix\/store\/[0-9a-z]{32}-p\.nix"$/,
      );
      store.close();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('appendContext needs the paths it names to exist unless the store is read-only (Nix\'s ensurePath)', () => {
    const root = tempDir();
    try {
      const store = openChrootStore(root);
      const state = new EvalState(store, { log: () => {} });
      const missing = '/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x';
      const expr = (p: string) => `builtins.hasContext (builtins.appendContext "s" { "${p}" = { path = true; }; })`;
      expect(evalError(expr(missing), state)).toBe(`path '${missing}' does not exist and cannot be created`);
      expect(evalNix(expr(missing))).toBe('true'); // read-only
      expect(evalNix(`let p = builtins.toFile "x" "y"; in ${expr('${builtins.unsafeDiscardStringContext p}')}`, state)).toBe('true');
      store.close();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

// builtin:buildenv (nix-env's user environments), against the reference:
// the same derivations built by both must give byte-identical outputs.

import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { HOST_DEPS, drvTarget, openChrootStore, realise, refInstantiate, tempDir } from './helpers.js';

const EXPR = `
let
  mk = name: script: extra: derivation ({ inherit name; system = builtins.currentSystem; builder = "/bin/sh";
    args = [ "-c" script ]; __impureHostDeps = ${HOST_DEPS}; PATH = "/bin"; } // extra);
  c = mk "pkg-c" "mkdir -p $out/bin; echo c > $out/bin/c" {};
  a = mk "pkg-a" "mkdir -p $out/bin $out/share/doc/a $out/nix-support; echo a > $out/bin/a; echo a > $out/share/doc/a/README; echo a > $out/same; echo > $out/manifest.nix" {};
  b = mk "pkg-b" "mkdir -p $out/bin $out/share/doc/b $out/nix-support; echo b > $out/bin/b; ln -s $out/bin/b $out/bin/b-link; echo b > $out/share/doc/b/README; echo b > $out/same; echo ${'$'}{c} > $out/nix-support/propagated-user-env-packages" {};
  multi = mk "pkg-m" "mkdir -p $out/lib $dev/include; echo > $out/lib/libm; echo > $dev/include/m.h" { outputs = [ "out" "dev" ]; };
  low = a // { meta.priority = 10; };
  # What nix-env's buildenv.nix gives builtin:buildenv.
  buildenv = derivations: derivation {
    name = "user-environment";
    system = "builtin";
    builder = "builtin:buildenv";
    manifest = builtins.toFile "manifest" "[ ]";
    derivations = map (d: [ (d.meta.active or "true") (d.meta.priority or 5) (builtins.length (d.outputs or [ "out" ])) ]
      ++ map (output: builtins.getAttr output d) (d.outputs or [ "out" ])) derivations;
    preferLocalBuild = true;
    allowSubstitutes = false;
  };
in {
  env = buildenv [ low b multi ];
  clash = buildenv [ a b ];
}`;

describe('builtin:buildenv', () => {
  it('builds the same user environment as Nix', async () => {
    const ours = tempDir();
    const ref = tempDir();
    const [drv] = refInstantiate(ours, EXPR, ['env']);
    expect(refInstantiate(ref, EXPR, ['env'])).toEqual([drv]);
    const store = openChrootStore(ours);
    try {
      const r = await realise(store, [drvTarget(drv!)]);
      expect(r.errors).toEqual([]);
    } finally {
      store.close();
    }
    const built = spawnSync('nix-build', ['--store', ref, '--no-out-link', '--option', 'allowed-impure-host-deps', '/bin /usr /lib /lib64', drv!], { encoding: 'utf8' });
    expect(built.status).toBe(0);
    const out = built.stdout.trim();
    const hash = (root: string) => spawnSync('nix-store', ['--store', root, '-q', '--hash', out], { encoding: 'utf8' }).stdout;
    const tree = (root: string) => spawnSync('find', ['.', '-printf', '%p %l\\n'], { cwd: root + out, encoding: 'utf8' }).stdout.split('\n').sort().join('\n');
    expect(tree(ours)).toBe(tree(ref));
    expect(hash(ours)).toBe(hash(ref));
  });

  it('refuses two files at the same priority with Nix\'s message', async () => {
    const root = tempDir();
    const [drv] = refInstantiate(root, EXPR, ['clash']);
    const store = openChrootStore(root);
    try {
      const r = await realise(store, [drvTarget(drv!)], {}, { noBuildOutput: true });
      expect(r.status).toBe(100);
      expect(r.errors[0]).toMatch(
        /^builder for '.*-user-environment\.drv' failed with exit code 1;\nlast 1 log lines:\n> error: packages '\/nix\/store\/.*-pkg-(a|b)\/same' and '\/nix\/store\/.*-pkg-(a|b)\/same' have the same priority 5; use 'nix-env --set-flag priority NUMBER INSTALLED_PKGNAME' to change the priority of one of the conflicting packages \(0 being the highest priority\)\n/);
    } finally {
      store.close();
    }
  });
});

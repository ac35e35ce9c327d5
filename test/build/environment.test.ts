// The builder's environment, compared with the reference Nix building the
// very same derivations: the outputs (which dump what the builder saw) must
// be byte-identical.

import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildEnvironment, dumpJson, passAsFileName, structuredAttrsShell } from '../../src/build/environment.js';
import { emptyDerivation } from '../../src/store/derivation.js';
import { hashPlaceholder } from '../../src/store/derivation-hash.js';
import { HOST_DEPS, drvTarget, openChrootStore, realise, refInstantiate, tempDir } from './helpers.js';

const DUMP = `
  env | grep -v -e '^NIX_ATTRS_' -e '^SHLVL=' -e '^_=' | sort
  echo ---; pwd; echo "$@"
  for f in .attr-* .attrs.json .attrs.sh; do [ -e "$f" ] && { echo "--- $f"; cat "$f"; echo; }; done
  true
`;

const EXPR = `
let common = { system = builtins.currentSystem; builder = "/bin/sh"; __impureHostDeps = ${HOST_DEPS}; PATH = "/bin"; };
in rec {
  dep = derivation (common // { name = "graph-dep"; args = [ "-c" "echo \${builtins.toFile "leaf" "x"} > $out" ]; });
  graph = derivation (common // {
    name = "env-graph";
    args = [ "-c" "cat closure > $out; cat dep-drv >> $out" ];
    exportReferencesGraph = [ "closure" dep "dep-drv" dep.drvPath ];
  });
  structuredGraph = derivation (common // {
    name = "env-structured-graph";
    __structuredAttrs = true;
    builder = "/bin/bash";
    args = [ "-c" ''source .attrs.sh; cat .attrs.json > ''\${outputs[out]}'' ];
    exportReferencesGraph = { closure = [ dep ]; drvs = dep.drvPath; };
  });
  plain = derivation (common // {
    name = "env-plain";
    args = [ "-c" ''(${DUMP}) > $out; echo > $dev'' "arg-\${placeholder "out"}" ];
    outputs = [ "out" "dev" ];
    passAsFile = [ "big" "withPlaceholder" ];
    big = "a long value\\nwith lines";
    withPlaceholder = "dev is \${placeholder "dev"}";
    number = 42; flag = true; none = null; list = [ "x" 1 ];
    selfRef = placeholder "out";
  });
  # Bytes that are not UTF-8 (half of "é" each) in a variable and an argument.
  bytes = derivation (common // {
    name = "env-bytes";
    half = builtins.substring 0 1 "é";
    args = [ "-c" ''printf '%s|%s' "$half" "$0" > $out'' (builtins.substring 1 1 "é") ];
  });
  structured = derivation (common // {
    name = "env-structured";
    __structuredAttrs = true;
    builder = "/bin/bash";
    args = [ "-c" ''source .attrs.sh; (${DUMP}) > ''\${outputs[out]}; echo > ''\${outputs[lib]}'' ];
    outputs = [ "out" "lib" ];
    str = "it's"; int = 7; float = 1.5; bool = false; nul = null;
    strs = [ "a" "b c" ]; nested = { k = "v"; n = 1; }; deep = { a = [ 1 ]; };
    "not-a-var" = 1;
    ref = placeholder "lib";
  });
}`;

describe('the build environment', () => {
  let ourRoot: string;
  let refRoot: string;
  let drvs: string[];

  beforeAll(() => {
    ourRoot = tempDir();
    refRoot = tempDir();
    drvs = refInstantiate(ourRoot, EXPR, ['plain', 'structured', 'graph', 'structuredGraph', 'bytes']);
    expect(refInstantiate(refRoot, EXPR, ['plain', 'structured', 'graph', 'structuredGraph', 'bytes'])).toEqual(drvs);
  });

  it('is what Nix gives the builder, passAsFile, structured attributes and bytes that are not UTF-8 included', async () => {
    const store = openChrootStore(ourRoot);
    try {
      const r = await realise(store, drvs.map((d) => drvTarget(d)), { cores: '3' });
      expect(r.errors.join("\n") + [...r.logs.values()].join("")).toBe("");
      const ref = spawnSync('nix-build', ['--store', refRoot, '--no-out-link', '--cores', '3',
        '--option', 'allowed-impure-host-deps', '/bin /usr /lib /lib64', ...drvs], { encoding: 'utf8' });
      expect(ref.status).toBe(0);
      for (const out of ref.stdout.trim().split('\n')) {
        // As bytes: text decoding would hide a byte replaced by U+FFFD.
        const ours = fs.readFileSync(store.toRealPath(out));
        const theirs = fs.readFileSync(refRoot + out);
        expect(ours.toString('latin1')).toBe(theirs.toString('latin1'));
      }
    } finally {
      store.close();
    }
  });

  it('names passAsFile files after the hash of the attribute name', () => {
    const drv = emptyDerivation('x');
    drv.env.set('passAsFile', 'text');
    drv.env.set('text', 'contents');
    drv.outputs.set('out', { kind: 'inputAddressed', path: '/nix/store/00000000000000000000000000000000-x' });
    const env = buildEnvironment({ drv, storeDir: '/nix/store', buildDirInSandbox: '/build', cores: 1, outputPaths: new Map([['out', '/nix/store/00000000000000000000000000000000-x']]), isFixedOutput: false });
    expect(env.env.get('textPath')).toBe(`/build/${passAsFileName('text')}`);
    expect(env.env.has('text')).toBe(false);
    expect([...env.files]).toEqual([[passAsFileName('text'), 'contents']]);
  });

  it('writes .attrs.json with sorted keys and .attrs.sh with declare lines', () => {
    const json = { z: 1n, a: 'x', outputs: { out: hashPlaceholder('out') } };
    expect(dumpJson(json)).toBe(`{"a":"x","outputs":{"out":"${hashPlaceholder('out')}"},"z":1}`);
    expect(structuredAttrsShell({ b: true, a: "it's", l: ['x', 1n], o: { k: null }, bad: [[1n]], 'x-y': 1n })).toBe(
      "declare a='it'\\''s'\ndeclare b=1\ndeclare -a l=('x' 1 )\ndeclare -A o=(['k']='' )\n");
  });

  it('prints numbers as Nix does: integers exactly and floats as nlohmann in .attrs.json, C ints in .attrs.sh', () => {
    // Nix 2.8's .attrs.json and .attrs.sh for these attributes (observed from a build).
    const json = { big: 9007199254740993n, max: 9223372036854775807n, f4: 1e20, f5: -2.5e-7, f6: 16777200, f8: 1e-5, f1: 1.5, f3: 0.1, z: 0, f9: 100 };
    expect(dumpJson(json)).toBe('{"big":9007199254740993,"f1":1.5,"f3":0.1,"f4":1e+20,"f5":-2.5e-07,"f6":16777200.0,"f8":1e-05,"f9":100.0,"max":9223372036854775807,"z":0.0}');
    const sh = structuredAttrsShell({ i31: 2147483648n, i32: 4294967296n, ineg: -2147483649n, big: 9007199254740993n, max: 9223372036854775807n, f2: 3, f4: 1e20, f1: 1.5 });
    expect(sh).toBe('declare big=1\ndeclare f2=3\ndeclare f4=-2147483648\ndeclare i31=-2147483648\ndeclare i32=0\ndeclare ineg=2147483647\ndeclare max=-1\n');
  });
});

#!/usr/bin/env node
// Asks the reference Nix (nix-hash, nix-store, nix-instantiate on PATH) for
// the store-format facts tsnix must reproduce, and writes them to
// test/golden/store-*.json. Everything happens in a temporary directory with
// chroot stores (--store <tmp>): the machine's /nix is never touched.
//
//   node scripts/record-golden-store.mjs          # rewrite the golden files
//
// The tests import recordHashes/recordNar/... to repeat the questions live
// when nix-store is available.

import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const run = (cmd, args, opts = {}) =>
  execFileSync(cmd, args, { encoding: opts.encoding ?? 'utf8', maxBuffer: 1 << 28, stdio: ['pipe', 'pipe', 'pipe'], ...opts });

// ---------------------------------------------------------------------------
// Hashes

export const HASH_INPUTS = ['', 'hello', 'abc', 'The quick brown fox jumps over the lazy dog', 'ünïcødé\n', 'x'.repeat(1000)];
export const HASH_ALGOS = ['md5', 'sha1', 'sha256', 'sha512'];

export function recordHashes(tmp) {
  const hashes = [];
  HASH_INPUTS.forEach((input, i) => {
    const f = join(tmp, `hash-input-${i}`);
    writeFileSync(f, input);
    for (const algo of HASH_ALGOS) {
      const base16 = run('nix-hash', ['--type', algo, '--flat', f]).trim();
      const base32 = run('nix-hash', ['--type', algo, '--flat', '--base32', f]).trim();
      const truncated = run('nix-hash', ['--type', algo, '--flat', '--truncate', f]).trim();
      hashes.push({ input, algo, base16, base32, truncated });
    }
  });
  return { hashes };
}

// ---------------------------------------------------------------------------
// NAR

export const NAR_TREES = {
  emptyFile: { type: 'file', contents: '' },
  smallFile: { type: 'file', contents: 'hello' },
  paddedFile: { type: 'file', contents: '12345678' },
  executable: { type: 'file', contents: '#!/bin/sh\necho hi\n', executable: true },
  symlink: { type: 'symlink', target: '/some/where/else' },
  emptyDir: { type: 'dir', entries: {} },
  mixed: {
    type: 'dir',
    entries: {
      'b.txt': { type: 'file', contents: 'b' },
      'a.txt': { type: 'file', contents: 'a\n' },
      B: { type: 'file', contents: 'upper' },
      bin: { type: 'dir', entries: { run: { type: 'file', contents: 'x', executable: true } } },
      empty: { type: 'dir', entries: {} },
      link: { type: 'symlink', target: 'a.txt' },
      dangling: { type: 'symlink', target: '../nowhere' },
      'ünïcødé-名前': { type: 'file', contents: 'ü' },
      '.hidden': { type: 'file', contents: '' },
      'a-b': { type: 'file', contents: '' },
      'a.b': { type: 'file', contents: '' },
      a_b: { type: 'file', contents: '' },
    },
  },
};

export function buildTree(path, spec) {
  if (spec.type === 'file') {
    writeFileSync(path, spec.contents);
    chmodSync(path, spec.executable ? 0o755 : 0o644);
  } else if (spec.type === 'symlink') {
    symlinkSync(spec.target, path);
  } else {
    mkdirSync(path);
    for (const [name, child] of Object.entries(spec.entries)) buildTree(join(path, name), child);
  }
}

export function recordNar(tmp) {
  const trees = [];
  for (const [name, spec] of Object.entries(NAR_TREES)) {
    const p = join(tmp, `nar-${name}`);
    buildTree(p, spec);
    const nar = run('nix-store', ['--dump', p], { encoding: 'buffer' });
    trees.push({
      name,
      spec,
      narHex: nar.toString('hex'),
      sha256: run('nix-hash', ['--type', 'sha256', '--base32', p]).trim(),
      md5: run('nix-hash', ['--type', 'md5', p]).trim(),
    });
  }
  return { trees };
}

// ---------------------------------------------------------------------------
// Store paths of added files

export function recordPaths(tmp) {
  const store = join(tmp, 'paths-store');
  const fixed = [];
  for (const [name, spec] of Object.entries(NAR_TREES)) {
    const p = join(tmp, `paths-${name}`);
    buildTree(p, spec);
    for (const method of ['flat', 'recursive']) {
      if (method === 'flat' && spec.type !== 'file') continue;
      for (const algo of HASH_ALGOS) {
        const args = ['--store', store, '--add-fixed', ...(method === 'recursive' ? ['--recursive'] : []), algo, p];
        fixed.push({ tree: name, storeName: `paths-${name}`, method, algo, path: run('nix-store', args).trim() });
      }
    }
  }
  const texts = [];
  for (const expr of TEXT_EXPRS) {
    texts.push({ expr, path: JSON.parse(run('nix-instantiate', ['--store', store, '--eval', '--json', '-E', expr])) });
  }
  return { fixed, texts };
}

export const TEXT_EXPRS = [
  'builtins.toFile "a" "b"',
  'builtins.toFile "empty" ""',
  'builtins.toFile "x.sh" "#!/bin/sh\\necho ünïcødé\\n"',
  'let a = builtins.toFile "a" "b"; in builtins.toFile "refs" "uses ${a}"',
  'let a = builtins.toFile "a" "b"; b = builtins.toFile "c" "d"; in builtins.toFile "refs2" "${b} and ${a}"',
];

// ---------------------------------------------------------------------------
// builtins that add source trees: @DIR@ is replaced by the absolute path of
// a copy of the `mixed` tree named `src-tree` (store paths depend on the
// base name and contents only, not on where the tree lives).

export const SOURCE_EXPRS = {
  pathLiteral: '"${@DIR@}"',
  pathLiteralFile: '"${@DIR@ + "/a.txt"}"',
  builtinsPath: 'builtins.path { path = @DIR@; }',
  builtinsPathRenamed: 'builtins.path { path = @DIR@; name = "renamed"; }',
  builtinsPathFiltered: 'builtins.path { path = @DIR@; filter = p: t: t != "symlink"; }',
  builtinsPathFlat: 'builtins.path { path = @DIR@ + "/a.txt"; recursive = false; }',
  builtinsPathExec: 'builtins.path { path = @DIR@ + "/bin/run"; recursive = false; name = "run"; }',
  filterSource: 'builtins.filterSource (p: t: baseNameOf p != "bin" && t != "directory" || baseNameOf p == "empty") @DIR@',
  toFileWithSource: 'builtins.toFile "with-src" "${@DIR@ + "/a.txt"} ${@DIR@}"',
  derivationWithSource: '(derivation { name = "uses-src"; system = "x"; builder = "/bin/sh"; src = @DIR@; script = @DIR@ + "/bin/run"; }).drvPath',
  storePathOfSource: 'let p = builtins.path { path = @DIR@; }; in (derivation { name = "sp"; system = "x"; builder = "/bin/sh"; s = builtins.storePath p; }).drvPath',
};

export function makeSourceTree(tmp) {
  const dir = join(tmp, 'src-parent');
  mkdirSync(dir, { recursive: true });
  const tree = join(dir, 'src-tree');
  buildTree(tree, NAR_TREES.mixed);
  return tree;
}

export function recordSources(tmp) {
  const tree = makeSourceTree(tmp);
  const store = join(tmp, 'sources-store');
  const results = {};
  for (const [key, expr] of Object.entries(SOURCE_EXPRS)) {
    const e = expr.replaceAll('@DIR@', tree);
    results[key] = { expr, value: JSON.parse(run('nix-instantiate', ['--store', store, '--eval', '--json', '-E', e])) };
  }
  return { sources: results };
}

// ---------------------------------------------------------------------------
// Derivations

// Every case gets `mk`, `derivation` with defaults for name, system and builder.
const MK = 'let mk = attrs: derivation ({ name = "basic"; system = "x86_64-linux"; builder = "/bin/sh"; } // attrs); in ';
const DRV_BODIES = {
  basic: `mk { }`,
  multipleOutputs: `mk { outputs = [ "out" "dev" "bin" "lib" ]; }`,
  outputsNotIncludingOut: `mk { outputs = [ "lib" "doc" ]; }`,
  escapes: `mk { args = [ "-c" "echo \\"hi\\"\\n\\ttab\\r\\\\back" "" ]; weird = "a\\"b\\\\c\\nd\\re\\tf"; unicode = "ünïcødé 名前"; }`,
  attrTypes: `mk { int = 42; neg = -7; t = true; f = false; n = null; list = [ 1 "two" [ 3 ] null true false ]; float = 1.5; }`,
  ignoreNulls: `mk { __ignoreNulls = true; n = null; keep = "yes"; }`,
  passAsFile: `mk { passAsFile = [ "big" "other" ]; big = "lots of text"; other = "more"; }`,
  structuredAttrs: `mk { __structuredAttrs = true; outputs = [ "out" "dev" ]; int = 1; float = 2.5; b = true; nul = null; list = [ 1 "a" { x = [ ]; } ]; set = { z = 1; a = "ü\\n\\"q\\""; }; args = [ "-e" ]; }`,
  structuredAttrsNumbers: `mk { __structuredAttrs = true; a = 1.0; b = 0.1 + 0.2; c = 123456789.0; d = 1.0e21; e = 1.5e-7; i = -9223372036854775807; ctl = builtins.fromJSON "\\"\\\\u0001\\\\u001f\\\\u007f\\""; }`,
  // A path reached through __toString stays the path as written (not copied to the store).
  structuredAttrsToStringPath: `mk { __structuredAttrs = true; foo = { __toString = self: /no/such/file; }; bar = { outPath = { __toString = self: /no/such/dir/x; }; }; }`,
  astralNames: `mk { "\u{1F600}" = "astral"; "\uFFFC" = "bmp"; }`,
  astralNamesStructured: `mk { __structuredAttrs = true; "\u{1F600}" = "astral"; "\uFFFC" = "bmp"; set = { "\u{1F600}" = 1; "\uFFFC" = 2; }; }`,
  placeholders: `mk { outputs = [ "out" "bin" ]; p = builtins.placeholder "out"; q = builtins.placeholder "bin"; r = builtins.placeholder "dev"; }`,
  fixedFlatSha256Hex: `mk { outputHashAlgo = "sha256"; outputHash = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"; }`,
  fixedFlatSha256Base32: `mk { outputHashAlgo = "sha256"; outputHash = "094qif9n4cq4fdg459qzbhg1c6wywawwaaivx0k0x8xhbyx4vwic"; }`,
  fixedRecursiveSha256: `mk { outputHashMode = "recursive"; outputHashAlgo = "sha256"; outputHash = "094qif9n4cq4fdg459qzbhg1c6wywawwaaivx0k0x8xhbyx4vwic"; }`,
  fixedSri: `mk { outputHash = "sha256-LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="; }`,
  fixedSriRecursive: `mk { outputHashMode = "recursive"; outputHash = "sha512-m3HSJL1i83hdltRq0+o9czGb+8KJDKra4t/3JRlnPKcjI8PZm6XBHXx6zG4UuMXaDEZjR1wuXDre9G9zvN7AQw=="; }`,
  fixedSha1: `mk { outputHashAlgo = "sha1"; outputHash = "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"; }`,
  fixedSha1Recursive: `mk { outputHashMode = "recursive"; outputHashAlgo = "sha1"; outputHash = "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"; }`,
  fixedSha512Base64: `mk { outputHashAlgo = "sha512"; outputHash = "m3HSJL1i83hdltRq0+o9czGb+8KJDKra4t/3JRlnPKcjI8PZm6XBHXx6zG4UuMXaDEZjR1wuXDre9G9zvN7AQw=="; }`,
  fixedMd5: `mk { outputHashAlgo = "md5"; outputHash = "5d41402abc4b2a76b9719d911017c592"; }`,
  fixedPrefixedAlgo: `mk { outputHash = "sha256:094qif9n4cq4fdg459qzbhg1c6wywawwaaivx0k0x8xhbyx4vwic"; }`,
  dependsOnOutputs: `let d = mk { name = "dep"; outputs = [ "out" "dev" ]; }; in mk { a = d; b = "\${d.dev}/include"; builder = "\${d}/bin/sh"; }`,
  dependsOnFixed: `let f = mk { name = "fetched"; outputHashMode = "recursive"; outputHash = "sha256-LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="; }; in mk { src = f; }`,
  fixedChangesNothingDownstream: `let f = mk { name = "fetched"; builder = "/other/builder"; outputHashMode = "recursive"; outputHash = "sha256-LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="; }; in mk { src = f; }`,
  chain: `let a = mk { name = "a"; }; b = mk { name = "b"; x = a; }; in mk { name = "c"; y = b; z = a; }`,
  // Two inputs with one modulo hash (they differ only in how their fixed
  // input is fetched): their outputs are printed as one entry, merged.
  sameModuloHash: `let f = b: mk { name = "fetched"; builder = b; outputHashMode = "recursive"; outputHash = "sha256-LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="; }; m = b: mk { name = "lib"; outputs = [ "out" "dev" ]; src = f b; }; in mk { x = (m "/one").out; y = (m "/two").dev; }`,
  sources: `let t = builtins.toFile "script.sh" "echo hi"; in mk { args = [ t ]; s = "\${t}"; }`,
  drvPathContext: `let d = mk { name = "dep"; outputs = [ "out" "dev" ]; src = builtins.toFile "s" "x"; }; in mk { p = d.drvPath; }`,
  drvPathAsString: `let d = mk { name = "dep"; }; in mk { p = "\${d.drvPath}"; }`,
  contextDiscarded: `let d = mk { name = "dep"; }; in mk { p = builtins.unsafeDiscardStringContext "\${d}"; }`,
  outputsAsString: `let a = { name = "strs"; system = "x"; builder = "/bin/sh"; outputs = " out  dev\\tbin "; }; s = builtins.derivationStrict a; in { type = "derivation"; name = "strs"; outputName = "out"; drvPath = s.drvPath; outPath = s.out; drvAttrs = a; }`,
  argsCoerced: `mk { args = [ 1 true false null 2.5 [ "a" [ ] "b" ] "" ]; }`,
  rawJsonEnv: `mk { __json = "{\\"a\\":1}"; }`,
  envNameOrder: `mk { Z = "1"; a = "2"; _ = "3"; "ä" = "4"; "a b" = "5"; "A" = "6"; }`,
  builtinBuilder: `mk { builder = "builtin:buildenv"; manifest = "m"; }`,
  multiLineValue: `mk { script = ''\n    echo one\n    echo "two" \\ three\n  ''; }`,
  nameWithDots: `mk { name = "foo-1.2.3+x_y?z=w"; outputs = [ "out" "man" ]; }`,
};

// Expressions the reference rejects; the message is recorded.
const DRV_ERROR_BODIES = {
  toFileWithDrvRef: `let d = mk { name = "dep"; }; in builtins.toFile "refs-drv" "\${d.drvPath}"`,
  toFileWithOutputRef: `let d = mk { name = "dep"; }; in builtins.toFile "refs-out" "\${d}"`,
  missingBuilder: `derivation { name = "a"; system = "x"; }`,
  missingSystem: `derivation { name = "a"; builder = "/bin/sh"; }`,
  missingName: `derivation { system = "x"; builder = "/bin/sh"; }`,
  nameEndsInDrv: `mk { name = "foo.drv"; }`,
  badNameChar: `mk { name = "foo bar"; }`,
  emptyName: `mk { name = ""; }`,
  longName: `mk { name = "${'x'.repeat(212)}"; }`,
  duplicateOutput: `mk { outputs = [ "out" "out" ]; }`,
  outputNamedDrv: `mk { outputs = [ "out" "drv" ]; }`,
  emptyOutputs: `mk { outputs = [ ]; }`,
  fixedWithTwoOutputs: `mk { outputs = [ "out" "dev" ]; outputHash = "sha256-LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="; }`,
  badHashMode: `mk { outputHashMode = "sideways"; outputHash = "sha256-LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="; }`,
  badHash: `mk { outputHashAlgo = "sha256"; outputHash = "abc"; }`,
  hashWithoutAlgo: `mk { outputHash = "094qif9n4cq4fdg459qzbhg1c6wywawwaaivx0k0x8xhbyx4vwic"; }`,
  hashAlgoMismatch: `mk { outputHashAlgo = "sha1"; outputHash = "sha256-LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="; }`,
  unknownAlgo: `mk { outputHashAlgo = "sha3"; outputHash = "abc"; }`,
  functionAttr: `mk { f = x: x; }`,
  setAttr: `mk { s = { a = 1; }; }`,
  contentAddressedNeedsFeature: `mk { __contentAddressed = true; }`,
};

// Experimental kinds (floating content-addressed, impure, and what depends on
// them), instantiated with these features enabled.
export const CA_FEATURES = ['ca-derivations', 'impure-derivations'];
const DRV_CA_BODIES = {
  caFloating: `mk { __contentAddressed = true; outputs = [ "out" "dev" ]; }`,
  caFloatingFlatSha1: `mk { __contentAddressed = true; outputHashMode = "flat"; outputHashAlgo = "sha1"; }`,
  dependsOnCa: `let c = mk { name = "ca"; __contentAddressed = true; outputs = [ "out" "lib" ]; }; in mk { x = c; y = "\${c.lib}/lib"; }`,
  deferredChain: `let c = mk { name = "ca"; __contentAddressed = true; }; d = mk { name = "d"; x = c; }; in mk { y = d; }`,
  impure: `mk { __impure = true; outputs = [ "out" "bin" ]; }`,
  dependsOnImpure: `let i = mk { name = "imp"; __impure = true; }; in mk { x = i; }`,
  caAndFixedInputs: `let c = mk { name = "ca"; __contentAddressed = true; }; f = mk { name = "f"; outputHash = "sha256-LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="; }; in mk { inherit c f; }`,
};
export const DRV_CA_EXPRS = Object.fromEntries(Object.entries(DRV_CA_BODIES).map(([k, body]) => [k, MK + body]));

export const DRV_EXPRS = Object.fromEntries(Object.entries(DRV_BODIES).map(([k, body]) => [k, MK + body]));

export const DRV_ERROR_EXPRS = Object.fromEntries(Object.entries(DRV_ERROR_BODIES).map(([k, body]) => [k, MK + body]));

/** Reads every .drv file in a chroot store. */
function readDrvs(store) {
  const dir = join(store, 'nix/store');
  const out = {};
  let names = [];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const n of names) if (n.endsWith('.drv')) out[`/nix/store/${n}`] = readFileSync(join(dir, n), 'utf8');
  return out;
}

export function instantiate(tmp, key, expr, features = []) {
  const store = join(tmp, `drv-store-${key}`);
  const extra = features.length ? ['--extra-experimental-features', features.join(' ')] : [];
  // nix-instantiate prints `<drv>!<output>` when the first output is not `out`.
  const drvPath = run('nix-instantiate', [...extra, '--store', store, '-E', expr]).trim().split('!')[0];
  const outputs = JSON.parse(
    run('nix-instantiate', [...extra, '--store', store, '--eval', '--strict', '--json', '-E', `removeAttrs (builtins.derivationStrict (${expr}).drvAttrs) [ "drvPath" ]`]),
  );
  // Only the derivations in this expression's closure exist in its own store.
  return { expr, drvPath, outputs, drvs: readDrvs(store) };
}

export function recordDerivations(tmp) {
  const cases = {};
  for (const [key, expr] of Object.entries(DRV_EXPRS)) cases[key] = instantiate(tmp, key, expr);
  const experimental = {};
  for (const [key, expr] of Object.entries(DRV_CA_EXPRS)) experimental[key] = { ...instantiate(tmp, key, expr, CA_FEATURES), features: CA_FEATURES };
  const errors = {};
  for (const [key, expr] of Object.entries(DRV_ERROR_EXPRS)) errors[key] = instantiateError(tmp, key, expr);
  return { cases, experimental, errors };
}

/** Runs an expression that must fail and returns Nix's message (the first line of stderr). */
export function instantiateError(tmp, key, expr) {
  const store = join(tmp, `drv-err-store-${key}`);
  try {
    run('nix-instantiate', ['--store', store, '-E', expr]);
  } catch (e) {
    const stderr = String(e.stderr);
    return { expr, message: stderr.split('\n')[0], stderr };
  }
  throw new Error(`expected ${key} to fail: ${expr}`);
}

// ---------------------------------------------------------------------------

export function withTmp(fn) {
  const tmp = mkdtempSync(join(tmpdir(), 'tsnix-golden-'));
  try {
    return fn(tmp);
  } finally {
    run('chmod', ['-R', 'u+w', tmp]);
    rmSync(tmp, { recursive: true, force: true });
  }
}

export function nixVersion() {
  return run('nix-store', ['--version']).trim();
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const goldenDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'golden');
  mkdirSync(goldenDir, { recursive: true });
  const version = nixVersion();
  const write = (name, facts) => {
    writeFileSync(join(goldenDir, name), JSON.stringify({ recordedWith: version, ...facts }, null, 2) + '\n');
    console.log(`wrote test/golden/${name}`);
  };
  withTmp((tmp) => {
    write('store-hashes.json', recordHashes(tmp));
    write('store-nar.json', recordNar(tmp));
    write('store-paths.json', recordPaths(tmp));
    write('store-derivations.json', recordDerivations(tmp));
    write('store-sources.json', recordSources(tmp));
  });
}

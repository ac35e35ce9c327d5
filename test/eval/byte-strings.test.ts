// Strings that stand for bytes which are not valid UTF-8 (src/byte-strings.ts):
// every byte string survives the round trip, lengths count bytes, cut
// characters join back into the character, and toJSON rejects them with the
// words current Nix uses. What Nix answers for such strings is checked
// against the reference in test/fixtures/eval-libs/byte-strings.nix.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { byteCount, concatBytes, decodeBytes, encodeBytes, joinBytes, utf8Error } from '../../src/byte-strings.js';
import { compareBytewise } from '../../src/sort-strings.js';
import { evalError, evalNix } from './eval-helpers.js';
import { openChrootStore, tempDir } from '../store/local/helpers.js';
import { EvalState } from '../../src/eval/eval-state.js';
import { ReadOnlyStore } from '../../src/store/readonly-store.js';

/** A deterministic pseudo-random generator (xorshift32), so failures reproduce. */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** Bytes mixing ASCII, valid multi-byte characters and stray bytes. */
function randomBytes(next: () => number, n: number): Buffer {
  const pieces: Buffer[] = [];
  while (pieces.length < n) {
    const r = next();
    if (r < 0.4) pieces.push(Buffer.of(1 + Math.floor(next() * 127)));
    else if (r < 0.7) pieces.push(Buffer.of(0x80 + Math.floor(next() * 128)));
    else pieces.push(Buffer.from(String.fromCodePoint(0x80 + Math.floor(next() * 0x10ff00)).replace(/[\uD800-\uDFFF]/, 'x'), 'utf8'));
  }
  return Buffer.concat(pieces);
}

describe('byte strings', () => {
  it('give back every byte string they were made from', () => {
    const next = random(7);
    for (let k = 0; k < 500; k++) {
      const bytes = randomBytes(next, 1 + Math.floor(next() * 40));
      const s = decodeBytes(bytes);
      expect(encodeBytes(s).equals(bytes)).toBe(true);
      expect(byteCount(s)).toBe(bytes.length);
    }
  });

  it('are plain text when the bytes are valid UTF-8', () => {
    for (const text of ['', 'abc', 'é', '€ and 😀', '\u{10080}\u{10FFFF}']) {
      expect(decodeBytes(Buffer.from(text, 'utf8'))).toBe(text);
    }
  });

  it('join the pieces of a cut character back into it', () => {
    for (const text of ['é', '😀', 'a€b', 'x\u{10080}y', '日本語']) {
      const bytes = Buffer.from(text, 'utf8');
      for (let cut = 0; cut <= bytes.length; cut++) {
        expect(concatBytes(decodeBytes(bytes.subarray(0, cut)), decodeBytes(bytes.subarray(cut)))).toBe(text);
      }
      const single = [...bytes].map((b) => decodeBytes(Buffer.of(b)));
      expect(joinBytes(single, '')).toBe(text);
      // A stray byte next to a character stays a byte.
      const stray = decodeBytes(Buffer.of(0xff));
      expect(encodeBytes(concatBytes(stray, text)).equals(Buffer.concat([Buffer.of(0xff), bytes]))).toBe(true);
    }
  });

  it('sort by their bytes', () => {
    const cutE = decodeBytes(Buffer.of(0xc3));
    const strayFF = decodeBytes(Buffer.of(0xff));
    const sorted = ['z', strayFF, '😀', cutE, 'é'].sort(compareBytewise).map((s) => encodeBytes(s).toString('hex'));
    expect(sorted).toEqual(['7a', 'c3', 'c3a9', 'f09f9880', 'ff']);
  });

  it('say where UTF-8 stops being valid, as a strict decoder reads it', () => {
    const at = (...b: number[]) => utf8Error(decodeBytes(Buffer.from(b)));
    expect(at(0x61, 0xff)).toEqual({ kind: 'invalid', index: 1, byte: 0xff });
    expect(at(0xc3, 0x61)).toEqual({ kind: 'invalid', index: 1, byte: 0x61 });
    expect(at(0x61, 0xc3)).toEqual({ kind: 'incomplete', last: 0xc3 });
    expect(at(0xe0, 0x80, 0x80)).toEqual({ kind: 'invalid', index: 1, byte: 0x80 });
    expect(at(0xed, 0xa0, 0x80)).toEqual({ kind: 'invalid', index: 1, byte: 0xa0 });
    expect(at(0xf4, 0x90, 0x80, 0x80)).toEqual({ kind: 'invalid', index: 1, byte: 0x90 });
    expect(utf8Error('plain é 😀')).toBeUndefined();
  });

  it('make toJSON fail as current Nix does', () => {
    expect(evalError('builtins.toJSON { a = [ (builtins.substring 0 1 "é") ]; }')).toBe(
      'JSON serialization error: [json.exception.type_error.316] incomplete UTF-8 string; last byte: 0xC3',
    );
    expect(evalNix('builtins.toJSON (builtins.substring 0 1 "é" + builtins.substring 1 1 "é")')).toBe('"\\"é\\""');
  });
});

// A directory holding a file whose name is the bytes 61 FF 62 (not UTF-8)
// and a plain one. The store paths are what Nix 2.8 computes for it.
describe('files whose names are not UTF-8', () => {
  const root = mkdtempSync(join(tmpdir(), 'tsnix-raw-names-'));
  const d = join(root, 'd');
  mkdirSync(d);
  writeFileSync(Buffer.concat([Buffer.from(`${d}/a`), Buffer.of(0xff), Buffer.from('b')]), 'hi');
  writeFileSync(join(d, 'plain'), 'x');
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const names = `builtins.attrNames (builtins.readDir ${d})`;

  it('keep their bytes through readDir and back into the file system', () => {
    expect(evalNix(`map builtins.stringLength (${names})`)).toBe('[ 3 5 ]');
    expect(evalNix(`map (n: builtins.readFile (${d} + "/\${n}")) (${names})`)).toBe('[ "hi" "x" ]');
    expect(evalNix(`map (n: builtins.hashFile "sha1" (${d} + "/\${n}")) (${names})`)).toBe(
      '[ "c22b5f9178342609428d6f51b2c5af4c0bde6a42" "11f6ad8ec52a2984abaafd7c3b516503785c2072" ]',
    );
    expect(evalNix(`map (n: [ (builtins.pathExists (${d} + "/\${n}")) (builtins.readFileType (${d} + "/\${n}")) ]) (${names})`)).toBe(
      '[ [ true "regular" ] [ true "regular" ] ]',
    );
  });

  it('hash into the store and reach path filters as Nix has them', () => {
    expect(evalNix(`builtins.path { path = ${d}; }`)).toBe('"/nix/store/knp7q5ivqv2bwng98vwps3ld7g0ph8na-d"');
    // The filter sees the name's three bytes, and drops it.
    expect(evalNix(`builtins.path { path = ${d}; filter = p: t: builtins.stringLength (baseNameOf p) != 3; }`)).toBe(
      '"/nix/store/4x8nqbhxz88jxm7q44bw64llpmj6564g-d"',
    );
    expect(evalNix(`map (n: builtins.path { path = ${d} + "/\${n}"; name = "x"; }) (${names})`)).toBe(
      '[ "/nix/store/qbpqchclbsdh374zrnflv0d5i3s6pbvg-x" "/nix/store/bz5mp54793flj6wxlimkw7vlhskwip8v-x" ]',
    );
  });

  it('are copied into a local store under their bytes', () => {
    const storeRoot = tempDir();
    try {
      const store = openChrootStore(storeRoot);
      const state = new EvalState(store, { log: () => {} });
      expect(evalNix(`builtins.path { path = ${d}; }`, state)).toBe('"/nix/store/knp7q5ivqv2bwng98vwps3ld7g0ph8na-d"');
      expect(evalNix(`builtins.path { path = ${d} + "/\${builtins.head (${names})}"; name = "x"; }`, state)).toBe(
        '"/nix/store/qbpqchclbsdh374zrnflv0d5i3s6pbvg-x"',
      );
      const copied = readdirSync(join(storeRoot, 'nix/store/knp7q5ivqv2bwng98vwps3ld7g0ph8na-d'), { encoding: 'buffer' });
      expect(copied.map((n) => n.toString('hex')).sort()).toEqual(['61ff62', Buffer.from('plain').toString('hex')]);
      store.close();
    } finally {
      rmSync(storeRoot, { recursive: true, force: true });
    }
  });
});

// A folder whose name ends in the byte FE, reached through the search path
// and through symlinks: every file-system call takes its bytes (src/byte-fs.ts).
describe('search paths and links through a folder whose name is not UTF-8', () => {
  const root = mkdtempSync(join(tmpdir(), 'tsnix-raw-search-'));
  const rawDir = Buffer.concat([Buffer.from(`${root}/r`), Buffer.of(0xfe)]);
  const inRaw = (name: string) => Buffer.concat([rawDir, Buffer.from(`/${name}`)]);
  mkdirSync(rawDir);
  writeFileSync(inRaw('x.nix'), '"in raw"');
  symlinkSync('x.nix', inRaw('link.nix'));
  mkdirSync(inRaw('sub'));
  writeFileSync(inRaw('sub/default.nix'), 'builtins.readFile ./data');
  writeFileSync(inRaw('sub/data'), 'dat');
  // A link with a plain name into the folder: following it gives the bytes back.
  symlinkSync(inRaw('sub'), join(root, 'plain'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const withSearchPath = (entry: string) =>
    new EvalState(new ReadOnlyStore('/nix/store'), { log: () => {}, nixPath: [entry] });

  it('find files along it, as Nix does', () => {
    const dir = decodeBytes(rawDir);
    expect(evalNix('[ (import <foo/x.nix>) (import <foo/link.nix>) (import <foo/sub>) ]', withSearchPath(`foo=${dir}`))).toBe(
      '[ "in raw" "in raw" "dat" ]',
    );
    expect(evalNix('import <sub>', withSearchPath(dir))).toBe('"dat"');
    expect(evalNix(`builtins.findFile [ { prefix = "foo"; path = "${dir}"; } ] "foo/x.nix"`)).toBe(`${dir}/x.nix`);
  });

  it('are read through symlinks into it', () => {
    // Reading resolves the link to the folder's bytes (realPath), then reads there.
    expect(evalNix(`import ${root}/plain`)).toBe('"dat"');
    expect(evalNix(`builtins.readFile ${root}/plain/data`)).toBe('"dat"');
  });
});

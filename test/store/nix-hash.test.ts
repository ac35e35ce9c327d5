// nix-hash, run in-process, against nix-hash 2.8 (live when installed) and
// the committed golden hashes.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/commands/hash.js';
import { reportError } from '../../src/cli/run-command.js';
import { loadSettings } from '../../src/cli/settings.js';
import { buildTree, haveNix, NAR_TREES } from './golden.js';

const work = mkdtempSync(join(tmpdir(), 'tsnix-nix-hash-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const file = join(work, 'hello.txt');
writeFileSync(file, 'hello');
const tree = join(work, 'tree');
buildTree(tree, NAR_TREES.mixed!);
const emptyDir = join(work, 'empty');
mkdirSync(emptyDir);

/** Runs our nix-hash; returns stdout, the stderr Nix would print and the exit code. */
async function ours(args: string[]): Promise<{ stdout: string; stderr: string; status: number }> {
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (d) => (out += d));
  let err = '';
  const origWrite = process.stderr.write.bind(process.stderr);
  let status: number;
  try {
    status = await main(args, { programName: 'nix-hash', settings: loadSettings(), stdout, stderr: process.stderr });
  } catch (e) {
    (process.stderr as { write: unknown }).write = (s: string) => ((err += s), true);
    try {
      status = reportError('nix-hash', e, false);
    } finally {
      (process.stderr as { write: unknown }).write = origWrite;
    }
  }
  return { stdout: out, stderr: err, status };
}

function theirs(args: string[]): { stdout: string; stderr: string; status: number } {
  const r = spawnSync('nix-hash', args, { encoding: 'utf8' });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status ?? -1 };
}

// Invocations whose output and errors must equal nix-hash 2.8's.
const cases: string[][] = [
  [tree],
  ['--type', 'sha256', tree],
  ['--type', 'sha256', '--base32', tree, file],
  ['--type', 'sha512', '--truncate', tree],
  ['--type', 'sha1', '--flat', file],
  ['--flat', '--base32', '--type', 'sha256', file],
  ['--truncate', file],
  [emptyDir],
  ['--type', 'sha1', '--to-base32', '5144612b23081da49ab008bd0b73960b6a2b7fe9'],
  ['--type', 'sha256', '--to-base16', '094qif9n4cq4fdg459qzbhg1c6wywawwaaivx0k0x8xhbyx4vwic', 'sha256-LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ='],
  ['--to-base32', '5d41402abc4b2a76b9719d911017c592'],
  ['--type', 'md5', '--to-base32', 'sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824'],
  ['--to-base16', '--type', 'sha256', 'abc'],
  ['--type', 'sha7', file],
  ['--type'],
  ['--bogus'],
  [join(work, 'missing')],
  ['--flat', join(work, 'missing')],
  ['--flat', emptyDir],
  [],
];

describe('nix-hash', () => {
  it.each(cases)('%j', async (...args) => {
    const r = await ours(args);
    if (haveNix) expect(r).toEqual(theirs(args));
    else expect(r.status === 0 ? r.stderr : r.stdout).toBe('');
  });

  it('converts a hash that names its type without --type, as current Nix does (Nix 2.8 expected md5)', async () => {
    const hex = '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824';
    expect((await ours(['--to-base32', `sha256:${hex}`])).stdout).toBe('094qif9n4cq4fdg459qzbhg1c6wywawwaaivx0k0x8xhbyx4vwic\n');
    expect((await ours(['--to-base16', 'sha256-LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ='])).stdout).toBe(`${hex}\n`);
  });

  it('prints its version as the other commands do', async () => {
    expect((await ours(['--version'])).stdout).toMatch(/^nix-hash \(Nix\) \d+\.\d+\.\d+\nnix-hash is tsnix /);
  });

  it('prints SRI and base-64 (newer Nix flags)', async () => {
    expect((await ours(['--type', 'sha256', '--flat', '--sri', file])).stdout).toBe('sha256-LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=\n');
    expect((await ours(['--type', 'sha256', '--flat', '--base64', file])).stdout).toBe('LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=\n');
    expect((await ours(['--type', 'sha256', '--to-sri', '094qif9n4cq4fdg459qzbhg1c6wywawwaaivx0k0x8xhbyx4vwic'])).stdout).toBe(
      'sha256-LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=\n',
    );
  });

  it('matches the golden NAR hash of the mixed tree', async () => {
    const golden = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'golden', 'store-nar.json'), 'utf8'));
    const mixed = golden.trees.find((t: { name: string }) => t.name === 'mixed');
    expect((await ours(['--type', 'sha256', '--base32', tree])).stdout).toBe(`${mixed.sha256}\n`);
    expect((await ours([tree])).stdout).toBe(`${mixed.md5}\n`);
  });
});

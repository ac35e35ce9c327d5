// The scheduler's observable behaviour: order, parallelism, failures and
// their messages and exit statuses, as Nix's worker produces them.

import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drvTarget, mkDrvExpr, openChrootStore, realise, refInstantiate, tempDir } from './helpers.js';
import type { LocalStore } from '../../src/store/local/local-store.js';

const GRAPH = mkDrvExpr(`rec {
  a = mk "a" "echo building a; echo line2; exit 3" {};
  b = mk "b" "echo b > $out" { dep = a; };
  c = mk "c" "echo c > $out" {};
  d = mk "d" "echo d > $out" { deps = [ b c ]; };
  half = mk "half" "mkdir $out; echo partial > $out/file; exit 1" {};
  slow1 = mk "slow1" "date +%s.%N > $out; sleep 1; date +%s.%N >> $out" {};
  slow2 = mk "slow2" "date +%s.%N > $out; sleep 1; date +%s.%N >> $out" {};
  silent = mk "silent" "echo starting; sleep 10; echo > $out" {};
  shared = mk "shared" "sleep 1; echo > $out" {};
  loud = mk "loud" "echo start; i=0; while [ $i -lt 200 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done; sleep 10; echo > $out" {};
  loudQuick = mk "loud-quick" "i=0; while [ $i -lt 200 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done; echo > $out" {};
}`);

function refVerify(root: string): number {
  const r = spawnSync('nix-store', ['--store', root, '--verify', '--check-contents'], { encoding: 'utf8' });
  return r.status ?? -1;
}

describe('the scheduler', () => {
  let root: string;
  let store: LocalStore;
  let drvs: Record<string, string>;

  beforeAll(() => {
    root = tempDir();
    const names = ['a', 'b', 'c', 'd', 'half', 'slow1', 'slow2', 'silent', 'shared', 'loud', 'loudQuick'];
    const paths = refInstantiate(root, GRAPH, names);
    drvs = Object.fromEntries(names.map((n, i) => [n, paths[i]!]));
    store = openChrootStore(root);
  });
  afterAll(() => store.close());

  it('registers nothing for a failed build and leaves nothing behind', async () => {
    const r = await realise(store, [drvTarget(drvs.half!)]);
    expect(r.status).toBe(100);
    expect(r.errors).toEqual([`builder for '${drvs.half}' failed with exit code 1`]);
    const out = store.queryDerivationOutputs(drvs.half!).get('out')!;
    expect(store.isValidPath(out)).toBe(false);
    expect(fs.existsSync(store.toRealPath(out))).toBe(false);
    expect(fs.existsSync(store.toRealPath(drvs.half!) + '.chroot')).toBe(false);
    expect(refVerify(root)).toBe(0);
  });

  it('shows the last log lines in the error when the log was not shown (-Q)', async () => {
    const r = await realise(store, [drvTarget(drvs.a!)], {}, { noBuildOutput: true });
    expect(r.errors).toEqual([
      `builder for '${drvs.a}' failed with exit code 3;\nlast 2 log lines:\n> building a\n> line2\nFor full logs, run 'nix log ${drvs.a}'.`,
    ]);
    // The log is kept where Nix keeps it (uncompressed) and the reference reads it.
    const log = spawnSync('nix-store', ['--store', root, '--read-log', drvs.a!], { encoding: 'utf8' });
    expect(log.stdout).toBe('building a\nline2\n');
  });

  it("fails dependents with Nix's messages and stops at the first failure", async () => {
    const r = await realise(store, [drvTarget(drvs.d!)]);
    expect(r.status).toBe(100);
    expect(r.reported).toEqual([
      `builder for '${drvs.a}' failed with exit code 3`,
      `1 dependencies of derivation '${drvs.b}' failed to build`,
    ]);
    expect(r.errors).toEqual([`1 dependencies of derivation '${drvs.d}' failed to build`]);
  });

  it('with several failed top-level goals, names them all', async () => {
    const r = await realise(store, [drvTarget(drvs.d!), drvTarget(drvs.b!)]);
    expect(r.status).toBe(100);
    expect(r.errors).toEqual([`build of ${[drvs.d!, drvs.b!].sort().map((p) => `'${p}'`).join(', ')} failed`]);
  });

  it('keeps going with -k: independent builds still happen', async () => {
    const r = await realise(store, [drvTarget(drvs.d!)], { 'keep-going': 'true' });
    expect(r.status).toBe(100);
    const c = store.queryDerivationOutputs(drvs.c!).get('out')!;
    expect(store.isValidPath(c)).toBe(true);
    expect(r.errors).toEqual([`1 dependencies of derivation '${drvs.d}' failed to build`]);
  });

  it('runs independent builds at the same time with max-jobs 2', async () => {
    const r = await realise(store, [drvTarget(drvs.slow1!), drvTarget(drvs.slow2!)], { 'max-jobs': '2' });
    expect(r.status).toBe(0);
    const times = ['slow1', 'slow2'].map((n) =>
      fs.readFileSync(store.toRealPath(store.queryDerivationOutputs(drvs[n]!).get('out')!), 'utf8').trim().split('\n').map(Number));
    const [[s1, e1], [s2, e2]] = times as [[number, number], [number, number]];
    // Each started before the other ended: the intervals overlap.
    expect(s1).toBeLessThan(e2);
    expect(s2).toBeLessThan(e1);
  });

  it('skips outputs that are already valid', async () => {
    const r = await realise(store, [drvTarget(drvs.c!)]);
    expect(r.status).toBe(0);
    expect(r.messages).toEqual([]);
  });

  it('--check rebuilds and compares; a different output is reported', async () => {
    const ok = await realise(store, [drvTarget(drvs.c!)], {}, { check: true });
    expect(ok.status).toBe(0);
    expect(ok.messages).toEqual([`checking outputs of '${drvs.c}'...`]);
    const diff = await realise(store, [drvTarget(drvs.slow1!)], {}, { check: true });
    const out = store.queryDerivationOutputs(drvs.slow1!).get('out')!;
    expect(diff.status).toBe(104);
    expect(diff.errors).toEqual([`derivation '${drvs.slow1}' may not be deterministic: output '${store.toRealPath(out)}' differs`]);
    expect(store.isValidPath(out)).toBe(true);
  });

  it('--check of a derivation never built ends the whole run before anything is checked, even with keep-going', async () => {
    const never = refInstantiate(root, mkDrvExpr('mk "never-built" "echo > $out" {}'))[0]!;
    await expect(realise(store, [drvTarget(drvs.c!), drvTarget(never)], { 'keep-going': 'true' }, { check: true }))
      .rejects.toThrow(`some outputs of '${never}' are not valid, so checking is not possible`);
  });

  it('--check with keep-failed keeps the differing output beside the valid one, as Nix does', async () => {
    const out = store.queryDerivationOutputs(drvs.slow1!).get('out')!;
    const real = store.toRealPath(out);
    const before = fs.readFileSync(real, 'utf8');
    const diff = await realise(store, [drvTarget(drvs.slow1!)], { 'keep-failed': 'true' }, { check: true });
    expect(diff.status).toBe(104);
    expect(diff.errors).toEqual([`derivation '${drvs.slow1}' may not be deterministic: output '${real}' differs from '${real}.check'`]);
    expect(fs.readFileSync(real, 'utf8')).toBe(before);
    expect(fs.readFileSync(`${real}.check`, 'utf8')).not.toBe(before);
    expect(store.isValidPath(out)).toBe(true);
    for (const m of diff.messages) if (m.startsWith('note: keeping build directory')) fs.rmSync(/'(.*)'/.exec(m)![1]!, { recursive: true });
  });

  it('--check with run-diff-hook keeps the differing output and shows the diff hook both, from /, as Nix does', async () => {
    const out = store.queryDerivationOutputs(drvs.slow1!).get('out')!;
    const real = store.toRealPath(out);
    const dir = tempDir();
    const hook = path.join(dir, 'diff-hook');
    fs.writeFileSync(hook, '#!/bin/sh\necho "$1"; echo "$2"; echo "$3"; echo "${4##*/}"; pwd; [ -e "$2" ] && echo kept\nexit $DIFF_HOOK_STATUS\n', { mode: 0o755 });
    process.env.DIFF_HOOK_STATUS = '0';
    try {
      const r = await realise(store, [drvTarget(drvs.slow1!)], { 'run-diff-hook': 'true', 'diff-hook': hook }, { check: true });
      expect(r.status).toBe(104);
      expect(r.errors).toEqual([`derivation '${drvs.slow1}' may not be deterministic: output '${real}' differs from '${real}.check'`]);
      const said = r.messages.find((m) => m.startsWith(out));
      expect(said).toMatch(new RegExp(`^${out}\n${real}\\.check\n${drvs.slow1}\nnix-build-slow1\\.drv-\\d+\n/\nkept$`));
      // A hook that fails is reported, and the check's own error stays.
      process.env.DIFF_HOOK_STATUS = '3';
      const failed = await realise(store, [drvTarget(drvs.slow1!)], { 'run-diff-hook': 'true', 'diff-hook': hook }, { check: true });
      expect(failed.status).toBe(104);
      expect(failed.messages).toContain(`error: diff hook execution failed: diff-hook program '${hook}' failed with exit code 3`);
      // Without run-diff-hook, the hook is not run and nothing is kept.
      fs.rmSync(`${real}.check`, { recursive: true });
      const off = await realise(store, [drvTarget(drvs.slow1!)], { 'diff-hook': hook }, { check: true });
      expect(off.errors).toEqual([`derivation '${drvs.slow1}' may not be deterministic: output '${real}' differs`]);
      expect(off.messages.some((m) => m.startsWith(out))).toBe(false);
      expect(fs.existsSync(`${real}.check`)).toBe(false);
    } finally {
      delete process.env.DIFF_HOOK_STATUS;
    }
  });

  it('keeps the build directory of a failed build with keep-failed', async () => {
    const r = await realise(store, [drvTarget(drvs.half!)], { 'keep-failed': 'true' });
    const note = r.messages.find((m) => m.startsWith('note: keeping build directory'));
    expect(note).toMatch(/^note: keeping build directory '(.*nix-build-half\.drv-\d+)'$/);
    const dir = /'(.*)'/.exec(note!)![1]!;
    expect(fs.statSync(dir).isDirectory()).toBe(true);
    fs.rmSync(dir, { recursive: true });
    expect(path.basename(dir)).toMatch(/^nix-build-half\.drv-\d+$/);
  });

  it('kills a builder silent for longer than max-silent-time, and one over the timeout', async () => {
    const silent = await realise(store, [drvTarget(drvs.silent!)], { 'max-silent-time': '1' });
    expect(silent.status).toBe(101);
    expect(silent.errors).toEqual([`building of '${drvs.silent}!out' from .drv file timed out after 1 seconds of silence`]);
    const total = await realise(store, [drvTarget(drvs.silent!)], { timeout: '1' });
    expect(total.status).toBe(101);
    expect(total.errors).toEqual([`building of '${drvs.silent}!out' from .drv file timed out after 1 seconds`]);
    expect(store.isValidPath(store.queryDerivationOutputs(drvs.silent!).get('out')!)).toBe(false);
  });

  it('kills a builder that writes more than max-build-log-size, keeping the whole lines within it (exit status 1, as Nix)', async () => {
    for (const name of ['loud', 'loudQuick']) {
      const drv = drvs[name]!;
      const r = await realise(store, [drvTarget(drv)], { 'max-build-log-size': '1000' });
      expect(r.status).toBe(1);
      expect(r.errors).toEqual([`building of '${drv}!out' from .drv file killed after writing more than 1000 bytes of log output`]);
      const shown = r.logs.get(drv)!;
      expect(shown.length).toBeLessThanOrEqual(1000);
      expect(shown.length).toBeGreaterThan(1000 - 41);
      expect(shown).toMatch(/^(start\n)?line-0-x+\n(line-\d+-x+\n)*$/);
      expect(spawnSync('nix-store', ['--store', root, '--read-log', drv], { encoding: 'utf8' }).stdout).toBe(shown);
      expect(store.isValidPath(store.queryDerivationOutputs(drv).get('out')!)).toBe(false);
    }
    // Within the limit, nothing happens.
    const quiet = await realise(store, [drvTarget(drvs.loudQuick!)], { 'max-build-log-size': '100000' });
    expect(quiet.status).toBe(0);
  });

  it('with max-jobs 0 and something to build, fails the whole run as Nix does', async () => {
    await expect(realise(store, [drvTarget(drvs.silent!)], { 'max-jobs': '0' })).rejects.toThrow(
      "unable to start any build; either increase '--max-jobs' or enable remote builds.\nhttps://nixos.org/manual/nix/stable/advanced-topics/distributed-builds.html");
  });

  it('two runs wanting the same output build it once: the second waits for the lock, then finds it valid', async () => {
    const [r1, r2] = await Promise.all([realise(store, [drvTarget(drvs.shared!)]), realise(store, [drvTarget(drvs.shared!)])]);
    expect(r1.status).toBe(0);
    expect(r2.status).toBe(0);
    const building = [...r1.messages, ...r2.messages].filter((m) => m.startsWith('building'));
    expect(building).toEqual([`building '${drvs.shared}'...`]);
    const waiting = [...r1.messages, ...r2.messages].filter((m) => m.startsWith('waiting for lock'));
    expect(waiting.length).toBe(1);
  });
});

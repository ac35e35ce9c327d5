// The post-build-hook setting, as Nix 2.8 runs it (its messages observed
// from nix-build), with OUT_PATHS as documented.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realisePaths } from '../../src/build/realise.js';
import { drvTarget, mkDrvExpr, openChrootStore, realise, refInstantiate, settingsWith, tempDir } from './helpers.js';
import type { LocalStore } from '../../src/store/local/local-store.js';

const GRAPH = mkDrvExpr(`{
  two = mk "hooked" "echo a > $out; echo b > $dev" { outputs = [ "out" "dev" ]; };
  other = mk "hooked-other" "echo c > $out" {};
  third = mk "hooked-third" "echo d > $out" {};
}`);

describe('post-build-hook', () => {
  let root: string;
  let store: LocalStore;
  let dir: string;
  let drvs: Record<string, string>;

  beforeAll(() => {
    root = tempDir();
    dir = tempDir();
    const names = ['two', 'other', 'third'];
    const paths = refInstantiate(root, GRAPH, names);
    drvs = Object.fromEntries(names.map((n, i) => [n, paths[i]!]));
    store = openChrootStore(root);
  });
  afterAll(() => store.close());

  function hook(name: string, body: string): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    return file;
  }

  it('runs after the build with DRV_PATH, OUT_PATHS and NIX_CONFIG, its output shown line by line', async () => {
    const program = hook('report', [
      'echo "drv $DRV_PATH"',
      'echo "outs $OUT_PATHS"',
      'echo "to stderr" >&2',
      // The outputs are valid by now.
      `[ -e "${root}$(echo $OUT_PATHS | cut -d' ' -f1)" ] && echo "first output there"`,
      'echo "$NIX_CONFIG" | grep "^max-silent-time"',
      'printf "no newline"',
    ].join('\n'));
    const r = await realise(store, [drvTarget(drvs.two!)], { 'post-build-hook': program, 'max-silent-time': '100' });
    expect(r.status).toBe(0);
    const outs = store.queryDerivationOutputs(drvs.two!);
    const sorted = [...outs.values()].sort().join(' ');
    const i = r.messages.indexOf(`running post-build-hook '${program}'...`);
    expect(i).toBeGreaterThan(r.messages.indexOf(`building '${drvs.two}'...`));
    expect(r.messages.slice(i + 1)).toEqual([
      `post-build-hook: drv ${drvs.two}`,
      `post-build-hook: outs ${sorted}`,
      'post-build-hook: to stderr',
      'post-build-hook: first output there',
      'post-build-hook: max-silent-time = 100',
      'post-build-hook: no newline',
    ]);
  });

  it('shows only that it runs with -Q; a hook that cannot start fails with Nix\'s messages', async () => {
    const quiet = await realise(store, [drvTarget(drvs.other!)], { 'post-build-hook': hook('quiet', 'echo hidden') }, { noBuildOutput: true });
    expect(quiet.status).toBe(0);
    expect(quiet.messages.filter((m) => m.includes('post-build-hook'))).toEqual([`running post-build-hook '${dir}/quiet'...`]);

    // Checking runs it too; a missing program is reported as Nix's child reports it.
    const missing = path.join(dir, 'missing');
    const messages: string[] = [];
    const run = realisePaths(store, [drvTarget(drvs.other!)], {
      settings: settingsWith({ 'post-build-hook': missing }),
      events: { message: (l) => messages.push(l), error: () => {} },
      check: true,
    });
    await expect(run).rejects.toThrow(`program '${missing}' failed with exit code 1`);
    expect(messages.slice(-2)).toEqual([`running post-build-hook '${missing}'...`, `post-build-hook: error: executing '${missing}': No such file or directory`]);
  });

  it('ends the whole run when it fails; the outputs of its build stay valid', async () => {
    const program = hook('fail', 'echo failing; exit 3');
    await expect(realise(store, [drvTarget(drvs.third!)], { 'post-build-hook': program })).rejects.toThrow(`program '${program}' failed with exit code 3`);
    expect(store.isValidPath(store.queryDerivationOutputs(drvs.third!).get('out')!)).toBe(true);
  });
});

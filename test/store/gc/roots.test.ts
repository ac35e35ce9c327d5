// Roots: `--print-roots` output identical to Nix's for every kind of root,
// runtime roots from /proc, and the scanning rules on a bare directory tree.

import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalStore } from '../../../src/store/local/local-store.js';
import { resolveStoreConfig } from '../../../src/store/local/store-config.js';
import { findAllRoots } from '../../../src/store/gc/collect.js';
import { findRootsInTree, formatRoots, type Roots } from '../../../src/store/gc/roots.js';
import { findRuntimeRoots } from '../../../src/store/gc/runtime-roots.js';
import { haveNix, populateStandardStore, RefStore, removeTree, run, tempDir, type StandardStore } from './fixtures.js';

function openStore(root: string): LocalStore {
  const cfg = resolveStoreConfig({ uri: root, env: {} });
  if (cfg.kind !== 'local') throw new Error('expected a local store');
  return LocalStore.open(cfg);
}

describe('root scanning rules', () => {
  const work = tempDir();
  afterAll(() => removeTree(work));
  const storeDir = '/nix/store';
  const valid = new Set([`${storeDir}/${'a'.repeat(32)}-one`, `${storeDir}/${'b'.repeat(32)}-two`, `${storeDir}/${'c'.repeat(32)}-three`]);
  const [one, two, three] = [...valid] as [string, string, string];

  it('follows Nix: direct links, links into a path, indirect links, regular files, stale auto links', () => {
    const state = path.join(work, 'state');
    const gcroots = path.join(state, 'gcroots');
    fs.mkdirSync(path.join(gcroots, 'auto'), { recursive: true });
    fs.mkdirSync(path.join(gcroots, 'deep', 'er'), { recursive: true });
    fs.symlinkSync(one, path.join(gcroots, 'direct'));
    fs.symlinkSync(`${two}/bin/prog`, path.join(gcroots, 'deep', 'er', 'inside'));
    fs.symlinkSync(`${storeDir}/${'d'.repeat(32)}-invalid`, path.join(gcroots, 'invalid'));
    const result = path.join(work, 'result');
    fs.symlinkSync(three, result);
    fs.symlinkSync(result, path.join(gcroots, 'auto', 'r1'));
    fs.symlinkSync(path.join(work, 'gone'), path.join(gcroots, 'auto', 'stale'));
    fs.symlinkSync(path.join(work, 'gone'), path.join(gcroots, 'stale-elsewhere'));
    // A relative link into the store is not a root, as in Nix.
    fs.symlinkSync(`../../..${storeDir}/${'a'.repeat(32)}-one`, path.join(gcroots, 'relative'));
    fs.writeFileSync(path.join(gcroots, path.basename(two)), '');
    const messages: string[] = [];
    const roots: Roots = new Map();
    findRootsInTree(gcroots, { storeDir, stateDir: state, isValidPath: (p) => valid.has(p), log: (m) => messages.push(m) }, roots);
    expect(formatRoots(roots)).toBe([
      `${path.join(gcroots, path.basename(two))} -> ${two}`,
      `${path.join(gcroots, 'deep', 'er', 'inside')} -> ${two}`,
      `${path.join(gcroots, 'direct')} -> ${one}`,
      `${result} -> ${three}`,
    ].sort().map((l) => `${l}\n`).join(''));
    expect(fs.readdirSync(path.join(gcroots, 'auto'))).toEqual(['r1']);
    expect(fs.lstatSync(path.join(gcroots, 'stale-elsewhere')).isSymbolicLink()).toBe(true);
    expect(messages).toContain(`skipping invalid root from '${path.join(gcroots, 'invalid')}' to '${storeDir}/${'d'.repeat(32)}-invalid'`);
    expect(messages).toContain(`removing stale link from '${path.join(gcroots, 'auto', 'stale')}' to '${path.join(work, 'gone')}'`);
  });
});

describe.runIf(haveNix)('--print-roots and runtime roots', () => {
  let work: string;
  let s: RefStore;
  let st: StandardStore;
  const children: ChildProcess[] = [];

  beforeAll(() => {
    work = tempDir();
    s = new RefStore(path.join(work, 'store'));
    st = populateStandardStore(s);
  });
  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
    s?.close();
    if (work) removeTree(work);
  });

  it('prints the same roots as nix-store --gc --print-roots', () => {
    s.gcroot('direct', st.t.get('c')!);
    s.gcroot('per-user/me/inner', `${st.fam.outputs.get('lib')!}/refs`);
    s.indirectRoot(path.join(work, 'result'), st.fam.outputs.get('dev')!);
    s.indirectRoot(path.join(work, 'dangling'), undefined);
    s.profile('prof', [st.loose[0]!, st.loose[1]!, st.partial.drv], 2);
    fs.writeFileSync(path.join(s.stateDir, 'gcroots', path.basename(st.loose[3]!)), '');
    const holder = s.liveTempRoots([st.solo.drv, st.loose[2]!]);
    s.staleTempRoots([st.t.get('src')!]);
    const store = openStore(s.root);
    let ours: string;
    try {
      ours = formatRoots(findAllRoots(store, { censor: false }));
    } finally {
      store.close();
    }
    const theirs = run('nix-store', ['--store', s.root, '--gc', '--print-roots']);
    expect(ours).toBe(theirs);
    expect(ours).toContain(`{temp:${holder.pid}} -> ${st.solo.drv}\n`);
    expect(ours).toContain(`${path.join(s.stateDir, 'profiles', 'prof-3-link')} -> ${st.partial.drv}\n`);
  });

  it('finds store paths held by running processes: environment (like Nix), and files under a chroot store\'s real directory', async () => {
    const envPath = st.loose[0]!;
    const cwdPath = st.fam.outputs.get('out')!;
    const child = spawn('sleep', ['600'], {
      cwd: s.real(cwdPath),
      env: { ...process.env, SOME_PATH: `${envPath}/bin:/usr/bin` },
      stdio: 'ignore',
    });
    children.push(child);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const store = openStore(s.root);
    let roots: Roots;
    try {
      roots = findRuntimeRoots({ storeDir: store.storeDir, realStoreDir: store.realStoreDir, isValidPath: (p) => store.isValidPath(p) });
    } finally {
      store.close();
    }
    expect(roots.get(envPath)).toContain(`/proc/${child.pid}/environ`);
    expect(roots.get(cwdPath)).toContain(`/proc/${child.pid}/cwd`);
    const theirs = run('nix-store', ['--store', s.root, '--gc', '--print-roots']);
    expect(theirs).toContain(`/proc/${child.pid}/environ -> ${envPath}\n`);
    child.kill('SIGKILL');
  });
});

// nix-collect-garbage (-d, --delete-older-than, --dry-run, --max-freed),
// run in-process and compared with the reference on copies of one store.

import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { main } from '../../../src/commands/collect-garbage.js';
import { runNixCommand } from '../../../src/cli/run-command.js';
import { runCaptured } from '../../command-output.js';
import { haveNix, populateStandardStore, RefStore, templateStore, validPaths, type StandardStore } from './fixtures.js';

const ours = (args: string[]) => runCaptured(main, 'nix-collect-garbage', args);

function theirs(s: RefStore, args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync('nix-collect-garbage', ['--store', s.root, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NIX_REMOTE: '', NIX_CONF_DIR: '/etc/nix', NIX_CONFIG: '', NIX_STATE_DIR: s.stateDir },
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The profile-related lines, with the copy's directory replaced so two copies compare. */
function profileLines(text: string, s: RefStore): string[] {
  return text.split('\n').filter((l) => /profile/.test(l)).map((l) => l.split(s.root).join('<root>'));
}

function profileLinks(s: RefStore): string[] {
  const dir = path.join(s.stateDir, 'profiles');
  const out: string[] = [];
  const walk = (d: string, rel: string): void => {
    for (const ent of fs.readdirSync(d, { withFileTypes: true })) {
      if (ent.isDirectory()) walk(path.join(d, ent.name), `${rel}${ent.name}/`);
      else out.push(`${rel}${ent.name}`);
    }
  };
  walk(dir, '');
  return out.sort();
}

describe.runIf(haveNix)('nix-collect-garbage', () => {
  let st: StandardStore;
  const fresh = templateStore((template) => {
    st = populateStandardStore(template);
    template.profile('prof', [st.loose[0]!, st.loose[1]!, st.loose[2]!, st.loose[3]!], 3);
    fs.mkdirSync(path.join(template.stateDir, 'profiles', 'per-user', 'u'), { recursive: true });
    const inner = path.join(template.stateDir, 'profiles', 'per-user', 'u');
    fs.symlinkSync(st.solo.outputs.get('out')!, path.join(inner, 'p-1-link'));
    fs.symlinkSync(st.fam.outputs.get('dev')!, path.join(inner, 'p-2-link'));
    fs.symlinkSync('p-2-link', path.join(inner, 'p'));
    // Generations 1 and 2 are 40 days old, 3 and 4 are recent.
    const old = new Date(Date.now() - 40 * 86400_000);
    for (const g of [1, 2]) fs.lutimesSync(path.join(template.stateDir, 'profiles', `prof-${g}-link`), old, old);
    fs.lutimesSync(path.join(inner, 'p-1-link'), old, old);
  });

  it('-d removes all old generations and collects, like the reference', async () => {
    const a = fresh();
    const b = fresh();
    const r1 = await ours(['--store', a.root, '-d']);
    const r2 = theirs(b, ['-d']);
    expect(r2.status).toBe(0);
    expect(r1.status).toBe(0);
    expect(r1.stdout).toBe(r2.stdout);
    expect(profileLines(r1.stderr, a)).toEqual(profileLines(r2.stderr, b));
    expect(profileLinks(a)).toEqual(profileLinks(b));
    expect(profileLinks(a)).toEqual(['per-user/u/p', 'per-user/u/p-2-link', 'prof', 'prof-3-link']);
    expect(validPaths(a)).toEqual(validPaths(b));
  });

  it('--delete-older-than keeps the generation active at the cut-off, like the reference', async () => {
    const a = fresh();
    const b = fresh();
    const r1 = await ours(['--store', a.root, '--delete-older-than', '30d']);
    const r2 = theirs(b, ['--delete-older-than', '30d']);
    expect(r1.stdout).toBe(r2.stdout);
    expect(profileLines(r1.stderr, a)).toEqual(profileLines(r2.stderr, b));
    expect(profileLinks(a)).toEqual(profileLinks(b));
    expect(profileLinks(a)).toContain('prof-2-link');
    expect(profileLinks(a)).not.toContain('prof-1-link');
  });

  it('--dry-run only says what it would remove, and collects nothing', async () => {
    const a = fresh();
    const before = validPaths(a);
    const r1 = await ours(['--store', a.root, '-d', '--dry-run']);
    const r2 = theirs(fresh(), ['-d', '--dry-run']);
    expect(r1.stdout).toBe('');
    expect(r1.stdout).toBe(r2.stdout);
    expect(r1.stderr).toContain('would remove profile version 1');
    expect(profileLines(r1.stderr, a).length).toBe(profileLines(r2.stderr, a).length);
    expect(validPaths(a)).toEqual(before);
    expect(profileLinks(a)).toContain('prof-1-link');
  });

  it('--max-freed with a unit, and Nix\'s errors for bad arguments', async () => {
    const a = fresh();
    expect((await ours(['--store', a.root, '--max-freed', '0'])).stdout).toBe('0 store paths deleted, 0.00 MiB freed\n');
    const r = await ours(['--store', a.root, '--max-freed', '1K']);
    expect(Number(/^(\d+) store paths deleted, \d+\.\d\d MiB freed\n$/.exec(r.stdout)![1])).toBeGreaterThan(0);
    const status = await runNixCommand('nix-collect-garbage', ['--store', a.root, '--delete-older-than', '30x'], main);
    expect(status).toBe(1);
    const r3 = theirs(a, ['--delete-older-than', '30x']);
    expect(r3.stderr).toContain("invalid number of days specifier '30x', expected something like '14d'");
  });
});

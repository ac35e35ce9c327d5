// nix-store --gc / --delete / --optimise through the nix-store command, with
// the same stdout and the same stderr lines as the reference.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../../src/commands/store.js';
import { runNixCommand } from '../../../src/cli/run-command.js';
import { Capture, runCaptured } from '../../command-output.js';
import { haveNix, populateStandardStore, runStatus, templateStore, type StandardStore } from './fixtures.js';

const ours = (args: string[]) => runCaptured(main, 'nix-store', args);

const sortedLines = (text: string): string[] => text.split('\n').filter((l) => l !== '').sort();

describe.runIf(haveNix)('nix-store --gc, --delete and --optimise commands', () => {
  let st: StandardStore;
  const fresh = templateStore((template) => {
    st = populateStandardStore(template);
    template.gcroot('c', st.t.get('c')!);
  });

  it('--gc prints the summary on stdout and Nix\'s messages on stderr', async () => {
    const a = fresh();
    const b = fresh();
    const r1 = await ours(['--store', a.root, '--gc']);
    const r2 = runStatus('nix-store', ['--store', b.root, '--gc']);
    expect(r1.status).toBe(0);
    expect(r1.stdout).toBe(r2.stdout);
    // The same lines; the order of the "deleting" lines follows each tool's deletion order.
    const strip = (t: string) => sortedLines(t).filter((l) => !l.startsWith('note: currently hard linking saves'));
    expect(strip(r1.stderr)).toEqual(strip(r2.stderr));
  });

  it('--gc --print-dead, --print-live, --print-roots and --max-freed with a suffix', async () => {
    const a = fresh();
    for (const flag of ['--print-dead', '--print-live', '--print-roots']) {
      const r1 = await ours(['--store', a.root, '--gc', flag]);
      const r2 = runStatus('nix-store', ['--store', a.root, '--gc', flag]);
      expect(r1.stdout).toBe(r2.stdout);
      expect(r1.stderr).toBe(r2.stderr);
    }
    const r = await ours(['--store', a.root, '--gc', '--max-freed', '100K']);
    expect(r.stdout).toMatch(/^[1-9]\d* store paths deleted, 0\.\d\d MiB freed\n$/);
    const bad = await runNixCommand('nix-store', ['--store', a.root, '--gc', '--frobnicate'], main);
    expect(bad).toBe(1);
  });

  it('--print-dead lists entries that are no store path, as Nix does, and deletes nothing', async () => {
    const a = fresh();
    fs.mkdirSync(path.join(a.realStoreDir, 'junkdir'));
    fs.writeFileSync(path.join(a.realStoreDir, 'notapath'), 'x');
    const before = fs.readdirSync(a.realStoreDir).sort();
    const r1 = await ours(['--store', a.root, '--gc', '--print-dead']);
    expect(fs.readdirSync(a.realStoreDir).sort()).toEqual(before);
    expect(r1.stdout.split('\n')).toEqual(expect.arrayContaining(['/nix/store/junkdir', '/nix/store/notapath']));
    // Nix 2.8 lists the same (and deletes those two while it is at it).
    const r2 = runStatus('nix-store', ['--store', a.root, '--gc', '--print-dead']);
    expect(r1.stdout).toBe(r2.stdout);
  });

  it('--delete of a live path fails like Nix, after printing the summary', async () => {
    const a = fresh();
    const live = st.t.get('b')!;
    const stdout = new Capture();
    const stderr = new Capture();
    const status = await runNixCommand('nix-store', ['--store', a.root, '--delete', live], (argv, ctx) =>
      main(argv, { ...ctx, stdout, stderr }));
    const r2 = runStatus('nix-store', ['--store', a.root, '--delete', live]);
    expect(status).toBe(r2.status);
    expect(stdout.text).toBe(r2.stdout);
  });

  it('--optimise prints Nix\'s summary', async () => {
    const a = fresh();
    const b = fresh();
    const r1 = await ours(['--store', a.root, '--optimise']);
    const r2 = runStatus('nix-store', ['--store', b.root, '--optimise']);
    expect(r1.stderr).toBe(r2.stderr);
    expect(fs.readdirSync(path.join(a.realStoreDir, '.links')).sort()).toEqual(fs.readdirSync(path.join(b.realStoreDir, '.links')).sort());
  });
});

// A writer killed at any moment never leaves a valid path with incomplete
// contents, and the next writer recovers; two writers adding the same
// paths at once both succeed with one consistent result.

import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { buildFixture, fixtureEnv } from './child.js';
import { makeSourceTree, openChrootStore, refNixStore, tempDir } from './helpers.js';

function startWriter(args: string[]): { child: ChildProcess; lines: string[]; ready: Promise<void>; done: Promise<number | null> } {
  const child = spawn(process.execPath, [buildFixture('store-writer'), ...args], { env: fixtureEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let stderr = '';
  let buf = '';
  let onReady: () => void;
  const ready = new Promise<void>((r) => (onReady = r));
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    for (const l of parts) {
      if (l === 'ready') onReady();
      else lines.push(l);
    }
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<number | null>((resolve) => child.on('exit', (code) => {
    if (code !== 0 && code !== null) console.error(stderr);
    resolve(code);
  }));
  return { child, lines, ready, done };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function makeBigTree(dir: string): string {
  makeSourceTree(dir);
  for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(dir, `f${i}`), Buffer.alloc(20000, i));
  return dir;
}

describe('crash safety', () => {
  it('SIGKILL at random moments leaves only complete valid paths, and the store recovers', async () => {
    const root = tempDir();
    const tree = makeBigTree(path.join(tempDir(), 'tree'));
    let interruptedMidway = 0;
    for (let round = 0; round < 6; round++) {
      const total = round % 2 === 0 ? 200 : 50;
      // Each round adds paths the earlier rounds did not, so every writer
      // has real work when the kill comes.
      fs.writeFileSync(path.join(tree, 'round'), String(round));
      const w = startWriter(round % 2 === 0 ? [root, 'texts', String(total), ` round ${round}`] : [root, 'trees', tree, String(total)]);
      await w.ready;
      await sleep(5 + Math.floor(Math.random() * 60));
      w.child.kill('SIGKILL');
      // Killed, or (on a fast machine) done with everything before the kill.
      const code = await w.done;
      if (code !== null) expect([code, w.lines.length]).toEqual([0, total]);
      if (w.lines.length < total) interruptedMidway++;
    }
    // The kills really landed while the writers were busy.
    expect(interruptedMidway).toBeGreaterThan(3);
    // The reference finds every valid path intact.
    const verify = refNixStore(root, ['--verify', '--check-contents']);
    expect(verify.stderr).not.toMatch(/modified|disappeared|error/);
    expect(verify.status).toBe(0);
    // Our own check agrees, and adding everything again completes.
    const store = openChrootStore(root);
    expect(store.verifyStore(true, false, () => {}).errors).toBe(false);
    store.close();
    const again = startWriter([root, 'texts', '200']);
    expect(await again.done).toBe(0);
    expect(again.lines).toHaveLength(200);
    expect(refNixStore(root, ['--verify', '--check-contents']).status).toBe(0);
  });

  it('two processes adding the same paths at once agree and leave one consistent copy', async () => {
    const root = tempDir();
    const tree = makeBigTree(path.join(tempDir(), 'tree'));
    // Create the store first so both writers open an existing database.
    openChrootStore(root).close();
    const a = startWriter([root, 'same', tree]);
    const b = startWriter([root, 'same', tree]);
    expect(await a.done).toBe(0);
    expect(await b.done).toBe(0);
    expect(new Set([...a.lines, ...b.lines]).size).toBe(1);
    const store = openChrootStore(root);
    expect(store.queryAllValidPaths()).toHaveLength(2);
    store.close();
    expect(fs.readdirSync(path.join(root, 'nix/store')).filter((n) => n.startsWith('.tmp') || n.endsWith('.lock'))).toEqual([]);
    expect(refNixStore(root, ['--verify', '--check-contents']).status).toBe(0);
  });
});

describe('temporary roots', () => {
  it("the reference's garbage collector keeps what a live tsnix process added, and not after it exits", async () => {
    const root = tempDir();
    openChrootStore(root).close();
    const child = spawn(process.execPath, [buildFixture('store-writer'), root, 'hold', 'precious'], {
      env: fixtureEnv(), stdio: ['pipe', 'pipe', 'inherit'],
    });
    const lines: string[] = [];
    await new Promise<void>((resolve) => child.stdout!.on('data', (d: Buffer) => {
      lines.push(...d.toString().split('\n').filter((l) => l !== ''));
      if (lines.length >= 2) resolve();
    }));
    const held = lines[1]!;
    expect(refNixStore(root, ['--gc']).status).toBe(0);
    expect(refNixStore(root, ['--check-validity', held]).status).toBe(0);
    child.stdin!.end();
    await new Promise((r) => child.on('exit', r));
    expect(refNixStore(root, ['--gc']).status).toBe(0);
    expect(refNixStore(root, ['--check-validity', held]).status).toBe(1);
  });
});

describe('tsnix and the reference writing one store at once', () => {
  it('adding the same trees concurrently leaves one valid, intact copy', async () => {
    const root = tempDir();
    const tree = makeBigTree(path.join(tempDir(), 'tree'));
    openChrootStore(root).close();
    const refAdds = Array.from({ length: 4 }, () => new Promise<string>((resolve) => {
      const child = spawn('nix-store', ['--store', root, '--add', tree], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('exit', (code) => resolve(`${code}:${out.trim()}`));
    }));
    const ourWriters = [startWriter([root, 'plain', tree, '3']), startWriter([root, 'plain', tree, '3'])];
    const refResults = await Promise.all(refAdds);
    for (const w of ourWriters) expect(await w.done).toBe(0);
    const paths = new Set([...refResults.map((r) => r.replace(/^0:/, '')), ...ourWriters.flatMap((w) => w.lines)]);
    expect(paths.size).toBe(1);
    expect([...paths][0]).toMatch(/^\/nix\/store\/[0-9a-z]{32}-tree$/);
    expect(refNixStore(root, ['--verify', '--check-contents']).status).toBe(0);
    const store = openChrootStore(root);
    expect(store.verifyStore(true, false, () => {}).errors).toBe(false);
    store.close();
  });
});

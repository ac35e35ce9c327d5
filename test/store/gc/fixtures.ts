// Test stores for the garbage collector, populated with the reference Nix
// where it is installed (nix-store --add, nix-instantiate for derivations
// and text paths with references, --load-db for outputs with derivers) and
// with every kind of root: direct gcroots, indirect roots (registered and
// dangling), profiles with generations, temporary roots of live and dead
// processes.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import Database from 'better-sqlite3';
import { afterAll, beforeAll } from 'vitest';

export const haveNix = spawnSync('nix-store', ['--version']).status === 0;

const NIX_ENV = { ...process.env, NIX_REMOTE: '', NIX_CONF_DIR: '/etc/nix', NIX_CONFIG: '' };

export function tempDir(prefix = 'tsnix-gc-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function run(cmd: string, args: string[], input?: string): string {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', env: NIX_ENV, maxBuffer: 1 << 28 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

export function runStatus(cmd: string, args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: NIX_ENV, maxBuffer: 1 << 28 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Recursively removes a tree, making read-only store directories writable first. */
export function removeTree(dir: string): void {
  spawnSync('chmod', ['-R', 'u+w', dir]);
  fs.rmSync(dir, { recursive: true, force: true });
}

export class RefStore {
  readonly storeDir = '/nix/store';
  readonly realStoreDir: string;
  readonly stateDir: string;
  private holders: ChildProcess[] = [];
  private counter = 0;

  constructor(readonly root: string) {
    this.realStoreDir = path.join(root, 'nix', 'store');
    this.stateDir = path.join(root, 'nix', 'var', 'nix');
  }

  nixStore(...args: string[]): string {
    return run('nix-store', ['--store', this.root, ...args]);
  }

  real(storePath: string): string {
    return this.realStoreDir + storePath.slice(this.storeDir.length);
  }

  /** A flat file added with the reference nix-store --add. */
  add(name: string, contents: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnix-gc-src-'));
    const file = path.join(dir, name);
    fs.writeFileSync(file, contents);
    try {
      return this.nixStore('--add', file).trim();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  /** `builtins.toFile` paths: name → text (texts may interpolate earlier paths as ${name}). */
  textFiles(files: [string, string][]): Map<string, string> {
    const bindings = files.map(([name, text]) => `${JSON.stringify(name)} = builtins.toFile ${JSON.stringify(name)} ${nixString(text)};`).join('\n');
    const expr = `let s = rec { ${bindings} }; in builtins.attrValues (builtins.mapAttrs (n: v: n + "=" + v) s)`;
    const out = JSON.parse(run('nix-instantiate', ['--store', this.root, '--eval', '--strict', '--read-write-mode', '--json', '-E', expr])) as string[];
    return new Map(out.map((line) => line.split('=') as [string, string]));
  }

  /** Instantiates a derivation; returns its .drv path and output name → path. */
  derivation(name: string, outputs: string[], inputs: string[] = []): { drv: string; outputs: Map<string, string> } {
    const srcs = inputs.map((p) => `(builtins.storePath ${JSON.stringify(p)})`).join(' ');
    const expr = `derivation { name = ${JSON.stringify(name)}; system = "x86_64-linux"; builder = "/bin/sh"; ` +
      `outputs = [ ${outputs.map((o) => JSON.stringify(o)).join(' ')} ]; inputs = [ ${srcs} ]; }`;
    const drv = run('nix-instantiate', ['--store', this.root, '-E', expr]).trim().split('\n').pop()!;
    const map = new Map<string, string>();
    const outPaths = this.nixStore('-q', '--outputs', drv).trim().split('\n');
    for (const o of outputs) {
      const p = outPaths.find((x) => x.endsWith(o === 'out' ? `-${name}` : `-${name}-${o}`))!;
      map.set(o, p);
    }
    return { drv, outputs: map };
  }

  /**
   * Registers an output as built: a directory with one file mentioning its
   * references (so reference scanning would agree), canonical metadata,
   * loaded into the database with its deriver.
   */
  registerOutput(storePath: string, deriver: string, references: string[], extraFiles: Record<string, string> = {}): void {
    const real = this.real(storePath);
    fs.mkdirSync(real, { recursive: true });
    fs.writeFileSync(path.join(real, 'refs'), references.join('\n') + '\n');
    for (const [n, c] of Object.entries(extraFiles)) fs.writeFileSync(path.join(real, n), c);
    spawnSync('chmod', ['-R', 'a-w', real]);
    spawnSync('touch', ['-h', '-d', '@1', ...fs.readdirSync(real).map((n) => path.join(real, n)), real]);
    const hash = run('nix-hash', ['--type', 'sha256', real]).trim();
    const size = run('sh', ['-c', `nix-store --dump '${real}' | wc -c`]).trim();
    run('nix-store', ['--store', this.root, '--load-db'],
      `${storePath}\nsha256:${hash}\n${size}\n${deriver}\n${references.length}\n${references.map((r) => `${r}\n`).join('')}`);
  }

  gcroot(name: string, target: string): string {
    const link = path.join(this.stateDir, 'gcroots', name);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(target, link);
    return link;
  }

  /** A `result`-style link outside the state directory, registered under gcroots/auto. */
  indirectRoot(resultLink: string, target: string | undefined): string {
    fs.mkdirSync(path.dirname(resultLink), { recursive: true });
    if (target !== undefined) fs.symlinkSync(target, resultLink);
    return this.gcroot(`auto/${'x'.repeat(20)}${this.counter++}`, resultLink);
  }

  /** A profile with generations 1..n (each pointing at a path); `current` is the generation the profile points to. */
  profile(name: string, generations: string[], current: number): string {
    const dir = path.join(this.stateDir, 'profiles');
    fs.mkdirSync(dir, { recursive: true });
    generations.forEach((target, k) => fs.symlinkSync(target, path.join(dir, `${name}-${k + 1}-link`)));
    fs.symlinkSync(`${name}-${current}-link`, path.join(dir, name));
    return path.join(dir, name);
  }

  /** A temporary roots file held (write-locked) by a live process. */
  liveTempRoots(paths: string[]): ChildProcess {
    const dir = path.join(this.stateDir, 'temproots');
    fs.mkdirSync(dir, { recursive: true });
    const holder = spawn('sleep', ['600'], { stdio: 'ignore' });
    const file = path.join(dir, String(holder.pid));
    fs.writeFileSync(file, paths.map((p) => `${p}\0`).join(''));
    // A second process holds the lock on the file for as long as the sleeper lives.
    const locker = spawn('flock', ['-x', file, 'sh', '-c', `while kill -0 ${holder.pid} 2>/dev/null; do sleep 0.2; done`], { stdio: 'ignore' });
    this.holders.push(holder, locker);
    // Wait until the lock is really held.
    for (let k = 0; k < 100; k++) {
      if (spawnSync('flock', ['-n', '-s', file, 'true']).status !== 0) break;
      spawnSync('sleep', ['0.05']);
    }
    return holder;
  }

  /** A temporary roots file nobody holds (its process died). */
  staleTempRoots(paths: string[]): string {
    const dir = path.join(this.stateDir, 'temproots');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, '999999');
    fs.writeFileSync(file, paths.map((p) => `${p}\0`).join(''));
    return file;
  }

  close(): void {
    for (const h of this.holders) h.kill('SIGKILL');
    this.holders = [];
  }
}

function nixString(text: string): string {
  // Interpolations `${name}` refer to attributes of the enclosing rec set.
  return '"' + text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\$\{(\w+)\}/g, (_, n) => `\${s.${n}}`).replace(/\$(?!\{s\.)/g, '\\$') + '"';
}

/** Nix's --print-dead / --print-live for this store (sorted lines). */
export function refPrint(store: RefStore, what: '--print-dead' | '--print-live', options: string[] = []): string[] {
  const out = run('nix-store', ['--store', store.root, ...options, '--gc', what]);
  return out.split('\n').filter((l) => l !== '').sort();
}

export interface StandardStore {
  /** Text paths: c → b → a, and src. */
  t: Map<string, string>;
  /** Three outputs referring to each other: dev → out → lib → a; inputs: src. */
  fam: { drv: string; outputs: Map<string, string> };
  /** One output referring to c. */
  solo: { drv: string; outputs: Map<string, string> };
  /** Two outputs, only `doc` built. */
  partial: { drv: string; outputs: Map<string, string> };
  /** Four unrelated flat files. */
  loose: string[];
}

/** The store most GC tests use; everything added with the reference tools. */
export function populateStandardStore(s: RefStore): StandardStore {
  const t = s.textFiles([['a', 'A'], ['b', 'refers to ${a}'], ['c', 'refers to ${b}'], ['src', 'source']]);
  const fam = s.derivation('fam', ['out', 'lib', 'dev'], [t.get('src')!]);
  s.registerOutput(fam.outputs.get('lib')!, fam.drv, [t.get('a')!], { big: 'L'.repeat(300_000) });
  s.registerOutput(fam.outputs.get('out')!, fam.drv, [fam.outputs.get('lib')!], { big: 'O'.repeat(200_000) });
  s.registerOutput(fam.outputs.get('dev')!, fam.drv, [fam.outputs.get('out')!]);
  const solo = s.derivation('solo', ['out'], [t.get('c')!]);
  s.registerOutput(solo.outputs.get('out')!, solo.drv, [t.get('c')!], { big: 'S'.repeat(100_000) });
  const partial = s.derivation('partial', ['out', 'doc']);
  s.registerOutput(partial.outputs.get('doc')!, partial.drv, []);
  const loose = ['x', 'y', 'z', 'w'].map((n) => s.add(n, `loose ${n}\n`));
  return { t, fam, solo, partial, loose };
}

/** A copy of a whole chroot store (files, database, roots). */
export function copyStore(from: RefStore, to: string): RefStore {
  const r = spawnSync('cp', ['-a', from.root, to]);
  if (r.status !== 0) throw new Error(`cp failed: ${r.stderr}`);
  return new RefStore(to);
}

/**
 * For a describe block: a template store, set up once by `setup` (given the
 * block's work directory too) and removed with that directory afterwards.
 * Returns a function making a fresh copy of it, so that each test starts
 * from the same store.
 */
export function templateStore(setup: (template: RefStore, work: string) => void): () => RefStore {
  let work = '';
  let template: RefStore;
  let copies = 0;
  beforeAll(() => {
    work = tempDir();
    template = new RefStore(path.join(work, 'template'));
    setup(template, work);
  });
  afterAll(() => {
    if (work) removeTree(work);
  });
  return () => copyStore(template, path.join(work, `copy${copies++}`));
}

/** Sorted entries of the real store directory, without .links. */
export function storeEntries(s: RefStore): string[] {
  return fs.readdirSync(s.realStoreDir).filter((n) => n !== '.links').sort();
}

/** All valid paths, straight from the database. */
export function validPaths(s: RefStore): string[] {
  const db = new Database(path.join(s.stateDir, 'db', 'db.sqlite'), { readonly: true });
  try {
    return (db.prepare('select path from ValidPaths').pluck().all() as string[]).sort();
  } finally {
    db.close();
  }
}

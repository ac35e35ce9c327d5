// Pseudo-terminals for builders started in-process (DirectSpawner: the single
// executable, or a tsnix whose spawn helper did not start), from the Perl
// process of perl-server.ts started on first use. The spawn helper talks to
// its own Perl process the same way, from its program's source.

import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { PERL_SERVER, PTY_IOCTLS } from './perl-server.js';

interface Refable {
  ref?: () => void;
  unref?: () => void;
}

export class PtyKeeper {
  /** null once it is known there is none (no Perl, or no ioctl numbers here). */
  private child: ChildProcess | null | undefined;
  private buffered = '';
  private readonly waiting = new Map<number, (res: string, arg?: string) => void>();
  private nextId = 1;

  private server(): ChildProcess | null {
    if (this.child !== undefined) return this.child;
    if (!PTY_IOCTLS) return (this.child = null);
    try {
      const child = spawn('perl', ['-e', PERL_SERVER], {
        stdio: ['pipe', 'pipe', 'inherit'],
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TSNIX_PTY_IOCTLS: PTY_IOCTLS },
      });
      child.on('error', () => this.gone());
      child.on('exit', () => this.gone());
      child.stdin!.on('error', () => {});
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (d: string) => this.read(d));
      this.child = child;
      this.setRef(false);
      return child;
    } catch {
      return (this.child = null);
    }
  }

  /** The process and its pipes keep tsnix running only while an answer is awaited. */
  private setRef(on: boolean): void {
    const c = this.child;
    if (!c) return;
    for (const h of [c, c.stdin as Writable & Refable, c.stdout as Readable & Refable] as Refable[]) (on ? h.ref : h.unref)?.call(h);
  }

  private read(d: string): void {
    this.buffered += d;
    for (let i; (i = this.buffered.indexOf('\n')) >= 0; ) {
      const [id, res, arg] = this.buffered.slice(0, i).split('\t');
      this.buffered = this.buffered.slice(i + 1);
      const f = this.waiting.get(Number(id));
      if (f === undefined) continue;
      this.waiting.delete(Number(id));
      if (this.waiting.size === 0) this.setRef(false);
      f(res!, arg);
    }
  }

  private gone(): void {
    this.child = null;
    const all = [...this.waiting.values()];
    this.waiting.clear();
    for (const f of all) f('gone');
  }

  private ask(fields: (string | number)[]): Promise<[string, string | undefined]> {
    const c = this.child;
    if (!c) return Promise.resolve(['gone', undefined]);
    return new Promise((resolve) => {
      if (this.waiting.size === 0) this.setRef(true);
      this.waiting.set(Number(fields[1]), (res, arg) => resolve([res, arg]));
      c.stdin!.write(fields.join('\t') + '\n');
    });
  }

  private say(fields: (string | number)[]): void {
    this.child?.stdin!.write(fields.join('\t') + '\n');
  }

  /** A raw terminal whose output goes to the end of `logFile`, or undefined where none can be had. */
  async open(logFile: string): Promise<{ id: number; slave: string } | undefined> {
    if (!this.server()) return undefined;
    const id = this.nextId++;
    const [res, slave] = await this.ask(['P', id, logFile]);
    return res === 'pty' && slave !== undefined ? { id, slave } : undefined;
  }

  /** The builder holds the slave now. */
  opened(id: number): void {
    this.say(['O', id]);
  }

  /** The builder has exited (or never started): resolves once its output is in the log. */
  async exited(id: number): Promise<void> {
    await this.ask(['X', id]);
  }
}

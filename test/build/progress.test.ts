// What a build looks like on stderr: plain lines elsewhere than on a
// terminal, a status line redrawn in place on one.

import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BuildProgress, formatError } from '../../src/build/progress.js';
import { emptyDerivation } from '../../src/store/derivation.js';

class Terminal extends Writable {
  text = '';
  isTTY: boolean;
  columns = 80;
  constructor(tty: boolean) {
    super();
    this.isTTY = tty;
  }
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.text += chunk.toString('utf8');
    cb();
  }
}

describe('build progress', () => {
  it('prints plain lines (and the build log) when not on a terminal', () => {
    const out = new Terminal(false);
    const p = new BuildProgress(out, { showLogs: true, expected: 2 });
    p.buildStarted('/nix/store/x-hello.drv', emptyDerivation('hello'), "building '/nix/store/x-hello.drv'...");
    p.buildLog!('/nix/store/x-hello.drv', Buffer.from('compiling\npart'));
    p.buildLog!('/nix/store/x-hello.drv', Buffer.from('ial line\n'));
    p.buildFinished('/nix/store/x-hello.drv', true);
    p.error('builder failed;\nlast 1 log lines:\n> x');
    p.finish();
    expect(out.text).toBe(
      "building '/nix/store/x-hello.drv'...\ncompiling\npartial line\n" +
        'error: builder failed;\n       last 1 log lines:\n       > x\n');
  });

  it('shows a message only when the verbosity reaches its level (--quiet hides "building")', () => {
    const out = new Terminal(false);
    const p = new BuildProgress(out, { showLogs: true, verbosity: 2 });
    p.message("building '/nix/store/x-hello.drv'...");
    p.message("waiting for lock on '/nix/store/x-hello'", 1);
    p.error('failed');
    expect(out.text).toBe("waiting for lock on '/nix/store/x-hello'\nerror: failed\n");
  });

  it('redraws a status line in place on a terminal', () => {
    const out = new Terminal(true);
    const p = new BuildProgress(out, { showLogs: false, expected: 3 });
    p.buildStarted('/nix/store/a-hello.drv', emptyDerivation('hello'), "building '/nix/store/a-hello.drv'...");
    expect(out.text).toBe("building '/nix/store/a-hello.drv'...\n\r\x1b[K[0/3 built] building hello");
    p.buildFinished('/nix/store/a-hello.drv', true);
    p.message('a line');
    p.finish();
    expect(out.text).toBe(
      "building '/nix/store/a-hello.drv'...\n" +
        '\r\x1b[K[0/3 built] building hello' +
        '\r\x1b[K[1/3 built]' +
        '\r\x1b[Ka line\n\r\x1b[K[1/3 built]' +
        '\r\x1b[K');
  });

  it('indents continuation lines of errors under the message', () => {
    expect(formatError('a\nb')).toBe('error: a\n       b');
  });
});

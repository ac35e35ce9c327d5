// In-process runs of a classic command with its stdout and stderr captured,
// for tests that compare what a command prints with the reference Nix.

import { Writable } from 'node:stream';
import { Settings } from '../src/cli/settings.js';
import type { CommandMain } from '../src/cli/run-command.js';

/** A stream that keeps everything written to it as text. */
export class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.text += chunk.toString('utf8');
    cb();
  }
}

export interface CommandOutput {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command's `main` with default settings; what it throws is not
 * turned into Nix's output here (runNixCommand does that).
 */
export async function runCaptured(main: CommandMain, programName: string, args: string[]): Promise<CommandOutput> {
  const stdout = new Capture();
  const stderr = new Capture();
  const status = await main(args, { programName, settings: new Settings(), stdout, stderr });
  return { status, stdout: stdout.text, stderr: stderr.text };
}

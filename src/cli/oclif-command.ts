// oclif is used for `tsnix --help`, `tsnix help <command>` and shell
// completion. Its command classes are thin: they hand the raw argv to the
// command's own Nix-style parser (src/commands/<name>.ts). They live apart
// from the command implementations so that running `nix-instantiate` never
// pays for loading oclif.

import { Command } from '@oclif/core';
import { runNixCommand } from './run-command.js';

export interface ClassicCommandInfo {
  /** Module under src/commands/. */
  module: string;
  /** The classic program name, e.g. nix-instantiate. */
  programName: string;
  summary: string;
  usage: string[];
  examples?: string[];
}

export function makeClassicCommand(info: ClassicCommandInfo): typeof Command {
  return class extends Command {
    static override summary = info.summary;
    static override description = `${info.summary}\n\nAlso available as \`${info.programName}\`; arguments are exactly those of Nix's ${info.programName}.`;
    static override usage = info.usage;
    static override examples = info.examples ?? [];
    static override strict = false;

    async run(): Promise<void> {
      const mod = await import(`../commands/${info.module}.js`);
      process.exitCode = await runNixCommand(info.programName, this.argv, mod.main);
    }
  };
}

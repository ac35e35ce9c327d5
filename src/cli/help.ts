// --help and --version for the classic commands. Help text comes from the
// oclif command definitions (loaded only here, so normal runs stay fast).

import { NIX_VERSION, TSNIX_VERSION } from '../version.js';
import type { CommandContext } from './run-command.js';
import { loadPackage } from '../load-package.js';

export async function showHelp(commandId: string): Promise<number> {
  const { Config, Help } = loadPackage<typeof import('@oclif/core')>('@oclif/core');
  const config = await Config.load(import.meta.url);
  const command = config.findCommand(commandId);
  if (!command) return 1;
  await new Help(config).showCommandHelp(command);
  return 0;
}

/** `nix-instantiate (Nix) 2.x` as Nix prints it, then which implementation this is. */
export function showVersion(ctx: CommandContext): number {
  ctx.stdout.write(`${ctx.programName} (Nix) ${NIX_VERSION}\n${ctx.programName} is tsnix ${TSNIX_VERSION}\n`);
  return 0;
}

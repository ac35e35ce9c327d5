// Placeholder until its issue lands: fails clearly instead of pretending.
import { ExitError, type CommandContext } from '../cli/run-command.js';

export function main(_argv: string[], ctx: CommandContext): number {
  throw new ExitError(1, `${ctx.programName} is not implemented yet in tsnix`);
}

// Entry point of the tsnix binary. The classic names (nix-build,
// nix-instantiate, ...) dispatch straight to their command module by the name
// they were started under, without loading oclif: start-up time is part of
// every nix-instantiate call. `tsnix <command> ...` does the same for the
// commands below; everything else (help, completion, `tsnix --version`) goes
// through oclif.

import { basename } from 'node:path';
import { loadPackage } from '../load-package.js';
import { exitWith, watchNodeStreams } from './exit.js';
import { argsWithBytes, keepCwdBytes } from '../process-bytes.js';

/** Classic program name → command module (src/commands/<module>.ts). */
export const CLASSIC_COMMANDS: Record<string, string> = {
  'nix-instantiate': 'instantiate',
  'nix-build': 'build',
  'nix-store': 'store',
  'nix-env': 'env',
  'nix-hash': 'hash',
  'nix-collect-garbage': 'collect-garbage',
};

const commandToProgram = Object.fromEntries(Object.entries(CLASSIC_COMMANDS).map(([p, c]) => [c, p]));

interface CommandModule {
  main: import('./run-command.js').CommandMain;
}

async function runClassic(programName: string, moduleName: string, argv: string[]): Promise<number> {
  const { runNixCommand } = await import('./run-command.js');
  const mod = (await import(`../commands/${moduleName}.js`)) as CommandModule;
  return runNixCommand(programName, argv, mod.main);
}

export async function main(argv: string[] = process.argv): Promise<void> {
  const invokedAs = basename(argv[1] ?? 'tsnix');
  keepCwdBytes();
  const args = argsWithBytes(argv.slice(2));
  let status: number;
  if (CLASSIC_COMMANDS[invokedAs]) {
    watchNodeStreams();
    return exitWith(await runClassic(invokedAs, CLASSIC_COMMANDS[invokedAs]!, args));
  } else if (args[0] && commandToProgram[args[0]] && !args.includes('--help') && !args.includes('-h')) {
    watchNodeStreams();
    return exitWith(await runClassic(commandToProgram[args[0]]!, args[0], args.slice(1)));
  } else if (args[0] === 'help' && args[1] && commandToProgram[args[1]]) {
    const { showHelp } = await import('./help.js');
    status = await showHelp(args[1]);
  } else if (args[0] && !args[0].startsWith('-') && args[0] !== 'help' && !commandToProgram[args[0]]) {
    process.stderr.write(`error: '${args[0]}' is not a tsnix command; see 'tsnix --help'\n`);
    status = 1;
  } else {
    const { run, flush, handle } = loadPackage<typeof import('@oclif/core')>('@oclif/core');
    try {
      await run(args, import.meta.url);
      await flush();
      // A command class run by oclif sets its own exit code.
      status = typeof process.exitCode === 'number' ? process.exitCode : 0;
    } catch (e) {
      await handle(e as Error);
      status = typeof process.exitCode === 'number' ? process.exitCode : 1;
    }
  }
  // Flush stdout before exiting: process.exit would cut off a piped write.
  process.exitCode = status;
}

// Entry point bundled by cli-bundle.ts: nix-build as its own process.
import { runNixCommand } from '../../src/cli/run-command.js';
import { main } from '../../src/commands/build.js';

process.exitCode = await runNixCommand('nix-build', process.argv.slice(2), main);

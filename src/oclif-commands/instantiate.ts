import { makeClassicCommand } from '../cli/oclif-command.js';

export default makeClassicCommand({
  module: 'instantiate',
  programName: 'nix-instantiate',
  summary: 'Evaluate Nix expressions and instantiate store derivations.',
  usage: ['instantiate [options...] [files...]'],
  examples: ["<%= config.bin %> instantiate --eval -E '1 + 2'"],
});

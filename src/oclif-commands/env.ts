import { makeClassicCommand } from '../cli/oclif-command.js';

export default makeClassicCommand({
  module: 'env',
  programName: 'nix-env',
  summary: 'Manipulate or query Nix user environments (profiles).',
  usage: ['env operation [options...] [args...]'],
  examples: ["<%= config.bin %> env -iA hello -f examples"],
});

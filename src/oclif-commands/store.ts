import { makeClassicCommand } from '../cli/oclif-command.js';

export default makeClassicCommand({
  module: 'store',
  programName: 'nix-store',
  summary: 'Manipulate or query the Nix store.',
  usage: ['store operation [options...] [args...]'],
  examples: ["<%= config.bin %> store --query --requisites ./result"],
});

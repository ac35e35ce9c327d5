import { makeClassicCommand } from '../cli/oclif-command.js';

export default makeClassicCommand({
  module: 'collect-garbage',
  programName: 'nix-collect-garbage',
  summary: 'Delete unreachable store paths.',
  usage: ['collect-garbage [--delete-old] [-d] [--delete-older-than period] [--max-freed bytes] [--dry-run]'],
  examples: ["<%= config.bin %> collect-garbage -d"],
});

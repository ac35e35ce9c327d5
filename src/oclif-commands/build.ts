import { makeClassicCommand } from '../cli/oclif-command.js';

export default makeClassicCommand({
  module: 'build',
  programName: 'nix-build',
  summary: 'Build a Nix expression and create result symlinks.',
  usage: ['build [options...] [paths...]'],
  examples: ["<%= config.bin %> build examples -A hello"],
});

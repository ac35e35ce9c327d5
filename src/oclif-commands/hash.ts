import { makeClassicCommand } from '../cli/oclif-command.js';

export default makeClassicCommand({
  module: 'hash',
  programName: 'nix-hash',
  summary: 'Compute the cryptographic hash of a path.',
  usage: ['hash [--flat] [--base32] [--type hash-algo] path...'],
  examples: ["<%= config.bin %> hash --type sha256 --base32 ./file"],
});

// What bin/tsnix runs (after setting up the stack): the program name comes
// from the launcher, the rest of argv from node.
import { main } from './main.js';

const argv0 = process.env.TSNIX_ARGV0;
// Not inherited by anything this process starts (builders, tests, …).
delete process.env.TSNIX_ARGV0;
// Not awaited at the top level: the bundle (scripts/build-bundle.mjs) is
// CommonJS. main() reports its own errors and sets the exit code.
void main([process.argv[0]!, argv0 ?? process.argv[1]!, ...process.argv.slice(2)]);

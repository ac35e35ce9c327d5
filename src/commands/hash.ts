// nix-hash: hash files (--flat) or the NAR serialisation of paths, or convert
// hashes between encodings (--to-base16, --to-base32, and the newer
// --to-base64 / --to-sri). Flags, defaults (md5, base-16) and messages are
// those of Nix 2.8's nix-hash; --base16/--base64/--sri, the newer --to-*
// conversions and converting a hash that names its own type follow later
// Nix versions.

import { NixError } from '../eval/errors.js';
import { parseLegacyArgs } from '../cli/args.js';
import type { CommandContext } from '../cli/run-command.js';
import { compressHash, hashFile, hashTypePrefix, parseHashAlgo, parseHashAny, printHash, type Hash, type HashAlgo, type HashEncoding } from '../store/hash.js';
import { hashPathParallel } from '../store/nar-parallel.js';
import { nixSysError } from '../sys-error.js';

const USAGE = `Usage: nix-hash [--flat] [--base32] [--truncate] [--type hashAlgo] path...
       nix-hash [--type hashAlgo] --to-base16 hash...
       nix-hash [--type hashAlgo] --to-base32 hash...

Compute the cryptographic hash of the contents of each path (a NAR dump,
or with --flat the file's bytes), md5 in base-16 by default.

  --flat          hash the contents of a regular file, not its NAR dump
  --type ALGO     md5 (default), sha1, sha256 or sha512
  --base16        print in base-16 (default)
  --base32        print in Nix's base-32
  --base64        print in base-64
  --sri           print as an SRI hash (algo-base64)
  --truncate      fold hashes longer than 160 bits to 160 bits
  --to-base16, --to-base32, --to-base64, --to-sri
                  convert the given hashes instead of hashing paths
`;

/** Nix's wording for failures while reading what is hashed. */
function asNixError(e: unknown): unknown {
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'EISDIR' && err.syscall === 'read') return new NixError('reading from file: Is a directory');
  return nixSysError(e) ?? e;
}

export async function main(argv: string[], ctx: CommandContext): Promise<number> {
  let algo: HashAlgo = 'md5';
  let algoGiven = false;
  let flat = false;
  let encoding = 'base16' as HashEncoding;
  let truncate = false;
  let convertTo = undefined as HashEncoding | undefined;
  const items: string[] = [];

  const common = parseLegacyArgs(argv, ctx.settings, (arg, cursor, positional) => {
    if (positional) {
      items.push(arg);
      return true;
    }
    switch (arg) {
      case '--flat':
        flat = true;
        return true;
      case '--base16':
        encoding = 'base16';
        return true;
      case '--base32':
        encoding = 'base32';
        return true;
      case '--base64':
        encoding = 'base64';
        return true;
      case '--sri':
        encoding = 'sri';
        return true;
      case '--truncate':
        truncate = true;
        return true;
      case '--type':
        algo = parseHashAlgo(cursor.value(arg));
        algoGiven = true;
        return true;
      case '--to-base16':
        convertTo = 'base16';
        return true;
      case '--to-base32':
        convertTo = 'base32';
        return true;
      case '--to-base64':
        convertTo = 'base64';
        return true;
      case '--to-sri':
        convertTo = 'sri';
        return true;
      default:
        return false;
    }
  });

  const out = (line: string): void => {
    ctx.stdout.write(line + '\n');
  };
  if (common.info === '--help') {
    ctx.stdout.write(USAGE);
    return 0;
  }
  if (common.info === '--version') return (await import('../cli/help.js')).showVersion(ctx);

  if (convertTo !== undefined) {
    // A hash with its type (`sha256:…`, SRI) converts without --type, as in
    // current Nix; one without takes --type, md5 unless given, as in Nix 2.8.
    for (const s of items) {
      const expected = algoGiven || hashTypePrefix(s) === undefined ? algo : undefined;
      out(printHash(parseHashAny(s, expected), convertTo, convertTo === 'sri'));
    }
    return 0;
  }

  for (const path of items) {
    let h: Hash;
    try {
      h = flat ? hashFile(algo, path) : hashPathParallel(algo, path).hash;
    } catch (e) {
      throw asNixError(e);
    }
    if (truncate && h.bytes.length > 20) h = compressHash(h, 20);
    out(printHash(h, encoding, encoding === 'sri'));
  }
  return 0;
}


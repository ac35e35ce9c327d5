// nix-collect-garbage [-d | --delete-old] [--delete-older-than Nd] [--dry-run] [--max-freed N]:
// optionally removes old profile generations, then collects garbage.
//
// Nix looks for profiles under its global state directory whatever store is
// used; tsnix uses the state directory of the store being collected, so that
// a chroot store's profiles (where tsnix keeps them when /nix is not
// writable) are the ones cleaned.

import path from 'node:path';
import { localStoreOptions } from '../cli/store-options.js';
import { UsageError } from '../eval/errors.js';
import { parseLegacyArgs } from '../cli/args.js';
import { messagesFor, type CommandContext } from '../cli/run-command.js';
import { openLocalStore } from '../store/local/open-store.js';
import { resolveStoreConfig } from '../store/local/store-config.js';
import { removeOldGenerations } from '../store/gc/old-generations.js';
import { collectAll, parseMaxFreed } from '../store/gc/operations.js';

export async function main(argv: string[], ctx: CommandContext): Promise<number> {
  let removeOld = false;
  let olderThan: string | undefined;
  let dryRun = false;
  let maxFreed: number | undefined;
  const common = parseLegacyArgs(argv, ctx.settings, (arg, cursor, positional) => {
    if (positional) return false;
    switch (arg) {
      case '--delete-old':
      case '-d':
        removeOld = true;
        return true;
      case '--delete-older-than':
        removeOld = true;
        olderThan = cursor.value(arg);
        return true;
      case '--dry-run':
        dryRun = true;
        return true;
      case '--max-freed':
        maxFreed = parseMaxFreed(cursor.value(arg));
        return true;
      default:
        return false;
    }
  });
  if (common.info === '--help') return (await import('../cli/help.js')).showHelp('collect-garbage');
  if (common.info === '--version') return (await import('../cli/help.js')).showVersion(ctx);
  const { info, warn } = messagesFor(ctx, common.verbosity);
  const storeUri = ctx.settings.isSet('store') ? ctx.settings.getString('store') : undefined;

  if (removeOld) {
    const cfg = resolveStoreConfig({ uri: storeUri });
    if (cfg.kind !== 'local') throw new UsageError('nix-collect-garbage needs a local store');
    removeOldGenerations(path.join(cfg.stateDir, 'profiles'), { olderThan, dryRun }, info);
  }
  if (dryRun) return 0;

  const store = openLocalStore({ uri: storeUri, warn, localStore: localStoreOptions(ctx.settings) });
  try {
    return await collectAll(store, maxFreed, {
      out: (text) => ctx.stdout.write(text),
      info,
      warn,
      settings: ctx.settings,
    });
  } finally {
    store.close();
  }
}

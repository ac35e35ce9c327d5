// The settings that shape how a command's local store behaves, in one place
// for every command that opens one.
import type { LocalStoreOptions } from '../store/local/local-store.js';
import type { Settings } from './settings.js';

export function localStoreOptions(settings: Settings): LocalStoreOptions {
  return {
    reservedSize: settings.getInt('gc-reserved-space'),
    autoOptimise: settings.getBool('auto-optimise-store'),
    fsyncMetadata: settings.getBool('fsync-metadata'),
  };
}

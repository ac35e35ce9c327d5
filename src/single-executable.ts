// Whether this process is tsnix's single executable (scripts/build-sea.mjs).
// Inside one, process.execPath is the tsnix binary, not node, so whatever
// starts a node child or a tsnix child must know. node:sea exists from Node
// 20.12; it is reached through process.getBuiltinModule so that modules of
// every layer (the builder's spawner, the commands) can ask without
// pulling in each other.

interface SeaModule {
  isSea(): boolean;
  getAsset(key: string): ArrayBuffer;
}

/** node:sea when running as the single executable, else undefined. */
export function seaModule(): SeaModule | undefined {
  try {
    const sea = process.getBuiltinModule?.('node:sea') as SeaModule | undefined;
    return sea?.isSea() ? sea : undefined;
  } catch {
    return undefined;
  }
}

export function isSea(): boolean {
  return seaModule() !== undefined;
}

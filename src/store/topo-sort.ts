// Nix's topoSort: items ordered so that each comes before the items it
// refers to (referrers first). Depth-first in sorted order, so ties are
// broken as Nix's std::set breaks them. References to items outside the set,
// and self-references, are not followed; any other cycle is an error, worded
// by the caller from the item where the cycle closed and the one that led
// back to it.

export function topoSort(
  items: Iterable<string>,
  refsOf: (item: string) => Iterable<string>,
  cycleError: (item: string, parent: string) => Error,
): string[] {
  const set = new Set(items);
  const sorted: string[] = [];
  const visited = new Set<string>();
  const parents = new Set<string>();
  const visit = (item: string, parent: string | undefined): void => {
    if (parents.has(item)) throw cycleError(item, parent!);
    if (visited.has(item)) return;
    visited.add(item);
    parents.add(item);
    for (const ref of [...refsOf(item)].sort()) if (ref !== item && set.has(ref)) visit(ref, item);
    sorted.push(item);
    parents.delete(item);
  };
  for (const item of [...set].sort()) visit(item, undefined);
  return sorted.reverse();
}

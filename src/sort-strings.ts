// Sorting the short string arrays evaluation sorts constantly (the names of
// a small attribute set, a derivation's outputs, inputs and sources).
// Array.prototype.sort allocates work space on every call, which for arrays
// of a handful of strings costs more than the sorting; an insertion sort
// here allocates nothing. Longer arrays go to the built-in sort.

const SMALL = 16;

/**
 * Sorts `xs` in place by UTF-16 code units (JS's `<`) and returns it. This
 * is byte order of the UTF-8 encodings unless a string holds a surrogate;
 * callers that must honour byte order check for those first.
 */
export function sortStringsInPlace(xs: string[]): string[] {
  const n = xs.length;
  if (n > SMALL) return xs.sort();
  for (let i = 1; i < n; i++) {
    const x = xs[i]!;
    let j = i - 1;
    while (j >= 0 && xs[j]! > x) {
      xs[j + 1] = xs[j]!;
      j--;
    }
    xs[j + 1] = x;
  }
  return xs;
}

// "Did you mean …?" suggestions: the closest names by Levenshtein distance,
// at most 5 within distance 2, ordered by (distance, name) as Nix orders them.

export function levenshtein(a: string, b: string): number {
  const n = b.length;
  let v0 = new Array<number>(n + 1);
  let v1 = new Array<number>(n + 1);
  for (let i = 0; i <= n; i++) v0[i] = i;
  for (let i = 0; i < a.length; i++) {
    v1[0] = i + 1;
    for (let j = 0; j < n; j++) {
      const del = v0[j + 1]! + 1;
      const ins = v1[j]! + 1;
      const sub = a[i] === b[j] ? v0[j]! : v0[j]! + 1;
      v1[j + 1] = Math.min(del, ins, sub);
    }
    [v0, v1] = [v1, v0];
  }
  return v0[n]!;
}

export function bestMatches(candidates: Iterable<string>, query: string, limit = 5, maxDistance = 2): string[] {
  const scored = [...new Set(candidates)].map((s) => ({ s, d: levenshtein(query, s) }));
  scored.sort((x, y) => x.d - y.d || (x.s < y.s ? -1 : x.s > y.s ? 1 : 0));
  const out: string[] = [];
  for (const { s, d } of scored) {
    if (out.length >= limit || d > maxDistance) break;
    out.push(s);
  }
  return out;
}

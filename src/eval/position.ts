// Source positions, as Nix reports them: `origin:line:column`, 1-based, and a
// way back to the source text so errors can show a code frame.

export type Origin =
  | { kind: 'file'; path: string; source?: string }
  | { kind: 'stdin'; source: string }
  | { kind: 'string'; source: string }
  | { kind: 'none' };

export interface Pos {
  origin: Origin;
  line: number;
  column: number;
}

export const noOrigin: Origin = { kind: 'none' };

export function showOrigin(origin: Origin): string {
  switch (origin.kind) {
    case 'file':
      return origin.path;
    case 'stdin':
      return '«stdin»';
    case 'string':
      return '«string»';
    case 'none':
      return '«none»';
  }
}

/** `origin:line:col`, the column left out when unknown (0), as Nix prints positions. */
export function showPos(pos: Pos): string {
  return `${showOrigin(pos.origin)}:${pos.line}${pos.column > 0 ? `:${pos.column}` : ''}`;
}

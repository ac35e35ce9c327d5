// Strings and attribute names as Nix prints them (in values, and in messages
// that name an attribute). A module of its own, without dependencies, so
// that the value classes can word their errors with it.

/** Nix's printLiteralString (with an optional byte limit). */
export function printLiteralString(s: string, maxLength = Infinity): string {
  let out = '"';
  let printed = 0;
  for (let i = 0; i < s.length; i++) {
    if (printed >= maxLength) {
      const rest = s.length - printed;
      return `${out}" «${rest} ${rest === 1 ? 'byte' : 'bytes'} elided»`;
    }
    const c = s[i]!;
    if (c === '"' || c === '\\') out += '\\' + c;
    else if (c === '\n') out += '\\n';
    else if (c === '\r') out += '\\r';
    else if (c === '\t') out += '\\t';
    else if (c === '$' && s[i + 1] === '{') out += '\\$';
    else out += c;
    printed++;
  }
  return out + '"';
}

const reserved = new Set(['if', 'then', 'else', 'assert', 'with', 'let', 'in', 'rec', 'inherit']);

function isVarName(s: string): boolean {
  if (s.length === 0 || reserved.has(s)) return false;
  return /^[a-zA-Z_][a-zA-Z0-9_'-]*$/.test(s);
}

/**
 * An attribute name as Nix prints it in values, and in messages that name
 * one (its printIdentifier): bare when it is an identifier, quoted otherwise.
 */
export function printAttributeName(s: string): string {
  return isVarName(s) ? s : printLiteralString(s);
}

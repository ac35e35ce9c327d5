// POSIX extended regular expressions with the semantics of Nix's
// builtins.match and builtins.split (libstdc++ std::regex::extended).
//
// Nix strings are byte strings and std::regex works on bytes: `.` matches one
// byte of a multi-byte UTF-8 character. Subjects and patterns containing
// non-ASCII characters are therefore matched as their UTF-8 bytes, and the
// captured pieces decoded back.

import { buildProgram, parseEre, RegexSyntaxError, type ParsedEre, type Program } from './ere-compile.js';
import { execEre, type Captures } from './ere-exec.js';
import { jsExactRegex, jsSearchRegex } from './ere-to-js.js';
import { decodeBytes, encodeBytes } from '../../byte-strings.js';

export { RegexSyntaxError } from './ere-compile.js';

/** A compiled pattern; each form is built on first use. */
class Compiled {
  private program: Program | undefined;
  private exact: RegExp | null | undefined;
  private search: RegExp | null | undefined;
  /** JavaScript regexes work on UTF-16; they stand in only for ASCII patterns. */
  private readonly ascii: boolean;

  constructor(
    private readonly parsed: ParsedEre,
    pattern: string,
  ) {
    this.ascii = !NON_ASCII.test(pattern);
  }

  get prog(): Program {
    return (this.program ??= buildProgram(this.parsed));
  }

  get exactRegex(): RegExp | null {
    if (this.exact === undefined) this.exact = this.ascii ? jsExactRegex(this.parsed.ast) : null;
    return this.exact;
  }

  get searchRegex(): RegExp | null {
    if (this.search === undefined) this.search = this.ascii ? jsSearchRegex(this.parsed.ast) : null;
    return this.search;
  }
}

const cache = new Map<string, Compiled | RegexSyntaxError>();

function compiled(pattern: string): Compiled {
  let p = cache.get(pattern);
  if (p === undefined) {
    try {
      p = new Compiled(parseEre(toBytes(pattern)), pattern);
      // std::regex builds its automaton eagerly: size limits fail at compile time.
      p.prog;
    } catch (e) {
      if (!(e instanceof RegexSyntaxError)) throw e;
      p = e;
    }
    cache.set(pattern, p);
  }
  if (p instanceof RegexSyntaxError) throw p;
  return p;
}

/** Compiles once per pattern; throws RegexSyntaxError for patterns std::regex rejects. */
export function compileRegex(pattern: string): Program {
  return compiled(pattern).prog;
}

/** The message Nix gives for a pattern std::regex rejects. */
export function regexErrorMessage(e: RegexSyntaxError, pattern: string): string {
  return e.kind === 'space'
    ? `memory limit exceeded by regular expression '${pattern}'`
    : `invalid regular expression '${pattern}'`;
}

// eslint-disable-next-line no-control-regex
const NON_ASCII = /[^\x00-\x7f]/;

function toBytes(s: string): string {
  return NON_ASCII.test(s) ? encodeBytes(s).toString('latin1') : s;
}

function fromBytes(s: string, wasBytes: boolean): string {
  return wasBytes ? decodeBytes(Buffer.from(s, 'latin1')) : s;
}

function groupsOf(caps: Captures, subject: string, bytes: boolean): (string | null)[] {
  const out: (string | null)[] = [];
  for (let g = 1; 2 * g < caps.length; g++) {
    const s = caps[2 * g]!;
    out.push(s < 0 ? null : fromBytes(subject.slice(s, caps[2 * g + 1]!), bytes));
  }
  return out;
}

/** builtins.match: the groups when the whole subject matches, else null. */
export function regexMatch(pattern: string, subject: string): (string | null)[] | null {
  const c = compiled(pattern);
  const bytes = NON_ASCII.test(subject);
  const subj = bytes ? toBytes(subject) : subject;
  // The fast path's classes are ASCII-only, so it works on the bytes too.
  const js = c.exactRegex;
  if (js) {
    const m = js.exec(subj);
    if (m === null) return null;
    const out: (string | null)[] = [];
    for (let g = 1; g < m.length; g++) out.push(m[g] === undefined ? null : fromBytes(m[g]!, bytes));
    return out;
  }
  const prog = c.prog;
  const caps = execEre(prog, subj, 0, { exact: true, notNull: false, continuous: false, prevAvail: false });
  return caps === null ? null : groupsOf(caps, subj, bytes);
}

export type SplitPart = string | (string | null)[];

/**
 * builtins.split: text between matches interleaved with each match's groups.
 * Returns null when nothing matches (Nix then returns the subject itself,
 * context included).
 */
export function regexSplit(pattern: string, subject: string): SplitPart[] | null {
  const c = compiled(pattern);
  const bytes = NON_ASCII.test(subject);
  const subj = bytes ? toBytes(subject) : subject;
  const js = c.searchRegex;
  if (js) return splitWithRegExp(js, subj, bytes);
  const prog = c.prog;
  const out: SplitPart[] = [];
  const end = subj.length;
  // std::regex_iterator: after an empty match, first retry at the same place
  // insisting on a non-empty match, then move on by one character.
  let prevEnd = 0;
  let caps = execEre(prog, subj, 0, { exact: false, notNull: false, continuous: false, prevAvail: false });
  let prevAvail = false;
  while (caps !== null) {
    const ms = caps[0]!;
    const me = caps[1]!;
    out.push(fromBytes(subj.slice(prevEnd, ms), bytes));
    out.push(groupsOf(caps, subj, bytes));
    prevEnd = me;
    let start = me;
    if (ms === me) {
      if (start === end) break;
      const retry = execEre(prog, subj, start, { exact: false, notNull: true, continuous: true, prevAvail });
      if (retry !== null) {
        caps = retry;
        continue;
      }
      start++;
    }
    prevAvail = true;
    caps = execEre(prog, subj, start, { exact: false, notNull: false, continuous: false, prevAvail: true });
  }
  if (out.length === 0) return null;
  out.push(fromBytes(subj.slice(prevEnd), bytes));
  return out;
}

/**
 * The same iteration with a JavaScript RegExp (see ere-to-js.ts for when it
 * is equivalent). After an empty match the search moves on by one: a
 * non-empty match at the same place cannot exist for these patterns.
 */
function splitWithRegExp(re: RegExp, subject: string, bytes: boolean): SplitPart[] | null {
  const out: SplitPart[] = [];
  let prevEnd = 0;
  let start = 0;
  while (start <= subject.length) {
    re.lastIndex = start;
    const m = re.exec(subject);
    if (m === null) break;
    const ms = m.index;
    const me = ms + m[0].length;
    out.push(fromBytes(subject.slice(prevEnd, ms), bytes));
    const groups: (string | null)[] = [];
    for (let g = 1; g < m.length; g++) groups.push(m[g] === undefined ? null : fromBytes(m[g]!, bytes));
    out.push(groups);
    prevEnd = me;
    start = me === ms ? me + 1 : me;
  }
  if (out.length === 0) return null;
  out.push(fromBytes(subject.slice(prevEnd), bytes));
  return out;
}

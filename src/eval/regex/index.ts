// POSIX extended regular expressions with the semantics of Nix's
// builtins.match and builtins.split (libstdc++ std::regex::extended).
//
// Nix strings are byte strings and std::regex works on bytes: `.` matches one
// byte of a multi-byte UTF-8 character. Subjects and patterns containing
// non-ASCII characters are therefore matched as their UTF-8 bytes, and the
// captured pieces decoded back.

import { compileEre, RegexSyntaxError, type Program } from './ere-compile.js';
import { execEre, type Captures } from './ere-exec.js';

export { RegexSyntaxError } from './ere-compile.js';

const cache = new Map<string, Program | RegexSyntaxError>();

/** Compiles once per pattern; throws RegexSyntaxError for patterns std::regex rejects. */
export function compileRegex(pattern: string): Program {
  let p = cache.get(pattern);
  if (p === undefined) {
    try {
      p = compileEre(toBytes(pattern));
    } catch (e) {
      if (!(e instanceof RegexSyntaxError)) throw e;
      p = e;
    }
    cache.set(pattern, p);
  }
  if (p instanceof RegexSyntaxError) throw p;
  return p;
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
  return NON_ASCII.test(s) ? Buffer.from(s, 'utf8').toString('latin1') : s;
}

function fromBytes(s: string, wasBytes: boolean): string {
  return wasBytes ? Buffer.from(s, 'latin1').toString('utf8') : s;
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
  const prog = compileRegex(pattern);
  const bytes = NON_ASCII.test(subject);
  const subj = bytes ? toBytes(subject) : subject;
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
  const prog = compileRegex(pattern);
  const bytes = NON_ASCII.test(subject);
  const subj = bytes ? toBytes(subject) : subject;
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

// Runs a compiled ERE program the way libstdc++'s depth-first executor does
// for POSIX grammars, because Nix's results (which match split finds, which
// text each group captured) are whatever that executor returns:
//
//   - alternation explores BOTH branches and keeps the longest match found
//     (the first one found among equally long matches);
//   - repetition is greedy and stops exploring shorter choices as soon as a
//     match has been found below it;
//   - a capture group keeps what it captured in an earlier iteration of an
//     enclosing loop (JavaScript resets it);
//   - a loop may re-enter its body at most twice at the same position.
//
// The search is driven by an explicit work stack instead of recursion, so
// long subjects cannot overflow the JavaScript stack.

import type { Program } from './ere-compile.js';

export interface MatchFlags {
  /** The whole subject must match (regex_match) rather than a prefix (regex_search). */
  exact: boolean;
  /** Reject empty matches (match_not_null). */
  notNull: boolean;
  /** Only try at the first position (match_continuous). */
  continuous: boolean;
  /** There is input before the start position, so `^` cannot match there (match_prev_avail). */
  prevAvail: boolean;
}

/** Group k spans [caps[2k], caps[2k+1]); -1 when the group did not participate. */
export type Captures = Int32Array;

const VISIT = 0;
const RESTORE_START = 1;
const RESTORE_END = 2;
const RESTORE_REP = 3;
const REPEAT_NEXT = 4;
const ALT_RIGHT = 5;
const OR_SOLUTION = 6;

/**
 * Tries to match at the positions regex_search (or regex_match) would, from
 * `from`; the subject is a string of byte values (one char per byte).
 */
export function execEre(prog: Program, subject: string, from: number, flags: MatchFlags): Captures | null {
  const { states, groups } = prog;
  const end = subject.length;
  const n = states.length;

  // Per-group current state as libstdc++ keeps it: start, end, matched.
  const curStart = new Int32Array(groups).fill(-1);
  const curEnd = new Int32Array(groups).fill(-1);
  const curMatched = new Uint8Array(groups);
  const repPos = new Int32Array(n).fill(-1);
  const repCount = new Uint8Array(n);

  // The work stack: parallel arrays of (kind, a, b, c).
  let kinds: number[] = [];
  let as: number[] = [];
  let bs: number[] = [];
  let cs: number[] = [];
  const push = (k: number, a: number, b: number, c = 0) => {
    kinds.push(k);
    as.push(a);
    bs.push(b);
    cs.push(c);
  };

  let begin = from;
  let prevAvail = flags.prevAvail;
  let hasSol = false;
  let solPos = -1;
  let result: Captures | null = null;

  const tryAt = (): boolean => {
    hasSol = false;
    result = null;
    solPos = -1;
    curStart.fill(-1);
    curEnd.fill(-1);
    curMatched.fill(0);
    kinds = [];
    as = [];
    bs = [];
    cs = [];
    push(VISIT, prog.start, begin);
    while (kinds.length > 0) {
      const kind = kinds.pop()!;
      const a = as.pop()!;
      const b = bs.pop()!;
      const c = cs.pop()!;
      switch (kind) {
        case VISIT: {
          const st = states[a]!;
          const pos = b;
          switch (st.op) {
            case 'char':
              if (pos < end && st.test(subject.charCodeAt(pos))) push(VISIT, st.next, pos + 1);
              break;
            case 'dummy':
              push(VISIT, st.next, pos);
              break;
            case 'subBegin':
              push(RESTORE_START, st.idx, curStart[st.idx]!);
              curStart[st.idx] = pos;
              push(VISIT, st.next, pos);
              break;
            case 'subEnd':
              push(RESTORE_END, st.idx, curEnd[st.idx]!, curMatched[st.idx]!);
              curEnd[st.idx] = pos;
              curMatched[st.idx] = 1;
              push(VISIT, st.next, pos);
              break;
            case 'lineBegin':
              if (pos === begin && !prevAvail) push(VISIT, st.next, pos);
              break;
            case 'lineEnd':
              if (pos === end) push(VISIT, st.next, pos);
              break;
            case 'alt':
              push(ALT_RIGHT, st.next, pos);
              push(VISIT, st.alt, pos);
              break;
            case 'repeat': {
              push(REPEAT_NEXT, st.next, pos);
              if (repCount[a] === 0 || repPos[a] !== pos) {
                push(RESTORE_REP, a, repPos[a]!, repCount[a]!);
                repPos[a] = pos;
                repCount[a] = 1;
                push(VISIT, st.alt, pos);
              } else if (repCount[a]! < 2) {
                push(RESTORE_REP, a, repPos[a]!, repCount[a]!);
                repCount[a] = repCount[a]! + 1;
                push(VISIT, st.alt, pos);
              }
              break;
            }
            case 'accept': {
              let sol = flags.exact ? pos === end : true;
              if (pos === begin && flags.notNull) sol = false;
              hasSol = sol;
              if (sol && (solPos === -1 || solPos < pos)) {
                solPos = pos;
                const r = new Int32Array(groups * 2).fill(-1);
                for (let g = 0; g < groups; g++) {
                  if (curMatched[g]) {
                    r[2 * g] = curStart[g]!;
                    r[2 * g + 1] = curEnd[g]!;
                  }
                }
                result = r;
              }
              break;
            }
          }
          break;
        }
        case RESTORE_START:
          curStart[a] = b;
          break;
        case RESTORE_END:
          curEnd[a] = b;
          curMatched[a] = c;
          break;
        case RESTORE_REP:
          repPos[a] = b;
          repCount[a] = c;
          break;
        case REPEAT_NEXT:
          if (!hasSol) push(VISIT, a, b);
          break;
        case ALT_RIGHT: {
          const saved = hasSol ? 1 : 0;
          hasSol = false;
          push(OR_SOLUTION, saved, 0);
          push(VISIT, a, b);
          break;
        }
        case OR_SOLUTION:
          if (a) hasSol = true;
          break;
      }
    }
    return result !== null;
  };

  if (flags.exact) return tryAt() ? result : null;
  if (tryAt()) return result;
  if (flags.continuous) return null;
  prevAvail = true;
  while (begin !== end) {
    begin++;
    if (tryAt()) return result;
  }
  return null;
}

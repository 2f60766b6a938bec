// Matches image names against the `*` globs of llmStack.runtimes.imagePatterns without a regular
// expression: a `.*` per star backtracks exponentially on a name that almost matches.

/**
 * Whether `text` matches `pattern`, where `*` stands for any run of characters (none included) and
 * every other character for itself. Greedy two-pointer walk that only ever returns to the last star:
 * at most pattern.length × text.length steps, whatever the number of stars.
 */
export function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  // Where the last star was seen, and the text position it has swallowed up to.
  let star = -1;
  let swallowed = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      swallowed = t;
    } else if (p < pattern.length && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (star >= 0) {
      // Let the last star take one more character and try the rest of the pattern again from there.
      p = star + 1;
      t = ++swallowed;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

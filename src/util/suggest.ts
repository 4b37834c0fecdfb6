/**
 * "Did you mean …?": the known name nearest to a mistyped one, by edit distance. Used for
 * configuration keys, environment overrides, commands and flags.
 */

/** Levenshtein distance, case-insensitive (a key typed in the wrong case is still that key). */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const row = [i];
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      row[j] = Math.min(
        (prev[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (prev[j - 1] as number) + cost
      );
    }
    prev = row;
  }
  return prev[t.length] as number;
}

/**
 * The candidate nearest to `word`, or undefined when none is close enough to be a plausible
 * typo (at most a third of the longer name, and at least one edit allowed).
 */
export function nearest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  if (best === undefined) return undefined;
  const allowed = Math.max(1, Math.floor(Math.max(word.length, best.length) / 3));
  return bestDistance <= allowed ? best : undefined;
}

/** ` (did you mean "x"?)` or an empty string. */
export function didYouMean(word: string, candidates: Iterable<string>, quote = true): string {
  const n = nearest(word, candidates);
  if (n === undefined) return '';
  return quote ? ` (did you mean ${JSON.stringify(n)}?)` : ` (did you mean ${n}?)`;
}

/** Edit distance (insertions, deletions, substitutions, adjacent swaps), for "did you mean". */
export const editDistance = (a: string, b: string): number => {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, rows[i - 2]![j - 2]! + 1)
      rows[i]![j] = best
    }
  }
  return rows[a.length]![b.length]!
}

/**
 * How far a typed word is from a name, if close enough to be a typo of it: at most a third of
 * the name's length apart (at least 1, at most 3); a prefix of 3+ characters counts as 0.5.
 */
export const typoDistance = (typed: string, name: string): number | undefined => {
  const distance = name.startsWith(typed) && typed.length >= 3 ? 0.5 : editDistance(typed.toLowerCase(), name.toLowerCase())
  return distance <= Math.min(3, Math.max(1, Math.floor(name.length / 3))) ? distance : undefined
}

/** The candidate closest to what was typed, if it looks like a typo of one. */
export const closest = (typed: string, candidates: Iterable<string>): string | undefined => {
  let best: { name: string; distance: number } | undefined
  for (const name of candidates) {
    const distance = typoDistance(typed, name)
    if (distance !== undefined && (!best || distance < best.distance)) best = { name, distance }
  }
  return best?.name
}

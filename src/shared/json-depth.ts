/**
 * Whether a JSON-like value nests arrays and objects more than `max` levels
 * deep. Walked with a stack of its own rather than by recursion, so a value
 * nested deep enough to overflow JSON.stringify's stack is answered, not
 * thrown on; it stops at the first branch too deep.
 */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const pending: Array<[unknown, number]> = [[value, 0]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [item, depth] = next;
    if (item === null || typeof item !== 'object') continue;
    if (depth >= max) return true;
    for (const child of Array.isArray(item) ? item : Object.values(item)) {
      if (child !== null && typeof child === 'object') pending.push([child, depth + 1]);
    }
  }
  return false;
}

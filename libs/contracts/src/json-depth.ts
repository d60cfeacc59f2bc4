/**
 * How deeply client JSON (request bodies, uploaded rows, imported files) may
 * nest arrays and objects. Validation, serialisation and the strategy bridge
 * all recurse: a value nested tens of thousands of levels deep (a few hundred
 * KB) would overflow their stacks. Real configurations and contact
 * parameters stay far below.
 */
export const MAX_JSON_DEPTH = 64;

/** True when a parsed JSON value nests deeper than `max` levels (`{}` is 1). Iterative: safe at any depth. */
export function nestedDeeperThan(value: unknown, max: number = MAX_JSON_DEPTH): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth >= max) return true;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/** Runs fn(0) … fn(count − 1) with at most `limit` in flight: store adapters fan requests out with it. */
export async function forEachLimit(count: number, limit: number, fn: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, count) }, async () => {
    while (next < count) await fn(next++);
  });
  await Promise.all(lanes);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

import type { Backend } from '../../src/emulators/open.js';

/**
 * How the fault-injection files run. BSPML_FAULTS=long: every call index (an even spread of them on
 * the emulators, dynalite and s3rver, whose runs take a second or so) and many random runs.
 * BSPML_FAULTS_SEED=N: the long mode's random runs from a fixed seed (CI sets one, so a green run
 * stays green and a red one can be replayed); unset, each long run explores a new seed (fast-check
 * prints it on a failure). BSPML_FAULT_STORES=memory,redis: only these stores.
 */
export const LONG = process.env.BSPML_FAULTS === 'long';

/** The seed for a property's random runs: the file's own in the fast mode, BSPML_FAULTS_SEED (or none) in the long one. */
export function faultSeed(fastSeed: number): number | undefined {
  if (!LONG) return fastSeed;
  const raw = process.env.BSPML_FAULTS_SEED;
  if (raw === undefined || raw === '') return undefined;
  const seed = Number(raw);
  if (!Number.isSafeInteger(seed)) throw new Error(`BSPML_FAULTS_SEED: "${raw}" is not an integer`);
  return seed;
}

/** Whether a store's fault cases run here (BSPML_FAULT_STORES, a comma-separated list; unset: every store). */
export function faultStoreSelected(backend: Backend): boolean {
  const raw = process.env.BSPML_FAULT_STORES;
  if (raw === undefined || raw === '') return true;
  return raw.split(',').map((s) => s.trim()).includes(backend);
}

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Shape } from '../../src/algorithms/index.js';
import { shapeKey } from '../../src/sim/calibrate.js';
import { loadProfile, type Profile } from '../../src/sim/profile.js';
import { table1, type Table1Row } from '../../src/sim/table1.js';

/**
 * docs/simulator.md says that `--calibration docs/simulator/table1.json`, on any machine, gives the
 * committed rows. A change to the simulator's model that moves them without the table being rerun
 * fails here. Two of the cheap rows (k-means 50 × 6: the paper's design and ours lingering on Redis)
 * stand for the rest; the values of the committed profile are the code's.
 */
interface Committed {
  rows: Table1Row[];
  profile: Profile;
  calibration: { msPerRow: Record<string, { value: number }>; mergeNsPerByte: { value: number } };
}

const committed = JSON.parse(readFileSync(new URL('../../docs/simulator/table1.json', import.meta.url), 'utf8')) as Committed;

/** Every parameter's value in a profile, by its path (sources and dates left out). */
function values(profile: unknown, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(profile as Record<string, unknown>)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (entry && typeof entry === 'object' && 'value' in entry) out[path] = (entry as { value: unknown }).value;
    else if (entry && typeof entry === 'object') Object.assign(out, values(entry, path));
  }
  return out;
}

describe('the committed Table 1 (docs/simulator/table1.json)', () => {
  it("holds the aws profile's values, the merge's from its calibration", async () => {
    // Prepare
    const profile = await loadProfile('aws');
    profile.lambda.mergeNsPerByte.value = committed.calibration.mergeNsPerByte.value;

    // Act
    const code = values(profile);
    const file = values(committed.profile);
    delete code.name;
    delete file.name;

    // Assess
    expect(file).toEqual(code);
  });

  it('is what the simulator gives today with its calibration (k-means 50 × 6, barrier-wait and linger on Redis)', async () => {
    // Prepare
    const profile = await loadProfile('aws');
    profile.lambda.mergeNsPerByte.value = committed.calibration.mergeNsPerByte.value;
    const msPerRow = (shape: Shape) => {
      const figure = committed.calibration.msPerRow[shapeKey(shape)];
      if (!figure) throw new Error(`no calibration for ${shapeKey(shape)}`);
      return figure.value;
    };

    // Act
    const { rows } = await table1(profile, msPerRow, { algorithms: ['kmeans'], designs: ['barrier-wait', 'linger/random/redis'], configs: ['50x6'], layout: false });

    // Assess
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      const same = committed.rows.find((r) => r.algorithm === row.algorithm && r.workers === row.workers && r.threads === row.threads && r.sync === row.sync && r.backend === row.backend && r.routing === row.routing && r.trigger === row.trigger);
      expect(same, `${row.sync} ${row.backend} ${row.routing}`).toBeDefined();
      expect({ wall: row.wallSeconds, usd: row.costUsd, gbs: row.billedGbSeconds }).toEqual({ wall: same!.wallSeconds, usd: same!.costUsd, gbs: same!.billedGbSeconds });
    }
  });
});

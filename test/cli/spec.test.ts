import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runReportSchema } from '../../src/report/schema.js';
import { runBspml, useTempDirs } from '../helpers/cli.js';

/*
 * `bspml train --spec NAME.job.json`: the spec a stack reads beside an upload, trained locally;
 * options typed on the command line override its fields.
 */

const tempDir = useTempDirs('bspml-spec-');

async function setUp(spec: unknown): Promise<{ dir: string; file: string; data: string }> {
  const dir = await tempDir();
  const data = join(dir, 'blobs.csv');
  const gen = await runBspml(['gen', 'blobs', '--rows', '1200', '--dims', '3', '--centers', '3', '--seed', '5', '--out', data]);
  expect(gen.code, gen.stderr).toBe(0);
  const file = join(dir, 'blobs.job.json');
  await writeFile(file, typeof spec === 'string' ? spec : JSON.stringify(spec));
  return { dir, file, data };
}

async function trainJson(argv: string[]) {
  const result = await runBspml(['train', ...argv, '--json', '--threads', '1']);
  expect(result.code, result.stderr).toBe(0);
  return runReportSchema.parse(JSON.parse(result.stdout));
}

describe('bspml train --spec', () => {
  it('trains the spec on the data beside it, as the same flags would', async () => {
    // Prepare
    const { file, data } = await setUp({ algorithm: 'kmeans', k: 3, workers: 3, seed: 9, maxRounds: 30 });

    // Act
    const fromSpec = await trainJson(['--spec', file]);
    const fromFlags = await trainJson(['kmeans', '--data', data, '--k', '3', '--workers', '3', '--seed', '9', '--max-rounds', '30']);

    // Assess
    expect(fromSpec.spec).toMatchObject({ algorithm: 'kmeans', k: 3, workers: 3, seed: 9, maxRounds: 30, data: { uri: data } });
    expect(fromSpec.spec).toEqual(fromFlags.spec);
    expect(fromSpec.result).toEqual(fromFlags.result);
  });

  it('lets options typed on the command line override the spec, and runs on the spec\'s backend', async () => {
    // Prepare
    const { file } = await setUp({ algorithm: 'kmeans', k: 3, workers: 3, seed: 9, backend: 'dynamodb' });

    // Act
    const report = await trainJson(['kmeans', '--spec', file, '--workers', '2', '--k', '2']);

    // Assess: the defaults of options left out (workers 1) do not override the spec.
    expect(report.spec).toMatchObject({ k: 2, workers: 2, seed: 9, backend: 'dynamodb' });
    expect(report.job.backend).toBe('dynamodb');
    expect(report.cost.backend).toBe('dynamodb');
  });

  it('names the spec file when the spec is not valid JSON, is invalid, or names another algorithm', async () => {
    // Prepare
    const broken = await setUp('{"algorithm": "kmeans", k: 3}');
    const invalid = await setUp({ algorithm: 'kmeans', k: 0 });
    const logreg = await setUp({ algorithm: 'logreg' });

    // Act
    const a = await runBspml(['train', '--spec', broken.file]);
    const b = await runBspml(['train', '--spec', invalid.file]);
    const c = await runBspml(['train', 'kmeans', '--spec', logreg.file]);

    // Assess
    expect(a.code).toBe(1);
    expect(a.stderr).toMatch(new RegExp(`^bspml: error: ${broken.file}: not valid JSON: .+\\n$`));
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(new RegExp(`^bspml: error: ${invalid.file}: invalid job spec: k: .+\\n$`));
    expect(c.code).toBe(1);
    expect(c.stderr).toBe(`bspml: error: ${logreg.file}: the spec trains logreg, not kmeans (drop "kmeans" or change the spec)\n`);
  });

  it('says where data can come from when there is none beside the spec', async () => {
    const dir = await tempDir();
    const file = join(dir, 'lonely.job.json');
    await writeFile(file, JSON.stringify({ algorithm: 'kmeans', k: 2 }));
    const result = await runBspml(['train', '--spec', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`bspml: error: ${file}: no data: give --data, a data.uri in the spec, or put ${join(dir, 'lonely')}.csv (or .csv.gz, .bin, .f32, .parquet) beside it\n`);
  });
});

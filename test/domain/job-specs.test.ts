import { describe, expect, expectTypeOf, it } from 'vitest';
import { anyJobSpecSchema, jobKindOf, parseAnyJobSpec, type AnyJobSpec } from '../../src/domain/jobSpecs.js';
import type { JobRecord, PredictJobRecord, TrainJobRecord } from '../../src/domain/job.js';
import type { PredictSpec } from '../../src/domain/predictSpec.js';
import type { JobSpec } from '../../src/domain/spec.js';
import { SpecError } from '../../src/errors.js';

/*
 * The two kinds of job spec (src/domain/jobSpecs.ts): a training spec (`kind` absent or `train`) and
 * a predict spec (`kind: predict`), one discriminated union on `kind`, as their records are
 * (src/domain/job.ts). Each bad spec gets one line naming its field.
 */

const predict = { kind: 'predict', model: { name: 'iris' }, data: { uri: 's3://bkt/datasets/iris/' }, out: 's3://bkt/predictions/iris/' };
const train = { algorithm: 'kmeans', k: 3, data: { uri: 's3://bkt/datasets/iris.csv' } };

/** The one-line message and field of the SpecError `parse` throws. */
function refusal(input: unknown): { message: string; field: string | undefined } {
  try {
    parseAnyJobSpec(input);
  } catch (error) {
    if (error instanceof SpecError) return { message: error.message, field: error.field };
    throw error;
  }
  throw new Error('accepted');
}

describe('job specs of either kind', () => {
  it('tells a predict spec from a training spec by kind, with or without kind train', () => {
    // Act
    const parsed = [parseAnyJobSpec(predict), parseAnyJobSpec(train), parseAnyJobSpec({ ...train, kind: 'train' })];

    // Assess
    expect(parsed.map((spec) => ('model' in spec ? 'predict' : spec.algorithm))).toEqual(['predict', 'kmeans', 'kmeans']);
    expect(parsed[0]).toEqual(predict);
    expect([jobKindOf(predict), jobKindOf(train), jobKindOf({ ...train, kind: 'train' })]).toEqual(['predict', 'train', 'train']);
    // The zod union takes the same specs and refuses a predict spec with a training field.
    expect(anyJobSpecSchema.safeParse(predict).success).toBe(true);
    expect(anyJobSpecSchema.safeParse(train).success).toBe(true);
    expect(anyJobSpecSchema.safeParse({ ...predict, algorithm: 'kmeans' }).success).toBe(false);
  });

  it.each([
    ['another kind', { ...predict, kind: 'inference' }, 'invalid job spec: kind: must be train (or left out) or predict, not "inference"', 'kind'],
    ['a misspelt field', { ...predict, modle: 'x' }, 'invalid predict spec: modle: not a field of a predict spec (kind, model, data, out, workers)', 'modle'],
    ['a training field', { ...predict, k: 3 }, 'invalid predict spec: k: not a field of a predict spec (kind, model, data, out, workers)', 'k'],
    ['no out', { ...predict, out: undefined }, 'invalid predict spec: out: is required (expected string)', 'out'],
    ['an out that is not a prefix', { ...predict, out: 's3://bkt/predictions/iris' }, 'invalid predict spec: out: must be an S3 prefix ending in /, s3://BUCKET/PREFIX/', 'out'],
    ['a version with a space', { ...predict, model: { name: 'iris', version: 'v 1' } }, 'invalid predict spec: model.version: not a model version (a job id such as iris-20261206T010000Z-0b9e8d, or latest)', 'model.version'],
    ['no workers', { ...predict, workers: 0 }, 'invalid predict spec: workers: Too small: expected number to be >=1', 'workers'],
    ['the spec in an array (no kind, so read as training)', [predict], 'invalid job spec: spec: Invalid input: expected object, received array', 'spec'],
  ])('refuses a predict spec with %s in one line naming the field', (_, input, message, field) => {
    // Act
    const refused = refusal(input);

    // Assess
    expect(refused).toEqual({ message, field });
    expect(refused.message).not.toContain('\n');
  });

  it('types each record\'s spec by its kind', () => {
    // Assess: narrowing a record on kind gives its own spec, with no cast.
    expectTypeOf<Extract<JobRecord, { kind: 'predict' }>>().toEqualTypeOf<PredictJobRecord>();
    expectTypeOf<PredictJobRecord['spec']>().toEqualTypeOf<PredictSpec>();
    expectTypeOf<TrainJobRecord['spec']>().toEqualTypeOf<JobSpec>();
    expectTypeOf<AnyJobSpec>().toEqualTypeOf<JobSpec | PredictSpec>();
    const record = { kind: 'predict', spec: predict } as unknown as JobRecord;
    const model = record.kind === 'predict' ? record.spec.model.name : record.spec.algorithm;
    expect(model).toBe('iris');
  });
});

import { describe, expect, it } from 'vitest';
import { modelName } from '../../src/aws/models.js';

/* Where a finished job's model goes: models/NAME/JOBID.json, NAME from its data set. */

describe('a model\'s name', () => {
  it.each([
    ['s3://b/datasets/churn.csv', 'churn'],
    ['s3://b/datasets/churn.csv?versionId=3', 'churn'],
    // A data set in parts is its folder: no empty path segment in models/NAME//JOBID.json.
    ['s3://b/datasets/churn/', 'churn'],
    ['s3://b/datasets/team/churn/', 'team/churn'],
    ['s3://my-lake/exports/churn.parquet', 'churn'],
    ['s3://my-lake/exports/churn/', 'churn'],
  ])('of %s is %s', (uri, name) => {
    expect(modelName(uri)).toBe(name);
  });
});

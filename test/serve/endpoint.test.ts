import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../src/aws/s3.js';
import { startS3rver, type LocalS3 } from '../../src/emulators/s3rver.js';
import { predictMultinomial, predictSvmOvr } from '../../src/algorithms/index.js';
import { functionUrlEvent } from '../helpers/function-url.js';
import { binaryModel, kmeansModel, multinomialModel, svmModel, svmOvrModel } from '../helpers/served-models.js';

/*
 * The predict function (handlers/predict.ts) on function URL events, its models in s3rver as the
 * aggregator publishes them (models/NAME/VERSION.json and latest.json): answers, pinned versions,
 * and every bad request answered 4xx with one line, the environment serving on afterwards.
 */

const BUCKET = 'bspml-serve-test';
let s3: LocalS3;
let client: S3Client;
let handler: (event: unknown, context: Context) => Promise<unknown>;
const context = { awsRequestId: 'test', functionName: 'bspml-dev-predict' } as Context;

const iris = multinomialModel();
const ovr = svmOvrModel(4, ['setosa', 'versicolor', 'virginica']);
const older = { ...multinomialModel(4, ['setosa', 'versicolor', 'virginica'], 99), jobId: '20261201T000000Z-000000' };

async function put(key: string, body: unknown): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: JSON.stringify(body) }));
}

beforeAll(async () => {
  s3 = await startS3rver([BUCKET]);
  client = createS3Client({ endpoint: s3.endpoint });
  await put(`models/iris/${older.jobId}.json`, older);
  await put(`models/iris/${iris.jobId}.json`, iris);
  await put('models/iris/latest.json', iris);
  await put('models/churn/latest.json', binaryModel());
  await put('models/margins/latest.json', svmModel());
  await put('models/blobs/latest.json', kmeansModel());
  await put(`models/species-svm/${ovr.jobId}.json`, ovr);
  await put('models/species-svm/latest.json', ovr);
  await put('models/broken/latest.json', { algorithm: 'logreg', dims: 2 });
  process.env.BSPML_BUCKET = BUCKET;
  process.env.BSPML_S3_ENDPOINT = s3.endpoint;
  ({ handler } = await import('../../handlers/predict.js'));
}, 60_000);

afterAll(async () => {
  client?.destroy();
  await s3?.close();
  delete process.env.BSPML_BUCKET;
  delete process.env.BSPML_S3_ENDPOINT;
});

interface Answer {
  status: number;
  body: Record<string, any>;
}

async function call(options: Parameters<typeof functionUrlEvent>[0]): Promise<Answer> {
  const result = (await handler(functionUrlEvent(options), context)) as { statusCode: number; body: string; headers?: Record<string, string> };
  return { status: result.statusCode, body: JSON.parse(result.body) };
}

const rows = [
  [5.1, 3.5, 1.4, 0.2],
  [6.7, 3.0, 5.2, 2.3],
  [-1, 0.5, 2, 0],
];

describe('the predict function URL', () => {
  it('answers JSON rows with labels and probabilities from the latest model, as bspml predict computes them', async () => {
    // Act
    const answer = await call({ query: { model: 'iris' }, body: JSON.stringify({ rows }), contentType: 'application/json' });

    // Assess
    expect(answer.status).toBe(200);
    const reference = predictMultinomial(iris, Float32Array.from(rows.flat()), 3);
    expect(answer.body).toMatchObject({ model: 'iris', version: iris.jobId, algorithm: 'multinomial', classes: iris.classes, rows: 3 });
    expect(answer.body.labels).toEqual(Array.from(reference.label, (k) => iris.classes[k]));
    expect(answer.body.probabilities.flat()).toEqual(Array.from(reference.probabilities));
  });

  it('reads CSV with a header in any column order, without one by position, and rows as objects by name', async () => {
    // Prepare
    const header = 'f2,f0,f3,f1';
    const reordered = rows.map((r) => [r[2], r[0], r[3], r[1]].join(',')).join('\n');

    // Act
    const byJson = await call({ query: { model: 'iris' }, body: JSON.stringify({ rows }), contentType: 'application/json' });
    const withHeader = await call({ query: { model: 'iris' }, body: `${header}\n${reordered}\n`, contentType: 'text/csv' });
    const plain = await call({ query: { model: 'iris' }, body: rows.map((r) => r.join(',')).join('\r\n'), contentType: 'text/csv; charset=utf-8' });
    const objects = await call({ query: { model: 'iris' }, body: JSON.stringify({ rows: rows.map((r) => ({ f3: r[3], f1: r[1], f0: r[0], f2: r[2] })) }), contentType: 'application/json' });
    const named = await call({ query: { model: 'iris' }, body: JSON.stringify({ columns: ['f3', 'f2', 'f1', 'f0'], rows: rows.map((r) => [...r].reverse()) }), base64: true, contentType: 'application/json' });

    // Assess
    for (const answer of [withHeader, plain, objects, named]) {
      expect(answer.status).toBe(200);
      expect(answer.body.probabilities).toEqual(byJson.body.probabilities);
    }
  });

  it('serves a pinned version, and each kind of model', async () => {
    // Act
    const pinned = await call({ query: { model: 'iris', version: older.jobId }, body: JSON.stringify({ rows }) });
    const churn = await call({ query: { model: 'churn' }, body: JSON.stringify({ rows: [[1, 2, 3]] }) });
    const margins = await call({ query: { model: 'margins' }, body: JSON.stringify({ rows: [[1, 2, 3]] }) });
    const blobs = await call({ query: { model: 'blobs' }, body: 'x0,x1\n0,0\n3,-2\n', contentType: 'text/csv' });
    const info = await call({ method: 'GET', path: '/models/info', query: { model: 'iris' } });

    // Assess
    expect(pinned.status).toBe(200);
    expect(pinned.body.version).toBe(older.jobId);
    const reference = predictMultinomial(older, Float32Array.from(rows.flat()), 3);
    expect(pinned.body.probabilities.flat()).toEqual(Array.from(reference.probabilities));
    expect(churn.body).toMatchObject({ algorithm: 'logreg', classes: ['no', 'yes'], rows: 1 });
    expect(churn.body.probabilities[0]).toHaveLength(2);
    expect(margins.body).toMatchObject({ algorithm: 'svm', classes: [-1, 1] });
    expect(margins.body.labels[0]).toBe(margins.body.decision[0] >= 0 ? 1 : -1);
    expect(blobs.body).toMatchObject({ algorithm: 'kmeans', rows: 2 });
    expect(blobs.body.cluster).toHaveLength(2);
    expect(info.body).toEqual({ model: 'iris', version: iris.jobId, algorithm: 'multinomial', features: iris.featureNames, classes: iris.classes, maxRows: 10_000 });
  });

  it('serves a one-vs-rest SVM: the labels and a decision value per class, in classes order, as bspml predict computes them', async () => {
    // Act
    const answer = await call({ query: { model: 'species-svm' }, body: JSON.stringify({ rows }), contentType: 'application/json' });
    const csv = await call({ query: { model: 'species-svm', version: ovr.jobId }, body: `f3,f2,f1,f0\n${rows.map((r) => [...r].reverse().join(',')).join('\n')}\n`, contentType: 'text/csv' });
    const info = await call({ method: 'GET', path: '/models/info', query: { model: 'species-svm' } });

    // Assess
    expect(answer.status).toBe(200);
    const reference = predictSvmOvr(ovr, Float32Array.from(rows.flat()), 3);
    expect(answer.body).toMatchObject({ model: 'species-svm', version: ovr.jobId, algorithm: 'svm-ovr', classes: ovr.classes, rows: 3 });
    expect(answer.body.labels).toEqual(Array.from(reference.label, (k) => ovr.classes[k]));
    expect(answer.body.decision).toEqual([0, 1, 2].map((i) => Array.from(reference.decision.subarray(i * 3, i * 3 + 3))));
    expect(answer.body).not.toHaveProperty('probabilities');
    expect(csv.status).toBe(200);
    expect(csv.body.decision).toEqual(answer.body.decision);
    expect(info.body).toEqual({ model: 'species-svm', version: ovr.jobId, algorithm: 'svm-ovr', features: ovr.featureNames, classes: ovr.classes, maxRows: 10_000 });
  });

  /** Each bad request, the status it must get and what its one line must say. */
  const badRequests: [string, Parameters<typeof functionUrlEvent>[0], number, RegExp][] = [
    ['a row of the wrong width', { query: { model: 'iris' }, body: JSON.stringify({ rows: [[1, 2, 3]] }) }, 400, /^row 1: has 3 values; the model takes 4 features/],
    ['a row of the wrong width (one-vs-rest SVM)', { query: { model: 'species-svm' }, body: JSON.stringify({ rows: [[1, 2, 3, 4, 5]] }) }, 400, /^row 1: has 5 values; the model takes 4 features/],
    ['a value that is not a number (one-vs-rest SVM, CSV)', { query: { model: 'species-svm' }, body: 'f0,f1,f2,f3\n1,2,x,4\n', contentType: 'text/csv' }, 400, /^line 2, column "f2": not a finite number \(got "x"\)/],
    ['a CSV line of the wrong width', { query: { model: 'iris' }, body: '1,2,3,4\n1,2,3\n', contentType: 'text/csv' }, 400, /^line 2: has 3 fields; the model takes 4/],
    ['a value that is not a number', { query: { model: 'iris' }, body: JSON.stringify({ rows: [[1, 2, 'x', 4]] }) }, 400, /^row 1, column "f2": not a finite number \(got "x"\)/],
    ['a null value', { query: { model: 'iris' }, body: JSON.stringify({ rows: [[1, 2, null, 4]] }) }, 400, /column "f2": not a finite number \(got null\)/],
    ['a CSV field that is not a number', { query: { model: 'iris' }, body: 'f0,f1,f2,f3\n1,2,3,4\n1,abc,3,4\n', contentType: 'text/csv' }, 400, /^line 3, column "f1": not a finite number \(got "abc"\)/],
    ['a CSV field that is infinite', { query: { model: 'iris' }, body: '1,2,3,Infinity\n', contentType: 'text/csv' }, 400, /^line 1, column "f3": not a finite number/],
    ['too many rows', { query: { model: 'iris' }, body: JSON.stringify({ rows: Array.from({ length: 10_001 }, () => [1, 2, 3, 4]) }) }, 413, /^10001 rows: at most 10000 per request/],
    ['too many CSV lines', { query: { model: 'iris' }, body: '1,2,3,4\n'.repeat(10_001), contentType: 'text/csv' }, 413, /at most 10000 per request/],
    ['an unknown model version', { query: { model: 'iris', version: '20991231T000000Z-ffffff' }, body: JSON.stringify({ rows }) }, 404, /^model "iris": no version "20991231T000000Z-ffffff"/],
    ['an unknown model', { query: { model: 'nothing' }, body: JSON.stringify({ rows }) }, 404, /^model "nothing": no such model/],
    ['a version that could be a path', { query: { model: 'iris', version: '../latest' }, body: JSON.stringify({ rows }) }, 400, /^version "\.\.\/latest": not a model version/],
    ['a model name that leaves the prefix', { query: { model: '../state/x' }, body: JSON.stringify({ rows }) }, 400, /not a model name/],
    ['no model named', { body: JSON.stringify({ rows }) }, 400, /^no model: give \?model=NAME/],
    ['an unknown column name (JSON objects)', { query: { model: 'iris' }, body: JSON.stringify({ rows: [{ f0: 1, f1: 2, f2: 3, f3: 4, petal: 5 }] }) }, 400, /^row 1: unknown column "petal": the model's features are f0, f1, f2, f3/],
    ['an unknown column name (CSV header)', { query: { model: 'iris' }, body: 'f0,f1,f2,sepal\n1,2,3,4\n', contentType: 'text/csv' }, 400, /^columns: unknown column "sepal"/],
    ['an unknown column name ("columns")', { query: { model: 'iris' }, body: JSON.stringify({ columns: ['f0', 'f1', 'f2', 'g'], rows: [[1, 2, 3, 4]] }) }, 400, /unknown column "g"/],
    ['a missing column (JSON objects)', { query: { model: 'iris' }, body: JSON.stringify({ rows: [{ f0: 1, f1: 2, f2: 3 }] }) }, 400, /^row 1: has no column "f3"/],
    ['a column named twice', { query: { model: 'iris' }, body: 'f0,f1,f2,f3,f0\n1,2,3,4,5\n', contentType: 'text/csv' }, 400, /column "f0" is named twice/],
    ['a body that is not JSON', { query: { model: 'iris' }, body: '{"rows": [[1,2' }, 400, /^body is not valid JSON/],
    ['JSON without rows', { query: { model: 'iris' }, body: JSON.stringify({ data: rows }) }, 400, /^body must be a JSON object with "rows"/],
    ['a row that is a string', { query: { model: 'iris' }, body: JSON.stringify({ rows: ['1,2,3,4'] }) }, 400, /^row 1: not an array of numbers/],
    ['another content type', { query: { model: 'iris' }, body: 'rows', contentType: 'application/xml' }, 415, /^content type "application\/xml" is not accepted/],
    ['an unknown route', { path: '/train', query: { model: 'iris' }, body: '{}' }, 404, /^no such route/],
    // Powertools matches routes by method and path: another method is no route.
    ['a method the route does not take', { method: 'DELETE', query: { model: 'iris' } }, 404, /^no such route/],
  ];

  it.each(badRequests)('answers %s with a 4xx and one line', async (_, request, status, reason) => {
    // Act
    const answer = await call({ contentType: 'application/json', ...request });

    // Assess
    expect(answer.status).toBe(status);
    expect(Object.keys(answer.body)).toEqual(['error']);
    expect(answer.body.error).toMatch(reason);
    expect(answer.body.error).not.toContain('\n');
  });

  it('answers a stored model that does not parse with a 500 naming it, an event that is not HTTP with a 400, and serves on', async () => {
    // Act
    const broken = await call({ query: { model: 'broken' }, body: JSON.stringify({ rows: [[1, 2]] }) });
    const notHttp = (await handler({ Records: [] }, context)) as { statusCode: number; body: string };
    const after = await call({ query: { model: 'iris' }, body: JSON.stringify({ rows }) });

    // Assess
    expect(broken.status).toBe(500);
    expect(broken.body.error).toMatch(/^internal error: s3:\/\/bspml-serve-test\/models\/broken\/latest\.json: not a bspml model: featureNames/);
    expect(notHttp.statusCode).toBe(400);
    expect(after.status).toBe(200);
  });
});

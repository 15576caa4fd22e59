import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ESM_REQUIRE_BANNER, LAMBDA_ESBUILD } from '../../scripts/lambda-bundle.js';
import { functionUrlEvent } from '../helpers/function-url.js';

/*
 * The predict function bundled as serverless-esbuild bundles it (ESM, node24, minified), loaded
 * and invoked under Lambda's Node 24 (npm's `node@24`, as test/aws/node-runtime.test.ts does):
 * it loads without the training code, routes function URL events and answers refusals in one line.
 * Its load time is measured by `npm run bench:predict-bundle`, not here.
 */

const ROOT = resolve(import.meta.dirname, '../..');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bspml-predict24-'));
  await build({ ...LAMBDA_ESBUILD, banner: ESM_REQUIRE_BANNER, entryPoints: [join(ROOT, 'handlers/predict.ts')], outfile: join(dir, 'handlers/predict.mjs'), metafile: true }).then(async (result) => {
    // Only what predicting needs: no thread pool, kernels, stores, data formats, zod, nor the AWS SDK.
    const inputs = Object.keys(result.metafile.inputs);
    await writeFile(join(dir, 'inputs.json'), JSON.stringify(inputs));
  });
  const events = [
    functionUrlEvent({ path: '/train', query: { model: 'iris' }, body: '{}', contentType: 'application/json' }),
    functionUrlEvent({ query: { model: '../x' }, body: '{"rows":[]}', contentType: 'application/json' }),
    { Records: [] },
  ];
  await writeFile(
    join(dir, 'probe.mjs'),
    `const { handler } = await import('./handlers/predict.mjs');\nconst answers = [];\nfor (const event of ${JSON.stringify(events)}) answers.push(await handler(event, {}));\nconsole.log(JSON.stringify({ node: process.versions.node, answers }));\n`,
  );
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the predict bundle under Lambda\'s Node 24', () => {
  it('holds only the serving code, loads, and answers function URL events', async () => {
    // Act
    const { stdout } = await promisify(execFile)('npx', ['-y', '-p', 'node@24', 'node', join(dir, 'probe.mjs')], {
      cwd: dir,
      env: { ...process.env, BSPML_BUCKET: 'bucket', AWS_REGION: 'us-east-1' },
      timeout: 120_000,
    });

    // Assess
    const { node, answers } = JSON.parse(stdout.trim().split('\n').at(-1)!) as { node: string; answers: { statusCode: number; body: string }[] };
    expect(node).toMatch(/^24\./);
    expect(answers.map((a) => a.statusCode)).toEqual([404, 400, 400]);
    expect(JSON.parse(answers[1]!.body)).toEqual({ error: 'model "../x": not a model name (letters, digits, . _ - and /)' });
    const inputs = JSON.parse(await (await import('node:fs/promises')).readFile(join(dir, 'inputs.json'), 'utf8')) as string[];
    const ours = inputs.filter((f) => f.startsWith('src/')).sort();
    // The serving code, and of the rest only the prediction loops it shares with `bspml predict` (which import types only)
    // and the compiled model around them (src/algorithms/predictor.ts, below serve/ so that batch predictions' parsing
    // threads use it too), the WebAssembly kernels' loader with the softmax kernel's call, and the typed errors (src/errors.ts imports nothing).
    expect(ours.every((f) => /^src\/(serve\/|errors\.ts|util\/clients\.ts|domain\/results\.ts|algorithms\/(kmeans|logreg|svm)\/predict\.ts|algorithms\/(packRows|predictor)\.ts|kernels\/(backend|softmaxPredict)\.ts)/.test(f)), ours.join(', ')).toBe(true);
    expect(inputs.some((f) => /node_modules\/(zod|hyparquet|ioredis|vega|@aws-sdk|@smithy)\//.test(f))).toBe(false);
  }, 180_000);
});

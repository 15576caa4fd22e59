import type { Context } from 'aws-lambda';
import { createPredictApp } from '../src/serve/app.js';
import { ModelStore } from '../src/serve/modelStore.js';
import { createS3Getter } from '../src/serve/s3Get.js';

/*
 * The online predict function, behind a Lambda function URL with IAM auth (serverless.yml). Its
 * bundle holds Powertools' router, the model check and the predict loops: nothing of training, and
 * no AWS SDK (one signed GET: src/serve/s3Get.ts). Models are loaded once per environment and kept
 * by version (src/serve/modelStore.ts).
 */

const bucket = process.env.BSPML_BUCKET ?? '';
const store = new ModelStore(createS3Getter({ endpoint: process.env.BSPML_S3_ENDPOINT }), bucket, process.env.BSPML_MODEL_PREFIX ?? 'models/');
const app = createPredictApp(store, (line, error) => console.error(JSON.stringify({ level: 'ERROR', message: line, error: error instanceof Error ? error.message : String(error) })));

export async function handler(event: unknown, context: Context): Promise<unknown> {
  try {
    return await app.resolve(event, context);
  } catch (error) {
    // Not an HTTP event (a direct invoke): answered, never thrown, so nothing retries it.
    return { statusCode: 400, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: `not a function URL request: ${(error as Error).message}` }) };
  }
}

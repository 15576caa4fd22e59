import { NotFoundError, Router } from '@aws-lambda-powertools/event-handler/http';
import type { ServedModel } from './modelStore.js';
import { present } from './predictor.js';
import { MAX_ROWS_PER_REQUEST, parseRows, RequestError } from './request.js';

/*
 * The online endpoint's routes (Powertools' HTTP event handler, which reads a function URL's event
 * as API Gateway's payload 2.0):
 *
 *   POST /predict?model=NAME[&version=V]   body: JSON rows or CSV  →  200 {model, version, rows, labels, probabilities, …}
 *   GET  /models/info?model=NAME[&version=V]                        →  200 {model, version, algorithm, features, classes, maxRows}
 *
 * Every refusal is {"error": "<one line>"} with a 4xx status; an error of ours (S3 unreachable, a
 * stored model that does not parse) is a 500 with its one line, and the environment lives on.
 */

export interface ModelSource {
  get(name: string, version?: string): Promise<ServedModel>;
}

export function createPredictApp(models: ModelSource, log: (line: string, error?: unknown) => void = () => {}): Router {
  const app = new Router();

  app.post('/predict', async ({ req }) => {
    const served = await modelOf(models, req);
    const body = await req.text();
    const { rows, features } = parseRows(body, req.headers.get('content-type'), served.predictor);
    const predictions = present(served.predictor, served.predictor.run(features, rows), rows);
    return json(200, { model: served.name, version: served.version, algorithm: served.predictor.kind, ...(served.predictor.classes ? { classes: served.predictor.classes } : {}), ...predictions });
  });

  app.get('/models/info', async ({ req }) => {
    const { name, version, predictor } = await modelOf(models, req);
    return json(200, { model: name, version, algorithm: predictor.kind, features: predictor.featureNames, ...(predictor.classes ? { classes: predictor.classes } : {}), maxRows: MAX_ROWS_PER_REQUEST });
  });

  app.errorHandler(RequestError, async (error) => json(error.status, { error: error.message }));
  app.errorHandler(NotFoundError, async () => json(404, { error: 'no such route: POST /predict?model=NAME[&version=V], or GET /models/info?model=NAME' }));
  app.errorHandler(Error, async (error) => {
    log('predict: request failed', error);
    return json(500, { error: `internal error: ${error.message.split('\n')[0]}` });
  });
  return app;
}

async function modelOf(models: ModelSource, req: Request): Promise<ServedModel> {
  const query = new URL(req.url).searchParams;
  return models.get(query.get('model') ?? '', query.get('version') ?? undefined);
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

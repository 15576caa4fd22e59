import { createServer, type Server, type Socket } from 'node:net';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnsFanout } from '../../src/aws/SnsFanout.js';
import { SqsCompletion } from '../../src/aws/SqsCompletion.js';
import { MessagingError, StoreError } from '../../src/errors.js';
import { openStore, type Backend } from '../../src/emulators/open.js';
import { awsClientTimeouts } from '../../src/util/clients.js';

/*
 * Issue 12 defect 5: an endpoint that accepts connections but never answers must fail requests in
 * bounded time, with an error that names the endpoint, on every client (the stores' DynamoDB, Redis
 * and S3 clients, and SNS and SQS). BSPML_REQUEST_TIMEOUT_MS shortens the limit for the test.
 */

const TIMEOUT_MS = 300;
let silent: Server;
let endpoint: string;
const sockets = new Set<Socket>();
const saved = process.env.BSPML_REQUEST_TIMEOUT_MS;

beforeAll(async () => {
  process.env.BSPML_REQUEST_TIMEOUT_MS = String(TIMEOUT_MS);
  // Accepts every connection, reads everything, answers nothing: a paused server or a black hole.
  silent = createServer((socket) => {
    sockets.add(socket);
    socket.on('data', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const address = silent.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  endpoint = `127.0.0.1:${address.port}`;
});

afterAll(async () => {
  if (saved === undefined) delete process.env.BSPML_REQUEST_TIMEOUT_MS;
  else process.env.BSPML_REQUEST_TIMEOUT_MS = saved;
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => silent.close(() => resolve()));
});

// Concurrently: each test waits out its client's timeouts against a server that never answers.
describe.concurrent('defect 5: a silent endpoint fails requests in bounded time, naming the endpoint', () => {
  it.each<[Backend, (e: string) => { endpoint?: string; redisUrl?: string }]>([
    ['dynamodb', (e) => ({ endpoint: `http://${e}` })],
    ['redis', (e) => ({ redisUrl: `redis://${e}` })],
    ['s3', (e) => ({ endpoint: `http://${e}` })],
  ])('%s', async (backend, options) => {
    // Act
    const started = Date.now();
    const error = await openStore(backend, options(endpoint))
      .then(async (store) => {
        try {
          return await store.getJob('any');
        } finally {
          await store.close();
        }
      })
      .catch((err: unknown) => err);
    const elapsed = Date.now() - started;

    // Assess: three attempts of 300 ms each at most, plus back-off, far below a minute.
    expect(error).toBeInstanceOf(StoreError);
    expect((error as Error).message).toContain(endpoint);
    expect(elapsed).toBeLessThan(20_000);
  });

  it('SQS and SNS', async () => {
    // Prepare
    const local = { region: 'us-east-1', endpoint: `http://${endpoint}`, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
    const sqs = new SQSClient({ ...awsClientTimeouts(), ...local });
    const sns = new SNSClient({ ...awsClientTimeouts(), ...local });
    const completion = new SqsCompletion(sqs, `http://${endpoint}/000000000000/completions.fifo`);
    const fanout = new SnsFanout(sns, 'arn:aws:sns:us-east-1:000000000000:rounds');

    // Act
    const [sent, published] = await Promise.all([
      completion.send({ jobId: 'job-1', round: 0 }).catch((err: unknown) => err),
      fanout.publish([{ jobId: 'job-1', round: 0, shard: 0, shards: 1 }]).catch((err: unknown) => err),
    ]);
    sqs.destroy();
    sns.destroy();

    // Assess
    for (const error of [sent, published]) {
      expect(error).toBeInstanceOf(MessagingError);
      expect((error as Error).message).toContain(`http://${endpoint}`);
    }
    expect((sent as Error).message).toMatch(/^SQS SendMessage to /);
    expect((published as Error).message).toMatch(/^SNS PublishBatch to arn:aws:sns:us-east-1:000000000000:rounds at /);
  });
});

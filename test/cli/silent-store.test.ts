import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBspml } from '../helpers/cli.js';

/*
 * Issue 20 defect 4, as it was found: the DynamoDB emulator, a process of its own, SIGSTOPped once
 * the job's training rounds have begun. `bspml train` must end with one line naming the endpoint,
 * exit 1, within a few request timeouts (500 ms here, through BSPML_REQUEST_TIMEOUT_MS), instead of
 * staying silent through every retry (over 144 s at the default 10 s).
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TIMEOUT_MS = 500;
let emulator: ChildProcess;
let endpoint: string;
const saved = process.env.BSPML_REQUEST_TIMEOUT_MS;

beforeAll(async () => {
  const script = "import dynalite from 'dynalite'; const s = dynalite({ createTableMs: 0 }); s.listen(0, '127.0.0.1', () => console.log(s.address().port));";
  emulator = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve) => emulator.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().trim())));
  endpoint = `http://127.0.0.1:${port}`;
  process.env.BSPML_REQUEST_TIMEOUT_MS = String(TIMEOUT_MS);
});

afterAll(() => {
  if (saved === undefined) delete process.env.BSPML_REQUEST_TIMEOUT_MS;
  else process.env.BSPML_REQUEST_TIMEOUT_MS = saved;
  emulator?.kill('SIGCONT');
  emulator?.kill('SIGKILL');
});

describe('issue 20 defect 4: a DynamoDB endpoint that stops answering mid-job', () => {
  it('bspml train: exit 1, one line naming the endpoint, within a few request timeouts', { timeout: 60_000 }, async () => {
    // Prepare: a watcher that stops the emulator once a training round's metrics are stored.
    const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    let stoppedAt: number | undefined;
    const watching = (async () => {
      for (let i = 0; i < 2000 && stoppedAt === undefined; i++) {
        const page = await client.send(new ScanCommand({ TableName: 'bspml-state', FilterExpression: 'begins_with(sk, :r) AND #round >= :one', ExpressionAttributeNames: { '#round': 'round' }, ExpressionAttributeValues: { ':r': { S: 'ROUND#' }, ':one': { N: '1' } } })).catch(() => undefined);
        if (page?.Items?.length) {
          emulator.kill('SIGSTOP');
          stoppedAt = performance.now();
        } else await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();

    // Act
    const result = await runBspml(['train', 'logreg', '--data', 'data/classification.csv', '--solver', 'gd', '--lr', '0.01', '--tol', '0', '--max-rounds', '40000', '--workers', '2', '--threads', '1', '--backend', 'dynamodb', '--endpoint', endpoint, '--no-progress']);
    const ended = performance.now();
    await watching;
    client.destroy();

    // Assess
    expect(stoppedAt, result.stderr).toBeDefined();
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^bspml: error: state store \\w+ \\w+ on table bspml-state at ${endpoint.replace(/[.]/g, '\\.')} failed: TimeoutError: .*${TIMEOUT_MS} ms requestTimeout.*\\n$`));
    expect(ended - stoppedAt!).toBeLessThan(10 * TIMEOUT_MS);
  });
});

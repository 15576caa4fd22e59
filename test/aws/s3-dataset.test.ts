import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../src/aws/s3.js';
import { S3DatasetSource } from '../../src/aws/S3DatasetSource.js';
import { startS3rver, type LocalS3 } from '../../src/emulators/s3rver.js';
import { DESCRIBE_BYTES, planShards } from '../../src/data/dataset.js';
import { encodeBinary } from '../../src/data/formats/binary.js';
import { classLabelProblem } from '../../src/data/labels.js';
import { formatFloat32 } from '../../src/data/table.js';
import { DataError } from '../../src/errors.js';
import { Rng } from '../../src/util/random.js';
import { runBspml } from '../helpers/cli.js';

const BUCKET = 'data';
let s3: LocalS3;

beforeAll(async () => {
  s3 = await startS3rver([BUCKET]);
});

afterAll(async () => {
  await s3?.close();
});

/** A client of its own whose GET responses are counted from the HTTP Content-Length, per request. */
function countingClient(): { client: S3Client; gets: { key: string; range: string; bytes: number }[] } {
  const client = createS3Client({ endpoint: s3.endpoint });
  const gets: { key: string; range: string; bytes: number }[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const out = await next(args);
      if (context.commandName === 'GetObjectCommand') {
        const input = args.input as { Key: string; Range: string };
        const headers = (out.response as { headers: Record<string, string> }).headers;
        gets.push({ key: input.Key, range: input.Range, bytes: Number(headers['content-length']) });
      }
      return out;
    },
    { step: 'deserialize', name: 'countGetBytes' },
  );
  return { client, gets };
}

/** Lines of 5 values and a 0/1 label; the value widths vary, so lines straddle any boundary. */
function csvPart(rows: number, seed: number): string {
  const rng = new Rng(seed);
  const lines = ['a,b,c,d,e,y'];
  for (let r = 0; r < rows; r++) {
    const values = Array.from({ length: 5 }, () => formatFloat32(rng.normal() * 10 ** rng.int(4)));
    lines.push([...values, r % 2].join(','));
  }
  return `${lines.join('\n')}\n`;
}

async function put(key: string, body: string | Uint8Array): Promise<void> {
  const client = createS3Client({ endpoint: s3.endpoint });
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  client.destroy();
}

describe('S3 data sets (s3rver, the real SDK client)', () => {
  it('reads ≤ 64 KB per part to describe, and each worker only its ranges plus the end of one line', async () => {
    // Prepare: a prefix of three CSV parts (≈ 300 KB each), a marker and an empty object.
    const parts = [csvPart(4000, 1), csvPart(3500, 2), csvPart(4200, 3)];
    for (const [i, body] of parts.entries()) await put(`sets/big/part-0000${i}.csv`, body);
    await put('sets/big/_SUCCESS', '');
    await put('sets/big/part-00009.csv', '');
    const total = parts.reduce((s, p) => s + Buffer.byteLength(p), 0);
    const ref = { uri: `s3://${BUCKET}/sets/big/`, labelColumn: 'y' };
    const W = 4;

    // Act
    const start = countingClient();
    const layout = await new S3DatasetSource(start.client).describe(ref);
    const workers = Array.from({ length: W }, () => countingClient());
    const shards = await Promise.all(workers.map((w, s) => new S3DatasetSource(w.client).loadShard(layout, s, W)));

    // Assess
    expect(layout.parts.map((p) => p.name)).toEqual([0, 1, 2].map((i) => `s3://${BUCKET}/sets/big/part-0000${i}.csv`));
    const perPart = new Map<string, number>();
    for (const g of start.gets) perPart.set(g.key, (perPart.get(g.key) ?? 0) + g.bytes);
    expect(perPart.size).toBe(3);
    for (const bytes of perPart.values()) expect(bytes).toBeLessThanOrEqual(DESCRIBE_BYTES);
    const plan = planShards(layout, W);
    let read = start.gets.reduce((s, g) => s + g.bytes, 0);
    for (const [s, worker] of workers.entries()) {
      const ranges = plan[s]!.reduce((sum, p) => sum + (p.end - p.start), 0);
      const bytes = worker.gets.reduce((sum, g) => sum + g.bytes, 0);
      // Per piece: the byte before a mid-part start (is it a line start?) and at most one read
      // past the end, of ≤ 1 KB, to finish the last line (the lines here are < 100 bytes).
      expect(bytes, `worker ${s}`).toBeLessThanOrEqual(ranges + plan[s]!.length * (1 + 1024));
      read += bytes;
    }
    expect(read).toBeLessThanOrEqual(1.1 * total);
    expect(shards.reduce((n, s) => n + s.rows, 0)).toBe(4000 + 3500 + 4200);
    for (const c of [start, ...workers]) c.client.destroy();
  });

  it('fetches a long range as consecutive ranged GETs, several in flight: the same rows, no byte read twice', async () => {
    // Prepare: one ≈ 300 KB CSV part; requests of 16 KB, 3 at a time.
    const body = csvPart(4000, 4);
    await put('sets/one/part-00000.csv', body);
    const describer = countingClient();
    const layout = await new S3DatasetSource(describer.client).describe({ uri: `s3://${BUCKET}/sets/one/`, labelColumn: 'y' });
    const W = 2;
    const plan = planShards(layout, W);

    // Act
    const single = countingClient();
    const whole = await Promise.all([0, 1].map((s) => new S3DatasetSource(single.client).loadShard(layout, s, W)));
    const workers = Array.from({ length: W }, () => countingClient());
    const shards = await Promise.all(workers.map((w, s) => new S3DatasetSource(w.client, { requestBytes: 16 * 1024, parallel: 3 }).loadShard(layout, s, W)));

    // Assess
    for (const [s, shard] of shards.entries()) {
      expect(Array.from(shard.features)).toEqual(Array.from(whole[s]!.features));
      expect(Array.from(shard.positions)).toEqual(Array.from(whole[s]!.positions));
      const ranges = plan[s]!.reduce((sum, p) => sum + (p.end - p.start), 0);
      const gets = workers[s]!.gets;
      expect(gets.length).toBeGreaterThanOrEqual(Math.floor(ranges / (16 * 1024)));
      expect(gets.reduce((sum, g) => sum + g.bytes, 0)).toBeLessThanOrEqual(ranges + plan[s]!.length * (1 + 1024));
    }
    expect(shards.reduce((n, s) => n + s.rows, 0)).toBe(4000);
    for (const c of [describer, single, ...workers]) c.client.destroy();
  });

  it('reads a binary object by whole rows, and names the object and the row of a bad value', async () => {
    // Prepare
    const values = Float32Array.from({ length: 300 * 3 }, (_, i) => (i % 3 === 2 ? Math.floor(i / 3) % 2 : i));
    values[3 * 250 + 2] = -2;
    await put('sets/rows.bin', encodeBinary({ columns: ['a', 'b', 'y'], rows: 300, cols: 3, values, hasHeader: true, firstLine: 1 }));
    const { client, gets } = countingClient();
    const source = new S3DatasetSource(client);
    const uri = `s3://${BUCKET}/sets/rows.bin`;

    // Act
    const layout = await source.describe({ uri });
    const first = await source.loadShard(layout, 0, 3);
    const labelled = await source.describe({ uri, labelColumn: 'y' });
    const bad = await source.loadShard(labelled, 2, 3, { labelRule: classLabelProblem }).catch((e: unknown) => e);
    const missing = await source.describe({ uri: `s3://${BUCKET}/sets/none.csv` }).catch((e: unknown) => e);

    // Assess
    expect(first.rows).toBe(100);
    expect(Array.from(first.positions.subarray(0, 3))).toEqual([0, 1, 2]);
    expect(gets[1]!.range).toBe(`bytes=${layout.parts[0]!.dataOffset}-${layout.parts[0]!.dataOffset + 100 * 12 - 1}`);
    expect(bad).toBeInstanceOf(DataError);
    expect((bad as DataError).message).toBe(`${uri}: row 251, field "y": label -2 is not a class: labels must be integers 0 to 999`);
    expect((missing as DataError).message).toBe(`s3://${BUCKET}/sets/none.csv: no such object`);
    client.destroy();
  });

  it('trains from an s3:// prefix with bspml train --s3-endpoint', async () => {
    // Prepare
    await put('sets/cli/part-00000.csv', csvPart(300, 4));
    await put('sets/cli/part-00001.csv', csvPart(200, 5));

    // Act
    const result = await runBspml(['train', 'logreg', '--data', `s3://${BUCKET}/sets/cli/`, '--s3-endpoint', s3.endpoint, '--workers', '3', '--threads', '1', '--max-rounds', '2', '--no-progress']);

    // Assess
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/500 rows/);
  });
});

describe('bspml train from S3, bytes counted on the wire', () => {
  it('reads ≤ 1.1 × the data set for the whole job: metadata at start, each shard once by its worker', async () => {
    // Prepare: three ~200 KB parts, behind a proxy that counts every response body's bytes.
    const parts = [csvPart(2500, 11), csvPart(2000, 12), csvPart(2700, 13)];
    for (const [i, body] of parts.entries()) await put(`sets/wire/part-0000${i}.csv`, body);
    await put('sets/wire/_SUCCESS', '');
    const total = parts.reduce((s, p) => s + Buffer.byteLength(p), 0);
    const target = new URL(s3.endpoint);
    let gets = 0;
    let bytes = 0;
    const proxy = createServer((req, res) => {
      const upstream = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.on('data', (chunk: Buffer) => {
          if (req.method === 'GET' && req.url?.includes('part-')) bytes += chunk.length;
        });
        up.pipe(res);
      });
      if (req.method === 'GET' && req.url?.includes('part-')) gets++;
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;

    try {
      // Act
      const result = await runBspml(['train', 'kmeans', '--k', '3', '--data', `s3://${BUCKET}/sets/wire/`, '--s3-endpoint', endpoint, '--workers', '3', '--threads', '1', '--max-rounds', '3', '--no-progress']);

      // Assess
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/7,200 rows/);
      expect(gets).toBeGreaterThan(3);
      expect(bytes).toBeGreaterThanOrEqual(total);
      expect(bytes).toBeLessThanOrEqual(1.1 * total);
    } finally {
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  });
});

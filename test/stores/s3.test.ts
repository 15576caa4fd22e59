import { GetObjectCommand, ListObjectsCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreError } from '../../src/errors.js';
import { createS3Client } from '../../src/aws/s3.js';
import { startS3rver, type LocalS3 } from '../../src/emulators/s3rver.js';
import { S3Store } from '../../src/stores/S3Store.js';
import { enforceConditionalWrites, openS3Store } from '../../src/emulators/s3-local.js';
import { metered } from '../../src/util/io-meter.js';
import { expectBytes, makeJob, makeMetrics, pattern, stateStoreContract, uniqueJobId } from './contract.js';

const BUCKET = 'bspml-test';
let s3: LocalS3;
let inspect: S3Client;

beforeAll(async () => {
  s3 = await startS3rver([BUCKET]);
  enforceConditionalWrites(s3.server);
  inspect = createS3Client({ endpoint: s3.endpoint });
});

afterAll(async () => {
  inspect?.destroy();
  await s3?.close();
});

function openStore(options: { prefix?: string; listPageSize?: number; bucket?: string } = {}): S3Store {
  return new S3Store({ client: createS3Client({ endpoint: s3.endpoint }), bucket: options.bucket ?? BUCKET, prefix: options.prefix, listPageSize: options.listPageSize, ownsClient: true });
}

async function keysUnder(prefix: string): Promise<string[]> {
  const page = await inspect.send(new ListObjectsCommand({ Bucket: BUCKET, Prefix: prefix }));
  return (page.Contents ?? []).map((o) => o.Key!);
}

stateStoreContract('s3 (s3rver with conditional writes)', async () => openStore({ prefix: 'contract/' }));

describe('S3Store on s3rver', () => {
  it('lays out one object per record under the prefix, the job id URI-encoded', async () => {
    // Prepare: a '/' in the id must not make one job's keys a prefix of another's.
    const jobId = `${uniqueJobId()}/rounds`;
    const store = openStore({ prefix: 'layout/' });
    try {
      // Act
      await store.createJob(makeJob(jobId));
      await store.putModel(jobId, 0, pattern(10, 1));
      await store.putPartial(jobId, 0, 1, pattern(10, 2));
      await store.arrive(jobId, 0, 1, 8);
      await store.putRoundMetrics(jobId, makeMetrics(0));
      const keys = await keysUnder(`layout/jobs/${encodeURIComponent(jobId)}/`);

      // Assess
      const base = `layout/jobs/${jobId.replace('/', '%2F')}/`;
      expect(keys.sort()).toEqual(
        [
          'barrier/0000000000/arrived/1',
          'barrier/0000000000/ticket/0000000001',
          'job.json',
          'models/0000000000',
          'partials/0000000000/1',
          'rounds/0000000000.json',
        ].map((k) => base + k),
      );
    } finally {
      await store.close();
    }
  });

  it('arrives with 3 or 4 requests (marker, LIST, last ticket, next ticket) and answers a duplicate with 2', async () => {
    // Prepare
    const jobId = uniqueJobId();
    const store = openStore();
    try {
      // Act
      const first = await metered(() => store.arrive(jobId, 0, 4, 8));
      const second = await metered(() => store.arrive(jobId, 0, 5, 8));
      const duplicate = await metered(() => store.arrive(jobId, 0, 4, 8));

      // Assess
      expect([first.value, second.value, duplicate.value]).toEqual([
        // W = 8: groups {1,4,7} and {2,5} are not complete.
        { added: true, count: 1, groupFilled: false },
        { added: true, count: 2, groupFilled: false },
        { added: false, count: 2, groupFilled: false },
      ]);
      // The first arrival finds no ticket to read.
      expect([first.io.requests, second.io.requests, duplicate.io.requests]).toEqual([3, 4, 2]);
    } finally {
      await store.close();
    }
  });

  it('still completes a round whose filling arrival died between its marker and its ticket', async () => {
    // Prepare: shard 1 wrote its marker and crashed; shard 0 arrived normally.
    const jobId = uniqueJobId();
    const store = openStore();
    try {
      await store.arrive(jobId, 2, 0, 2);
      await inspect.send(new PutObjectCommand({ Bucket: BUCKET, Key: store.key(jobId, 'barrier/0000000002/arrived/1'), Body: '' }));

      // Act: the redelivered message for shard 1.
      const redelivered = await store.arrive(jobId, 2, 1, 2);
      const arrived = await store.arrivals(jobId, 2, 2);

      // Assess: a duplicate that sees the round full, which runWorker answers by re-sending the
      // completion while the job is still at this round; the recovery sweep sees no shard missing.
      expect(redelivered).toEqual({ added: false, count: 2, groupFilled: true });
      expect(arrived).toEqual([0, 1]);
    } finally {
      await store.close();
    }
  });

  it('gives 64 concurrent first arrivals the counts 1..64, duplicates none, in O(W) requests', async () => {
    // Prepare
    const jobId = uniqueJobId();
    const store = openStore();
    const shards = Array.from({ length: 64 }, (_, i) => i);
    try {
      // Act
      const { value: results, io } = await metered(() => Promise.all([...shards, ...shards.slice(0, 16)].map((shard) => store.arrive(jobId, 0, shard, shards.length))));

      // Assess
      const added = results.filter((r) => r.added);
      expect(added.map((r) => r.count).sort((a, b) => a - b)).toEqual(shards.map((s) => s + 1));
      expect(results.filter((r) => !r.added)).toHaveLength(16);
      expect(await store.arrivals(jobId, 0, shards.length)).toEqual(shards);
      // A counter claimed one slot at a time would need about 64²/2 = 2,048 writes here.
      expect(io.requests).toBeLessThan(64 * 12);
    } finally {
      await store.close();
    }
  });

  it('pages through LIST results with markers', async () => {
    // Prepare: pages of 2 keys.
    const jobId = uniqueJobId();
    const store = openStore({ listPageSize: 2 });
    try {
      for (const round of [4, 0, 3, 1, 2]) await store.putRoundMetrics(jobId, makeMetrics(round));
      for (const shard of [0, 1, 2, 3, 4]) await store.arrive(jobId, 0, shard, 5);

      // Act
      const { value: listed, io } = await metered(() => store.listRoundMetrics(jobId));
      const arrived = await store.arrivals(jobId, 0, 5);
      const duplicate = await store.arrive(jobId, 0, 2, 5);

      // Assess: 3 LIST pages and 5 GETs.
      expect(listed.map((m) => m.round)).toEqual([0, 1, 2, 3, 4]);
      expect(io.requests).toBe(8);
      expect(arrived).toEqual([0, 1, 2, 3, 4]);
      expect(duplicate).toEqual({ added: false, count: 5, groupFilled: true });
    } finally {
      await store.close();
    }
  });

  it('refuses a job update whose ETag went stale, re-reading before it decides', async () => {
    // Prepare: a writer around the store changes the record after the store has read it.
    const jobId = uniqueJobId();
    const store = openStore();
    const raw = async () => inspect.send(new GetObjectCommand({ Bucket: BUCKET, Key: store.key(jobId, 'job.json') }));
    try {
      await store.createJob(makeJob(jobId, { round: 1 }));
      const stale = (await raw()).ETag!;
      await store.updateJob(jobId, { round: 1, status: 'RUNNING' }, { recoveries: 1 });

      // Act
      const overwrite = await inspect
        .send(new PutObjectCommand({ Bucket: BUCKET, Key: store.key(jobId, 'job.json'), Body: '{}', IfMatch: stale }))
        .catch((err: unknown) => err);
      const missing = await inspect
        .send(new PutObjectCommand({ Bucket: BUCKET, Key: store.key(uniqueJobId(), 'job.json'), Body: '{}', IfMatch: stale }))
        .catch((err: unknown) => err);
      const applied = await Promise.all([
        store.updateJob(jobId, { round: 1, status: 'RUNNING' }, { round: 2 }),
        store.updateJob(jobId, { round: 1, status: 'RUNNING' }, { round: 2 }),
        store.updateJob(jobId, { round: 1, status: 'RUNNING' }, { round: 2 }),
      ]);

      // Assess
      expect(overwrite).toMatchObject({ name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });
      expect(missing).toMatchObject({ name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
      expect(applied.filter(Boolean)).toHaveLength(1);
      expect(await store.getJob(jobId)).toMatchObject({ round: 2, recoveries: 1 });
    } finally {
      await store.close();
    }
  });

  it('reads back a 900 KB partial written by a racing duplicate intact', async () => {
    // Prepare
    const jobId = uniqueJobId();
    const store = openStore();
    const other = openStore();
    try {
      // Act
      const raced = await Promise.all([store.putPartial(jobId, 0, 0, pattern(900 * 1024, 1)), other.putPartial(jobId, 0, 0, pattern(900 * 1024, 2))]);
      const [stored] = await other.getPartials(jobId, 0, 1);

      // Assess
      expect(raced.filter(Boolean)).toHaveLength(1);
      expectBytes(stored, raced[0] ? pattern(900 * 1024, 1) : pattern(900 * 1024, 2));
    } finally {
      await Promise.all([store.close(), other.close()]);
    }
  });

  it('wraps SDK errors in StoreError, keeping the SDK error as cause', async () => {
    // Prepare
    const store = openStore({ bucket: 'no-such-bucket' });
    try {
      // Act
      const error = await store.getJob(uniqueJobId()).catch((err: unknown) => err);

      // Assess
      expect(error).toBeInstanceOf(StoreError);
      expect(error).toMatchObject({ code: 'E_STORE', cause: { name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } } });
      expect((error as StoreError).message).toMatch(/getJob GetObject on s3:\/\/no-such-bucket\//);
    } finally {
      await store.close();
    }
  });

  it('opens a store on its own in-process s3rver, stopped on close', async () => {
    // Prepare
    const job = makeJob(uniqueJobId());
    const store = await openS3Store({ bucket: 'own-bucket' });

    // Act
    await store.createJob(job);
    const got = await store.getJob(job.jobId);
    const again = await store.createJob(job).catch((err: unknown) => err);
    await store.close();

    // Assess
    expect(store.kind).toBe('s3');
    expect(got).toEqual(job);
    expect(again).toMatchObject({ code: 'E_JOB_EXISTS' });
  });
});

describe('plain s3rver 3.7.1 (without enforceConditionalWrites)', () => {
  let plain: LocalS3;
  beforeAll(async () => {
    plain = await startS3rver([BUCKET]);
  });
  afterAll(async () => {
    await plain?.close();
  });

  it('ignores If-None-Match on PutObject: the second create overwrites the first', async () => {
    // Prepare
    const client = createS3Client({ endpoint: plain.endpoint });
    const put = (body: string) => client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'probe', Body: body, IfNoneMatch: '*' }));
    try {
      // Act
      await put('first');
      const second = await put('second').then(() => 'accepted', (err: unknown) => err);
      const stored = await (await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'probe' }))).Body!.transformToString();

      // Assess: what S3 would refuse with 412, s3rver accepts.
      expect(second).toBe('accepted');
      expect(stored).toBe('second');
    } finally {
      client.destroy();
    }
  });

  it('is refused by openS3Store, which probes for conditional writes', async () => {
    // Act
    const error = await openS3Store({ endpoint: plain.endpoint, bucket: BUCKET }).catch((err: unknown) => err);

    // Assess
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject({ code: 'E_STORE' });
    expect((error as StoreError).message).toMatch(/ignored If-None-Match/);
  });

  it('is accepted by openS3Store once conditional writes are enforced', async () => {
    // Prepare
    enforceConditionalWrites(plain.server);

    // Act
    const store = await openS3Store({ endpoint: plain.endpoint, bucket: BUCKET });
    await store.close();

    // Assess
    expect(store.bucket).toBe(BUCKET);
  });
});

import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { StateStore } from '../ports/StateStore.js';
import { ASSUMED_ROUNDS_PER_NODE_HOUR, AWS_BANDWIDTH_MB_PER_S, AWS_LATENCY_MS, PRICES } from '../costs/prices.js';
import { addIo, metered, type IoCounts } from '../util/io-meter.js';

export const BENCH_BACKENDS = ['memory', 'dynamodb', 'redis', 's3'] as const;
export type BenchBackend = (typeof BENCH_BACKENDS)[number];

export interface BenchOptions {
  backends: BenchBackend[];
  workers: number[];
  /** Partial sizes in bytes. */
  sizes: number[];
  /** Measured rounds per cell at most. */
  rounds: number;
  /** A cell stops after this much measuring time once it has `minRounds` rounds. */
  cellBudgetMs: number;
  minRounds: number;
  out: string;
  log: (line: string) => void;
}

export const DEFAULT_BENCH: Omit<BenchOptions, 'out' | 'log'> = {
  backends: [...BENCH_BACKENDS],
  workers: [1, 4, 16, 64],
  sizes: [1024, 64 * 1024, 512 * 1024],
  rounds: 20,
  cellBudgetMs: 2500,
  minRounds: 3,
};

/** Requests by kind, where the backend's price depends on the kind. */
interface Tally {
  s3Put: number;
  s3Get: number;
  s3List: number;
  dynamoWriteUnits: number;
  dynamoReadUnits: number;
}

export interface CellResult {
  backend: BenchBackend;
  workers: number;
  partialBytes: number;
  rounds: number;
  syncMs: { p50: number; p95: number; mean: number };
  /** Per round, all workers and the aggregator together. */
  perRound: IoCounts & Partial<Tally>;
  /** The most requests one worker made in a round (its putPartial and arrive, one after the other). */
  workerRequestsMax: number;
  aggregatorRequests: number;
  aws: { costPer1000RoundsUsd: number; costBasis: string; projectedSyncMs: number };
}

interface OpenedStore {
  store: StateStore;
  tally: () => Tally;
}

/**
 * `bspml bench backends`: the synchronisation part of a round, alone, on each backend. W simulated
 * workers at once each write a partial and arrive at the barrier; the one arrival that fills it
 * reads all W partials back, as the aggregator does. Each cell gets a fresh local server (dynalite,
 * redis-server, s3rver with conditional writes) and one store client shared by the W workers.
 */
export async function benchBackends(options: BenchOptions): Promise<{ cells: CellResult[]; skipped: string[]; file: string; chart: string }> {
  const cells: CellResult[] = [];
  const skipped: string[] = [];
  const started = performance.now();
  const backends = [...options.backends];
  if (backends.includes('redis')) {
    const { findRedisServer } = await import('../emulators/redis-server.js');
    if (!findRedisServer()) {
      backends.splice(backends.indexOf('redis'), 1);
      skipped.push('redis: redis-server is not installed (apt-get install -y redis-server)');
      options.log('bench: SKIPPING redis: redis-server is not on PATH');
    }
  }
  for (const backend of backends) {
    for (const workers of options.workers) {
      for (const size of options.sizes) {
        const cell = await runCell(backend, workers, size, options);
        cells.push(cell);
        options.log(
          `bench: ${backend.padEnd(8)} W=${String(workers).padStart(2)} ${formatSize(size).padStart(6)}: ${cell.rounds} rounds, sync p50 ${cell.syncMs.p50.toFixed(1)} ms, p95 ${cell.syncMs.p95.toFixed(1)} ms`,
        );
      }
    }
  }
  const elapsedS = (performance.now() - started) / 1000;
  await mkdir(options.out, { recursive: true });
  const file = join(options.out, 'backends.json');
  const chart = join(options.out, 'backends.svg');
  const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: `${process.platform} ${process.arch}` };
  await writeFile(
    file,
    `${JSON.stringify(
      {
        generatedAt: new Date().toISOString(),
        elapsedSeconds: Math.round(elapsedS),
        machine,
        settings: { rounds: options.rounds, minRounds: options.minRounds, cellBudgetMs: options.cellBudgetMs, workers: options.workers, sizes: options.sizes },
        caveat: 'Loopback figures from local emulators and servers on one machine: they rank request counts and protocol costs, not AWS latencies.',
        prices: PRICES,
        latencyAssumptions: { ...AWS_LATENCY_MS, bandwidthMBps: AWS_BANDWIDTH_MB_PER_S, roundsPerNodeHour: ASSUMED_ROUNDS_PER_NODE_HOUR },
        skipped,
        cells,
      },
      null,
      2,
    )}\n`,
  );
  await writeFile(chart, renderChart(cells, options.sizes));
  return { cells, skipped, file, chart };
}

async function runCell(backend: BenchBackend, workers: number, size: number, options: BenchOptions): Promise<CellResult> {
  const opened = await openBenchStore(backend);
  const { store } = opened;
  const jobId = `bench-${backend}-${workers}-${size}-${Date.now()}`;
  const partials = Array.from({ length: workers }, (_, shard) => fill(size, shard + 1));
  const times: number[] = [];
  const totals: IoCounts = { requests: 0, bytesWritten: 0, bytesRead: 0 };
  const tally: Tally = { s3Put: 0, s3Get: 0, s3List: 0, dynamoWriteUnits: 0, dynamoReadUnits: 0 };
  let workerMax = 0;
  let aggregator = 0;
  try {
    // Round 0 warms connections, scripts and caches; it is not measured.
    await syncRound(store, jobId, 0, partials);
    const before = opened.tally();
    const measuring = performance.now();
    for (let round = 1; round <= options.rounds; round++) {
      if (round > options.minRounds && performance.now() - measuring > options.cellBudgetMs) break;
      const t0 = performance.now();
      const io = await syncRound(store, jobId, round, partials);
      times.push(performance.now() - t0);
      for (const w of io.workers) addIo(totals, w);
      addIo(totals, io.aggregator);
      workerMax = Math.max(workerMax, ...io.workers.map((w) => w.requests));
      aggregator = Math.max(aggregator, io.aggregator.requests);
    }
    const after = opened.tally();
    for (const k of Object.keys(tally) as (keyof Tally)[]) tally[k] = after[k] - before[k];
  } finally {
    await store.close();
  }
  const rounds = times.length;
  const perRound: CellResult['perRound'] = {
    requests: totals.requests / rounds,
    bytesWritten: totals.bytesWritten / rounds,
    bytesRead: totals.bytesRead / rounds,
  };
  if (backend === 's3') Object.assign(perRound, { s3Put: tally.s3Put / rounds, s3Get: tally.s3Get / rounds, s3List: tally.s3List / rounds });
  if (backend === 'dynamodb') Object.assign(perRound, { dynamoWriteUnits: tally.dynamoWriteUnits / rounds, dynamoReadUnits: tally.dynamoReadUnits / rounds });
  const sorted = times.slice().sort((a, b) => a - b);
  return {
    backend,
    workers,
    partialBytes: size,
    rounds,
    syncMs: { p50: round1(quantile(sorted, 0.5)), p95: round1(quantile(sorted, 0.95)), mean: round1(sorted.reduce((a, b) => a + b, 0) / rounds) },
    perRound: Object.fromEntries(Object.entries(perRound).map(([k, v]) => [k, round1(v)])) as unknown as CellResult['perRound'],
    workerRequestsMax: workerMax,
    aggregatorRequests: aggregator,
    aws: projectAws(backend, workers, size, perRound, workerMax, aggregator),
  };
}

/** One round's synchronisation: W concurrent put + arrive, then the filling arrival reads all partials. */
async function syncRound(store: StateStore, jobId: string, round: number, partials: Uint8Array[]): Promise<{ workers: IoCounts[]; aggregator: IoCounts }> {
  const W = partials.length;
  const arrivals = await Promise.all(
    partials.map((bytes, shard) =>
      metered(async () => {
        await store.putPartial(jobId, round, shard, bytes);
        return store.arrive(jobId, round, shard, W);
      }),
    ),
  );
  const fillers = arrivals.filter((a) => a.value.added && a.value.count === W);
  if (fillers.length !== 1) throw new Error(`round ${round} on ${store.kind}: ${fillers.length} arrivals filled the barrier of ${W}, not exactly one`);
  const read = await metered(() => store.getPartials(jobId, round, W));
  read.value.forEach((bytes, shard) => {
    if (bytes.byteLength !== partials[shard]!.byteLength || bytes[0] !== partials[shard]![0]) throw new Error(`round ${round} on ${store.kind}: partial ${shard} came back wrong`);
  });
  return { workers: arrivals.map((a) => a.io), aggregator: read.io };
}

async function openBenchStore(backend: BenchBackend): Promise<OpenedStore> {
  const none = (): Tally => ({ s3Put: 0, s3Get: 0, s3List: 0, dynamoWriteUnits: 0, dynamoReadUnits: 0 });
  switch (backend) {
    case 'memory': {
      const { MemoryStore } = await import('../stores/MemoryStore.js');
      return { store: new MemoryStore(), tally: none };
    }
    case 'redis': {
      const { openRedisStore } = await import('../emulators/redis.js');
      return { store: await openRedisStore(), tally: none };
    }
    case 'dynamodb': {
      const { startDynalite } = await import('../emulators/dynalite.js');
      const { createDynamoDbClient } = await import('../aws/dynamodb.js');
      const { DynamoDbStore } = await import('../stores/DynamoDbStore.js');
      const { createStateTable } = await import('../stores/dynamodb/createTable.js');
      const server = await startDynalite();
      const client = createDynamoDbClient({ endpoint: server.endpoint });
      await createStateTable(client, 'bspml-bench');
      const tally = none();
      // Capacity units as DynamoDB bills them, computed by the emulator from each item's size.
      client.middlewareStack.add(
        (next) => async (args) => {
          const input = args.input as { ReturnConsumedCapacity?: string };
          input.ReturnConsumedCapacity = 'TOTAL';
          const out = await next(args);
          const consumed = (out.output as { ConsumedCapacity?: { CapacityUnits?: number } | { CapacityUnits?: number }[] }).ConsumedCapacity;
          const units = (Array.isArray(consumed) ? consumed : consumed ? [consumed] : []).reduce((n, c) => n + (c.CapacityUnits ?? 0), 0);
          if ('Item' in (args.input as object) || 'UpdateExpression' in (args.input as object)) tally.dynamoWriteUnits += units;
          else tally.dynamoReadUnits += units;
          return out;
        },
        { step: 'initialize', name: 'bspmlConsumedCapacity' },
      );
      return { store: new DynamoDbStore({ client, tableName: 'bspml-bench', ownsClient: true, onClose: server.close }), tally: () => ({ ...tally }) };
    }
    case 's3': {
      const { createS3Client } = await import('../aws/s3.js');
      const { startS3rver } = await import('../emulators/s3rver.js');
      const { enforceConditionalWrites } = await import('../emulators/s3-local.js');
      const { S3Store } = await import('../stores/S3Store.js');
      const server = await startS3rver(['bspml-bench']);
      enforceConditionalWrites(server.server);
      const client = createS3Client({ endpoint: server.endpoint });
      const tally = none();
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const command = context.commandName ?? '';
          if (command === 'PutObjectCommand') tally.s3Put++;
          else if (command.startsWith('List')) tally.s3List++;
          else tally.s3Get++;
          return next(args);
        },
        { step: 'initialize', name: 'bspmlRequestKinds' },
      );
      return { store: new S3Store({ client, bucket: 'bspml-bench', ownsClient: true, onClose: server.close }), tally: () => ({ ...tally }) };
    }
  }
}

/** AWS cost per 1,000 rounds from the request mix, and a sync time from assumed per-request latencies. */
function projectAws(backend: BenchBackend, W: number, size: number, perRound: IoCounts & Partial<Tally>, workerMax: number, aggregator: number): CellResult['aws'] {
  let cost = 0;
  let basis = '';
  switch (backend) {
    case 'memory':
      basis = 'in-process only: no AWS equivalent';
      break;
    case 'dynamodb':
      cost = 1000 * ((perRound.dynamoWriteUnits ?? 0) * PRICES.dynamoWriteUnit.usd + (perRound.dynamoReadUnits ?? 0) * PRICES.dynamoReadUnit.usd);
      basis = 'on-demand write and read units as the emulator counted them';
      break;
    case 's3':
      cost = 1000 * (((perRound.s3Put ?? 0) + (perRound.s3List ?? 0)) * PRICES.s3Put.usd + (perRound.s3Get ?? 0) * PRICES.s3Get.usd);
      basis = 'PUT+LIST and GET requests (storage for a few seconds is negligible)';
      break;
    case 'redis':
      cost = (1000 / ASSUMED_ROUNDS_PER_NODE_HOUR) * PRICES.elasticacheT4gSmallHour.usd;
      basis = `one cache.t4g.small node-hour amortised over ${ASSUMED_ROUNDS_PER_NODE_HOUR} rounds/hour (assumption); requests are free`;
      break;
  }
  // Critical path: a worker's requests one after another, then the aggregator's, whose parallel
  // lanes (S3: 16 GETs, DynamoDB: 4 batches, Redis: one MGET) overlap.
  const lanes = backend === 's3' ? 16 : backend === 'dynamodb' ? 4 : 1;
  const latency = AWS_LATENCY_MS[backend].perRequest;
  const transferMs = ((size + W * size) / (AWS_BANDWIDTH_MB_PER_S.value * 1e6)) * 1000;
  const projected = backend === 'memory' ? 0 : (workerMax + Math.ceil(aggregator / lanes)) * latency + transferMs;
  return { costPer1000RoundsUsd: Number(cost.toPrecision(3)), costBasis: basis, projectedSyncMs: round1(projected) };
}

/** Sync p50 against W (log-x, log-y), one panel per partial size, one line per backend. */
export function renderChart(cells: CellResult[], sizes: number[]): string {
  const colors: Record<BenchBackend, string> = { memory: '#7f7f7f', dynamodb: '#1f77b4', redis: '#d62728', s3: '#2ca02c' };
  const panelW = 300;
  const panelH = 240;
  const margin = { left: 56, right: 12, top: 40, bottom: 44 };
  const width = sizes.length * (panelW + margin.left + margin.right) + 120;
  const height = panelH + margin.top + margin.bottom + 20;
  const workers = [...new Set(cells.map((c) => c.workers))].sort((a, b) => a - b);
  const values = cells.map((c) => Math.max(c.syncMs.p50, 0.01));
  const yMin = 10 ** Math.floor(Math.log10(Math.min(...values, 1)));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(...values, 10)));
  const xMin = Math.log2(Math.min(...workers, 1));
  const xMax = Math.log2(Math.max(...workers, 2));
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`);
  parts.push(`<rect width="100%" height="100%" fill="white"/>`);
  parts.push(`<text x="10" y="16" font-size="13" font-weight="bold">Synchronisation time per round (p50, loopback) against concurrent workers W</text>`);
  sizes.forEach((size, p) => {
    const ox = p * (panelW + margin.left + margin.right) + margin.left;
    const oy = margin.top;
    const x = (w: number) => ox + ((Math.log2(w) - xMin) / (xMax - xMin || 1)) * panelW;
    const y = (ms: number) => oy + panelH - ((Math.log10(Math.max(ms, yMin)) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * panelH;
    parts.push(`<text x="${ox + panelW / 2}" y="${oy - 8}" text-anchor="middle" font-weight="bold">partial ${formatSize(size)}</text>`);
    parts.push(`<rect x="${ox}" y="${oy}" width="${panelW}" height="${panelH}" fill="none" stroke="#ccc"/>`);
    for (let e = Math.log10(yMin); e <= Math.log10(yMax); e++) {
      const ms = 10 ** e;
      parts.push(`<line x1="${ox}" x2="${ox + panelW}" y1="${y(ms)}" y2="${y(ms)}" stroke="#eee"/>`);
      parts.push(`<text x="${ox - 4}" y="${y(ms) + 4}" text-anchor="end">${ms >= 1 ? ms : ms.toFixed(Math.abs(e))} ms</text>`);
    }
    for (const w of workers) {
      parts.push(`<line x1="${x(w)}" x2="${x(w)}" y1="${oy}" y2="${oy + panelH}" stroke="#eee"/>`);
      parts.push(`<text x="${x(w)}" y="${oy + panelH + 14}" text-anchor="middle">${w}</text>`);
    }
    parts.push(`<text x="${ox + panelW / 2}" y="${oy + panelH + 30}" text-anchor="middle">W (log scale)</text>`);
    for (const backend of BENCH_BACKENDS) {
      const line = cells.filter((c) => c.backend === backend && c.partialBytes === size).sort((a, b) => a.workers - b.workers);
      if (!line.length) continue;
      const points = line.map((c) => `${x(c.workers).toFixed(1)},${y(c.syncMs.p50).toFixed(1)}`);
      parts.push(`<polyline points="${points.join(' ')}" fill="none" stroke="${colors[backend]}" stroke-width="2"/>`);
      for (const c of line) parts.push(`<circle cx="${x(c.workers).toFixed(1)}" cy="${y(c.syncMs.p50).toFixed(1)}" r="3" fill="${colors[backend]}"><title>${backend} W=${c.workers} ${formatSize(size)}: p50 ${c.syncMs.p50} ms, p95 ${c.syncMs.p95} ms</title></circle>`);
    }
  });
  const lx = width - 110;
  BENCH_BACKENDS.filter((b) => cells.some((c) => c.backend === b)).forEach((backend, i) => {
    parts.push(`<line x1="${lx}" x2="${lx + 20}" y1="${margin.top + 10 + i * 18}" y2="${margin.top + 10 + i * 18}" stroke="${colors[backend]}" stroke-width="2"/>`);
    parts.push(`<text x="${lx + 26}" y="${margin.top + 14 + i * 18}">${backend}</text>`);
  });
  parts.push(`<text x="10" y="${height - 6}" fill="#555">Loopback emulators and servers on one machine: a ranking of protocol costs, not AWS latencies.</text>`);
  parts.push('</svg>\n');
  return parts.join('\n');
}

/** The table the command prints. */
export function formatTable(cells: CellResult[]): string {
  const header = ['backend', 'W', 'partial', 'rounds', 'sync p50 ms', 'p95 ms', 'requests/round', 'KB written', 'KB read', 'AWS $/1k rounds', 'AWS sync ms (proj.)'];
  const rows = cells.map((c) => [
    c.backend,
    String(c.workers),
    formatSize(c.partialBytes),
    String(c.rounds),
    c.syncMs.p50.toFixed(1),
    c.syncMs.p95.toFixed(1),
    c.perRound.requests.toFixed(1),
    (c.perRound.bytesWritten / 1024).toFixed(0),
    (c.perRound.bytesRead / 1024).toFixed(0),
    c.backend === 'memory' ? '-' : c.aws.costPer1000RoundsUsd.toFixed(4),
    c.backend === 'memory' ? '-' : c.aws.projectedSyncMs.toFixed(0),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cols: string[]) => `| ${cols.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [line(header), `|${widths.map((w, i) => (i < 3 ? `${'-'.repeat(w + 2)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...rows.map(line)].join('\n');
}

function formatSize(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${bytes / (1024 * 1024)} MB` : bytes >= 1024 ? `${Math.round(bytes / 1024)} KB` : `${bytes} B`;
}

function quantile(sorted: number[], q: number): number {
  if (!sorted.length) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

/** Bytes that differ per shard, so a mix-up shows in the check after the read. */
function fill(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let x = seed * 2654435761 || 1;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  bytes[0] = seed & 0xff;
  return bytes;
}

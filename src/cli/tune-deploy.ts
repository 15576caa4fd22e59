import { threadsForMemory } from '../aws/config.js';
import type { Candidate, Strategy, TuneResult } from '../sim/tune.js';
import { int } from '../util/format.js';

/*
 * What `bspml tune` recommends, turned into what a person runs: the stack's deploy parameters and
 * the job spec (as NAME.job.json or `bspml submit` options). Kept apart from the sweep itself.
 */

/** A new account's most memory per function (Lambda quotas): tune stays within it unless told more. */
export const DEFAULT_MAX_MEMORY_MB = 3008;

export interface DeployAdviceOptions {
  /** The memory cap the sweep ran with (--max-memory). */
  maxMemoryMb: number;
  /** A data file given with --data, named in the submit line. */
  data?: string;
}

/** The job spec of a recommended configuration, as the stack reads it. */
export function jobSpecFor(result: TuneResult, c: Candidate): Record<string, unknown> {
  const j = result.job;
  return {
    algorithm: j.algorithm,
    ...(j.algorithm === 'kmeans' ? { k: j.k } : {}),
    workers: c.workers,
    // The stack gives each worker a thread per vCPU of its memory; only a different count is spelt out.
    ...(c.threads !== threadsForMemory(c.memoryMb) ? { threads: c.threads } : {}),
    maxRounds: j.rounds,
    // The design tune chose: lingering workers are spelt out (event is the default).
    ...(c.sync === 'linger' ? { sync: 'linger' } : {}),
    ...(j.backend !== 'dynamodb' && j.backend !== 'memory' ? { backend: j.backend } : {}),
  };
}

/** Lines to print under the sweep: the deploy command, the job spec, and the memory cap with how to lift it. */
export function deployAdvice(result: TuneResult, strategy: Strategy, options: DeployAdviceOptions): string {
  const c = result.recommended[strategy];
  const lines: string[] = [''];
  if (c) {
    const spec = jobSpecFor(result, c);
    const name = options.data ? options.data.replace(/^.*\//, '').replace(/\.[^.]*$/, '') : 'NAME';
    const flags = [
      `--algorithm ${spec.algorithm}`,
      ...(spec.k !== undefined ? [`--k ${spec.k}`] : []),
      `--workers ${spec.workers}`,
      ...(spec.threads !== undefined ? [`--threads ${spec.threads}`] : []),
      `--max-rounds ${spec.maxRounds}`,
      ...(spec.sync !== undefined ? [`--sync ${spec.sync}`] : []),
      ...(spec.backend !== undefined ? [`--backend ${spec.backend}`] : []),
    ];
    lines.push(
      `deploy (${strategy}: ${c.workers} workers × ${int(c.memoryMb)} MB; docs/deploy.md):`,
      `  npx serverless deploy --stage dev --param workerMemory=${c.memoryMb}`,
      `  bspml doctor --workers ${c.workers} --worker-memory ${c.memoryMb}    # checks the account first`,
      `job spec (datasets/${name}.job.json beside the data):`,
      `  ${JSON.stringify(spec)}`,
      `or: bspml submit --data s3://BUCKET/datasets/${name}${options.data ? options.data.replace(/^.*?(\.[^./]*)?$/, '$1') : '.csv'} ${flags.join(' ')}`,
    );
  }
  if (!c) lines.push(`nothing to deploy (${strategy}): ${result.none[strategy] ?? 'no configuration ran'}`);
  lines.push(
    options.maxMemoryMb <= DEFAULT_MAX_MEMORY_MB
      ? `memory capped at ${int(options.maxMemoryMb)} MB (--max-memory): a new account's limit per function. Once AWS Support (or Service Quotas) raises it, run tune with --max-memory 10240 to consider up to 6 vCPUs.`
      : `memory up to ${int(options.maxMemoryMb)} MB (--max-memory): deploy above 3,008 MB only once the account's limit is raised (bspml doctor warns).`,
  );
  return lines.join('\n');
}

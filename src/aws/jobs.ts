import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { JobStatus } from '../domain/job.js';
import { JOB_INDEXES } from '../stores/dynamodb/layout.js';
import { isJobOf } from './uploads.js';

/** A job as the state table's `jobs` index holds it: enough to list it, not its spec or result. */
export interface JobSummary {
  jobId: string;
  status: JobStatus;
  round: number;
  shards: number;
  createdAt: number;
  updatedAt: number;
  error?: string;
}

export interface JobFilter {
  status?: JobStatus;
  /** Only jobs of this data set (`datasets/NAME…`), by their ids. */
  data?: string;
  /** At most this many, newest first. */
  limit: number;
}

/**
 * Jobs newest first, from the state table's `jobs` index (every job record, keyed by creation
 * time): a Query that reads pages until `limit` jobs match, never a Scan of the table.
 */
export async function listJobs(client: Pick<DynamoDBClient, 'send'>, tableName: string, filter: JobFilter): Promise<JobSummary[]> {
  // The DynamoDB client's package loads here, not when the CLI starts (`bspml jobs` alone needs it).
  const { QueryCommand } = await import('@aws-sdk/client-dynamodb');
  const jobs: JobSummary[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: JOB_INDEXES.jobs,
        KeyConditionExpression: 'listed = :listed',
        ExpressionAttributeValues: { ':listed': { S: 'JOB' } },
        ScanIndexForward: false,
        Limit: Math.max(filter.limit, 25),
        ExclusiveStartKey: start as never,
      }),
    );
    for (const item of page.Items ?? []) {
      const job: JobSummary = {
        jobId: (item.pk?.S ?? '').replace(/^JOB#/, ''),
        status: item.status?.S as JobStatus,
        round: Number(item.round?.N ?? 0),
        shards: Number(item.shards?.N ?? 0),
        createdAt: Number(item.createdAt?.N ?? 0),
        updatedAt: Number(item.updatedAt?.N ?? 0),
        ...(item.error?.S ? { error: item.error.S } : {}),
      };
      if (filter.status && job.status !== filter.status) continue;
      if (filter.data !== undefined && !isJobOf(job.jobId, filter.data)) continue;
      jobs.push(job);
      if (jobs.length >= filter.limit) return jobs;
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return jobs;
}

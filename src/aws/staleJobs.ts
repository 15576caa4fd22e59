import { QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { JobStatus } from '../domain/job.js';
import { JOB_INDEXES } from '../stores/dynamodb/layout.js';

export interface StaleJob {
  jobId: string;
  status: JobStatus;
  updatedAt: number;
}

/**
 * Jobs still STARTING or RUNNING whose record has not changed since `before` (epoch ms): the
 * candidates for a recovery sweep. A Query of the state table's sparse `live` index, which holds
 * only live jobs' records keyed by their last change: it reads the stale live jobs and nothing
 * else, so its cost does not grow with the finished jobs the table keeps.
 */
export async function findStaleJobs(client: Pick<DynamoDBClient, 'send'>, tableName: string, before: number): Promise<StaleJob[]> {
  const jobs: StaleJob[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: JOB_INDEXES.live,
        KeyConditionExpression: 'live = :live AND updatedAt < :before',
        ExpressionAttributeValues: { ':live': { S: 'LIVE' }, ':before': { N: String(before) } },
        ExclusiveStartKey: start as never,
      }),
    );
    for (const item of page.Items ?? []) {
      const pk = item.pk?.S ?? '';
      jobs.push({ jobId: pk.replace(/^JOB#/, ''), status: item.status?.S as JobStatus, updatedAt: Number(item.updatedAt?.N) });
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return jobs.sort((a, b) => a.updatedAt - b.updatedAt);
}

import { ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { JobStatus } from '../protocol/types.js';

export interface StaleJob {
  jobId: string;
  status: JobStatus;
  updatedAt: number;
}

/**
 * Jobs still STARTING or RUNNING whose record has not changed since `before` (epoch ms): the
 * candidates for a recovery sweep. A Scan of the state table: its cost grows with the table, which
 * TTL keeps to about a week of jobs; a table holding many more would want an index on status.
 */
export async function findStaleJobs(client: Pick<DynamoDBClient, 'send'>, tableName: string, before: number): Promise<StaleJob[]> {
  const jobs: StaleJob[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: 'sk = :meta AND #status IN (:running, :starting) AND updatedAt < :before',
        ProjectionExpression: 'pk, #status, updatedAt',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':meta': { S: 'META' }, ':running': { S: 'RUNNING' }, ':starting': { S: 'STARTING' }, ':before': { N: String(before) } },
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

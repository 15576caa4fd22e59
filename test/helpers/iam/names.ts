import type { NameMap } from './check.js';
import type { ScenarioRun } from './scenario.js';

/** What the emulated run's table, bucket, queues and topic are in the template (serverless.yml's logical ids). */
export function scenarioNames(run: ScenarioRun): NameMap {
  return {
    tables: { [run.emulated.table]: 'StateTable' },
    buckets: { [run.emulated.bucket]: 'S3BucketData' },
    queues: { [run.emulated.queueUrl]: 'CompletionQueue', [run.emulated.dlqUrl]: 'CompletionDlq' },
    topics: { [run.emulated.topicArn]: 'RoundTopic' },
  };
}

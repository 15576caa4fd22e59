import type { NameMap } from './check.js';
import type { ScenarioOptions, ScenarioRun } from './scenario.js';
import type { Template } from './template.js';

/** What the emulated run's table, bucket, queues and topic are in the template (serverless.yml's logical ids). */
export function scenarioNames(run: ScenarioRun): NameMap {
  return {
    tables: { [run.emulated.table]: 'StateTable' },
    buckets: { [run.emulated.bucket]: 'S3BucketData' },
    queues: { [run.emulated.queueUrl]: 'CompletionQueue', [run.emulated.dlqUrl]: 'CompletionDlq', [run.emulated.backupQueueUrl]: 'BackupCheckQueue' },
    topics: { [run.emulated.topicArn]: 'RoundTopic', [run.emulated.predictTopicArn]: 'PredictTopic' },
  };
}

/** What the template's worker environment says the run must do as it does (its completion channel). */
export function scenarioOptionsOf(template: Template): ScenarioOptions {
  const env = (template.Resources.WorkerLambdaFunction?.Properties as { Environment?: { Variables?: Record<string, unknown> } } | undefined)?.Environment?.Variables ?? {};
  const trigger = env.BSPML_AGGREGATOR_TRIGGER;
  const name = env.BSPML_AGGREGATOR_FUNCTION;
  return {
    aggregatorTrigger: trigger === 'invoke' ? 'invoke' : 'sqs',
    ...(typeof name === 'string' ? { aggregatorFunction: name } : {}),
  };
}

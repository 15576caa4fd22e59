import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, type RunnerTestSuite } from 'vitest';
import { threadsForMemory } from '../../src/aws/config.js';
import { DEFAULT_DEPLOYMENT } from '../../src/costs/estimate.js';
import { sliceShard } from '../../src/data/types.js';
import { ThreadPool } from '../../src/inner/ThreadPool.js';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { PREDICT_BUNDLE_LIMIT } from '../../src/serve/bundle.js';
import { blobs } from '../helpers/data.js';
import { checkIam, iamDetails, iamSummary, UNRECORDED } from '../helpers/iam/check.js';
import { scenarioNames, scenarioOptionsOf } from '../helpers/iam/names.js';
import { runIamScenario } from '../helpers/iam/scenario.js';
import { ResolvedTemplate } from '../helpers/iam/template.js';
import { captureLogs, quietly } from '../helpers/logs.js';

/*
 * `serverless package` runs offline (osls + serverless-esbuild, no credentials, no network) once
 * for this file; the tests read the CloudFormation template it generates and the worker's zip.
 * The emulated pipeline the IAM check reads runs beside it, in this process. (The parameter tests'
 * `serverless print`s stay after it: started beside it too, the five processes cost more CPU than
 * they saved wall-clock time on a loaded 2-core machine.)
 */

type Template = { Resources: Record<string, { Type: string; Properties: Record<string, any>; DependsOn?: string[] }> };

const ROOT = resolve(import.meta.dirname, '../..');
/**
 * Zipped bundle limits. The worker carries, besides its handler, the thread bundle, both
 * WebAssembly builds and the data formats' readers (Parquet with its decompressors): ~610 KB.
 * The aggregator wires the data sources too (with the CSV block framer for parsing in threads): ~602 KB;
 * the start, which also checks a spec's data against where the stack may read, ~600 KB.
 */
// start: bigger since issue 19 (describe chooses columns; the CSV reader reads text labels and skips columns), issue 18 (barrier groups, tree merge, claims) and issue 21 (the data-sources check);
// every function bundles the stores, whose claims for lingering workers (--sync linger) added about 1.5 KB zipped;
// issue 24: the start resolves a predict job's model (the model check and the predict loops: 617 KB), and the
// predict worker carries the data plane, the predict loops and both WebAssembly builds (640 KB).
const BUNDLE_LIMITS: Record<string, number> = { start: 640_000, worker: 800_000, predictWorker: 680_000, workerFailed: 620_000, aggregator: 630_000, recover: 620_000, predict: PREDICT_BUNDLE_LIMIT };
// The IAM scenarios' handlers log every event (Powertools, pretty-printed under POWERTOOLS_DEV): about
// 30 MB a run of this file, captured here (test/helpers/logs.ts) rather than sent to the reporter.
captureLogs();
let out: string;
let workFolder: string;
let template: Template;
let workerZip: Buffer;
/** Each function's zip, by function name. */
const zips: Record<string, Buffer> = {};
/**
 * The options the IAM scenario below runs with: what the packaged template's worker environment
 * says (the default trigger); the IAM test checks that scenarioOptionsOf(template) is these.
 */
const SCENARIO_OPTIONS = { aggregatorTrigger: 'sqs', aggregatorFunction: 'bspml-dev-aggregator' } as const;
/** The emulated pipeline's run for the IAM test, made beside `serverless package` (a failure surfaces in that test). */
let scenario: Promise<Awaited<ReturnType<typeof runIamScenario>>>;

/** Whether the test of `suite` with this full name (its describes' names, then its own) is to run (not left out by -t, not skipped). */
function willRun(suite: Readonly<RunnerTestSuite>, fullName: string): boolean {
  return suite.tasks.some((task) => (task.type === 'suite' ? willRun(task, fullName) : task.fullTestName === fullName && (task.mode === 'run' || task.mode === 'only')));
}

beforeAll(async ({}, file) => {
  out = await mkdtemp(join(tmpdir(), 'bspml-sls-'));
  workFolder = `.esbuild-test-${randomBytes(4).toString('hex')}`;
  // With one data bucket of the user's: its grant is checked below, and the rest must not change.
  const packaged = promisify(execFile)(join(ROOT, 'node_modules/.bin/serverless'), ['package', '--package', out, '--param', 'dataBuckets=my-lake'], {
    cwd: ROOT,
    env: { ...process.env, BSPML_ESBUILD_WORK: workFolder, BSPML_BUCKET_NAME: 'bspml-template-test', SLS_TELEMETRY_DISABLED: '1' },
    timeout: 120_000,
  });
  // The IAM scenario's handlers log every event: dropped while it runs here (captureLogs covers tests only).
  scenario = willRun(file, `${IAM} > ${IAM_TEST}`) ? quietly(() => runIamScenario(SCENARIO_OPTIONS)) : Promise.reject(new Error('the IAM scenario was not run'));
  await Promise.all([packaged, scenario.catch(() => {})]);
  template = JSON.parse(await readFile(join(out, 'cloudformation-template-update-stack.json'), 'utf8')) as Template;
  workerZip = await readFile(join(out, 'worker.zip'));
  for (const name of FUNCTIONS) zips[name] = await readFile(join(out, `${name}.zip`));
}, 150_000);

afterAll(async () => {
  await rm(out, { recursive: true, force: true });
  await rm(join(ROOT, workFolder), { recursive: true, force: true });
});

function ofType(type: string) {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

function only(type: string, match: (properties: Record<string, any>) => boolean = () => true) {
  const found = ofType(type).filter(([, r]) => match(r.Properties));
  expect(found, `exactly one ${type}`).toHaveLength(1);
  return found[0]![1].Properties;
}

const getAtt = (resource: string) => ({ 'Fn::GetAtt': [resource, 'Arn'] });
/** A role's own inline policies, without the data-buckets one (conditional on --param dataBuckets, checked on its own). */
const ownPolicies = (r: { Properties: Record<string, any> }) => (r.Properties.Policies ?? []).filter((p: any) => p.PolicyDocument);
const FUNCTIONS = ['start', 'worker', 'predictWorker', 'workerFailed', 'aggregator', 'recover', 'predict'];
const isDataBucket = (p: Record<string, any>) => p.BucketName?.['Fn::Sub'] === 'bspml-template-test';

describe('the packaged CloudFormation template', () => {
  it('has the state table on demand, with TTL on expiresAt', () => {
    const table = template.Resources.StateTable!.Properties;
    expect(template.Resources.StateTable!.Type).toBe('AWS::DynamoDB::Table');
    expect(table.BillingMode).toBe('PAY_PER_REQUEST');
    expect(table.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(table.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
  });

  it('subscribes the worker to the round topic and the predict workers to the predict topic, and lets SNS invoke each from its own', () => {
    expect(template.Resources.RoundTopic!.Type).toBe('AWS::SNS::Topic');
    expect(template.Resources.PredictTopic!.Type).toBe('AWS::SNS::Topic');
    expect(ofType('AWS::SNS::Subscription').map(([, r]) => r.Properties).filter((p) => p.Protocol === 'lambda')).toEqual([
      { TopicArn: { Ref: 'RoundTopic' }, Protocol: 'lambda', Endpoint: getAtt('WorkerLambdaFunction') },
      { TopicArn: { Ref: 'PredictTopic' }, Protocol: 'lambda', Endpoint: getAtt('PredictWorkerLambdaFunction') },
    ]);
    const permissions = ofType('AWS::Lambda::Permission').map(([, r]) => r.Properties).filter((p) => p.Principal === 'sns.amazonaws.com');
    expect(permissions.map((p) => [p.FunctionName, p.Action, p.SourceArn])).toEqual([
      [getAtt('WorkerLambdaFunction'), 'lambda:InvokeFunction', { Ref: 'RoundTopic' }],
      [getAtt('PredictWorkerLambdaFunction'), 'lambda:InvokeFunction', { Ref: 'PredictTopic' }],
    ]);
  });

  it('sends failed asynchronous worker and predict worker invocations, after two retries, to the on-failure function', () => {
    for (const worker of ['WorkerLambdaFunction', 'PredictWorkerLambdaFunction']) {
      expect(only('AWS::Lambda::EventInvokeConfig', (p) => p.FunctionName.Ref === worker)).toMatchObject({
        FunctionName: { Ref: worker },
        MaximumRetryAttempts: 2,
        DestinationConfig: { OnFailure: { Destination: getAtt('WorkerFailedLambdaFunction') } },
      });
    }
  });

  it('feeds the aggregator from a FIFO queue with a dead-letter queue, reporting partial batch failures', () => {
    const queue = template.Resources.CompletionQueue!.Properties;
    expect(queue).toMatchObject({ FifoQueue: true, ContentBasedDeduplication: false });
    expect(queue.QueueName).toMatch(/\.fifo$/);
    expect(queue.RedrivePolicy).toEqual({ deadLetterTargetArn: getAtt('CompletionDlq'), maxReceiveCount: 3 });
    expect(template.Resources.CompletionDlq!.Properties).toMatchObject({ FifoQueue: true });
    // The aggregator fails the job on the receive the redrive policy makes the last.
    expect(template.Resources.AggregatorLambdaFunction!.Properties.Environment.Variables.BSPML_MAX_RECEIVES).toBe('3');
    expect(only('AWS::Lambda::EventSourceMapping', (p) => JSON.stringify(p.EventSourceArn) === JSON.stringify(getAtt('CompletionQueue')))).toMatchObject({
      EventSourceArn: getAtt('CompletionQueue'),
      FunctionName: getAtt('AggregatorLambdaFunction'),
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('feeds the aggregator its delayed backup checks from a standard queue, used only with backupTasks=on', () => {
    const queue = template.Resources.BackupCheckQueue!.Properties;
    expect(queue.FifoQueue).toBeUndefined();
    expect(ofType('AWS::Lambda::EventSourceMapping')).toHaveLength(2);
    expect(only('AWS::Lambda::EventSourceMapping', (p) => JSON.stringify(p.EventSourceArn) === JSON.stringify(getAtt('BackupCheckQueue')))).toMatchObject({
      FunctionName: getAtt('AggregatorLambdaFunction'),
    });
    expect(template.Resources.AggregatorLambdaFunction!.Properties.Environment.Variables).toMatchObject({ BSPML_BACKUP_TASKS: 'off', BSPML_BACKUP_QUEUE_URL: { Ref: 'BackupCheckQueue' } });
  });

  it('sends every upload under datasets/ and every predictions/…job.json to the start function (it picks formats in any case), with S3 allowed to invoke it', () => {
    const bucket = only('AWS::S3::Bucket', isDataBucket);
    expect(bucket.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    const rules = bucket.NotificationConfiguration.LambdaConfigurations.map((c: any) => ({
      event: c.Event,
      function: c.Function,
      rules: c.Filter.S3Key.Rules,
    }));
    // S3 suffix filters are case-sensitive and may not overlap: one prefix rule, and src/aws/uploads.ts decides.
    // Predict specs by prefix and suffix: the parts predict jobs write below predictions/ start nothing.
    expect(rules).toEqual([
      { event: 's3:ObjectCreated:*', function: getAtt('StartLambdaFunction'), rules: [{ Name: 'prefix', Value: 'datasets/' }] },
      { event: 's3:ObjectCreated:*', function: getAtt('StartLambdaFunction'), rules: [{ Name: 'prefix', Value: 'predictions/' }, { Name: 'suffix', Value: '.job.json' }] },
    ]);
    const permission = only('AWS::Lambda::Permission', (p) => p.Principal === 's3.amazonaws.com');
    expect(permission.FunctionName).toEqual(getAtt('StartLambdaFunction'));
    expect(permission.SourceArn).toEqual({ 'Fn::Sub': 'arn:${AWS::Partition}:s3:::bspml-template-test' });
  });

  it('runs the recovery sweep every 5 minutes', () => {
    const rule = only('AWS::Events::Rule');
    expect(rule.ScheduleExpression).toBe('rate(5 minutes)');
    expect(rule.Targets).toEqual([expect.objectContaining({ Arn: getAtt('RecoverLambdaFunction') })]);
    expect(only('AWS::Lambda::Permission', (p) => p.Principal === 'events.amazonaws.com').FunctionName).toEqual(getAtt('RecoverLambdaFunction'));
  });

  it('runs every function on nodejs24.x, arm64, with JSON logs, at most 3,008 MB and no reserved concurrency', () => {
    const functions = ofType('AWS::Lambda::Function');
    expect(functions).toHaveLength(FUNCTIONS.length);
    for (const [name, f] of functions) {
      const p = f.Properties;
      expect([name, p.Runtime, p.Architectures]).toEqual([name, 'nodejs24.x', ['arm64']]);
      expect(p.MemorySize, name).toBeLessThanOrEqual(3008);
      expect(p.ReservedConcurrentExecutions, name).toBeUndefined();
      expect(p.LoggingConfig, name).toEqual({ LogFormat: 'JSON', ApplicationLogLevel: 'INFO', SystemLogLevel: 'WARN' });
      expect(p.TracingConfig, name).toBeUndefined();
      // No silenced runtime warnings, no source maps to enable.
      expect(JSON.stringify(p.Environment), name).not.toMatch(/WARNING_DISABLED|enable-source-maps/);
      expect(p.Environment.Variables, name).toMatchObject({ POWERTOOLS_SERVICE_NAME: 'bspml-dev', POWERTOOLS_METRICS_NAMESPACE: 'bspml' });
      // The cost guard's cap and the SDK's request timeout, at their defaults unless deployed with others.
      expect(p.Environment.Variables, name).toMatchObject({ BSPML_MAX_WORKER_ROUNDS: '100000', BSPML_REQUEST_TIMEOUT_MS: '10000' });
    }
    // The start function reads metadata only.
    expect(template.Resources.StartLambdaFunction!.Properties.MemorySize).toBe(512);
  });

  it('ships one minified bundle per function, each well under 1 MB zipped, with no source map', () => {
    const sizes = Object.fromEntries(FUNCTIONS.map((name) => [name, zips[name]!.byteLength]));
    for (const [name, bytes] of Object.entries(sizes)) {
      expect(bytes, `${name}.zip`).toBeLessThan(BUNDLE_LIMITS[name]!);
      expect(zips[name]!.includes('.map'), `${name}.zip has a source map`).toBe(false);
    }
  });

  it('has a sparse index of live jobs for the sweep and an index of all jobs for listing', () => {
    const table = template.Resources.StateTable!.Properties;
    expect(table.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: 'live',
        KeySchema: [{ AttributeName: 'live', KeyType: 'HASH' }, { AttributeName: 'updatedAt', KeyType: 'RANGE' }],
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['status'] },
      },
      {
        IndexName: 'jobs',
        KeySchema: [{ AttributeName: 'listed', KeyType: 'HASH' }, { AttributeName: 'createdAt', KeyType: 'RANGE' }],
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['status', 'round', 'shards', 'updatedAt', 'error'] },
      },
    ]);
    // The sweep may query the live index and nothing scans the table.
    const statements = ofType('AWS::IAM::Role').flatMap(([, r]) => ownPolicies(r).flatMap((p: any) => p.PolicyDocument.Statement));
    expect(statements.flatMap((s: any) => [s.Action].flat())).not.toContain('dynamodb:Scan');
    expect(statements.find((s: any) => s.Action === 'dynamodb:Query').Resource).toEqual({ 'Fn::Sub': '${StateTable.Arn}/index/live' });
  });

  it('alarms on dead-lettered completions and on FAILED jobs, to an alarm topic', () => {
    const alarms = Object.fromEntries(ofType('AWS::CloudWatch::Alarm').map(([name, a]) => [name, a.Properties]));
    expect(alarms.CompletionDlqAlarm).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['CompletionDlq', 'QueueName'] } }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [{ Ref: 'AlarmTopic' }],
    });
    expect(alarms.FailedJobsAlarm).toMatchObject({
      Namespace: 'bspml',
      MetricName: 'JobsFailed',
      Dimensions: [{ Name: 'service', Value: 'bspml-dev' }],
      Statistic: 'Sum',
      AlarmActions: [{ Ref: 'AlarmTopic' }],
    });
    expect(template.Resources.AlarmEmailSubscription!).toMatchObject({ Condition: 'HasAlarmEmail' });
  });

  it('outputs what the CLI reads: the bucket, the table and the start function', () => {
    const outputs = (template as unknown as { Outputs: Record<string, { Value: unknown }> }).Outputs;
    expect(outputs.DataBucket!.Value).toEqual({ 'Fn::Sub': 'bspml-template-test' });
    expect(outputs.StateTableName!.Value).toEqual({ Ref: 'StateTable' });
    expect(outputs.StartFunction!.Value).toBe('bspml-dev-start');
  });

  it('gives the worker 3,008 MB (2 threads) and ships its thread bundle where BSPML_THREAD_ENTRY points', () => {
    const worker = template.Resources.WorkerLambdaFunction!.Properties;
    expect(worker.MemorySize).toBe(3008);
    // The cost estimates (bspml status, run reports) assume the stack's defaults.
    expect(DEFAULT_DEPLOYMENT.workerMemoryMb).toBe(worker.MemorySize);
    expect(DEFAULT_DEPLOYMENT.aggregatorMemoryMb).toBe(template.Resources.AggregatorLambdaFunction!.Properties.MemorySize);
    expect(worker.Environment.Variables.BSPML_THREADS).toBe('2');
    expect(worker.Environment.Variables.BSPML_THREAD_ENTRY).toBe('/var/task/.bspml-lambda/thread.mjs');
    // Zip entries keep their names uncompressed in the archive's headers.
    expect(workerZip.includes('.bspml-lambda/thread.mjs')).toBe(true);
    expect(workerZip.includes('handlers/worker.mjs')).toBe(true);
    // The kernels' WebAssembly ships when it has been built (else the threads use TypeScript loops).
    expect(worker.Environment.Variables.BSPML_WASM_FILE).toBe('/var/task/src/kernels/wasm/kernels.wasm');
    expect(workerZip.includes('src/kernels/wasm/kernels.wasm')).toBe(existsSync(join(ROOT, 'src/kernels/wasm/kernels.wasm')));
    expect(workerZip.includes('src/kernels/wasm/kernels-simd128.wasm')).toBe(existsSync(join(ROOT, 'src/kernels/wasm/kernels-simd128.wasm')));
  });

  it('gives every function its own role, and no data-plane statement a wildcard resource', () => {
    const functions = ofType('AWS::Lambda::Function');
    expect(functions.map(([name, f]) => [name, f.Properties.Role])).toEqual(
      ['Start', 'Worker', 'PredictWorker', 'WorkerFailed', 'Aggregator', 'Recover', 'Predict'].map((name) => [`${name}LambdaFunction`, getAtt(`${name}Role`)]),
    );
    const statements = ofType('AWS::IAM::Role').flatMap(([role, r]) =>
      ownPolicies(r).flatMap((p: any) => p.PolicyDocument.Statement.map((s: any) => ({ role, ...s }))),
    );
    expect(statements.length).toBeGreaterThan(10);
    for (const s of statements) {
      const resources = [s.Resource].flat();
      expect(resources, `${s.role}: ${[s.Action].flat().join(', ')}`).not.toContain('*');
      // Nor a wildcard standing for a whole service, region, account or bucket list.
      for (const r of resources) expect(JSON.stringify(r)).not.toMatch(/:::\*|:\*:|"\*"/);
    }
    const actions = (role: string) => statements.filter((s) => s.role === role).flatMap((s) => [s.Action].flat()).sort();
    expect(actions('WorkerRole')).toEqual(
      // DeleteItem, BatchWriteItem, sns:Publish and the second s3:PutObject (models/): a lingering job's inline aggregation.
      ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'lambda:InvokeFunction', 'logs:CreateLogStream', 'logs:PutLogEvents', 's3:DeleteObject', 's3:GetObject', 's3:GetObject', 's3:GetObjectVersion', 's3:ListBucket', 's3:PutObject', 's3:PutObject', 'sns:Publish', 'sqs:SendMessage'],
    );
    expect(actions('RecoverRole')).toEqual(['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem', 'logs:CreateLogStream', 'logs:PutLogEvents', 's3:GetObject', 's3:ListBucket', 'sns:Publish', 'sqs:SendMessage']);
    expect(actions('WorkerFailedRole')).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem', 'logs:CreateLogStream', 'logs:PutLogEvents']);
    const modelWrite = statements.find((s) => s.role === 'AggregatorRole' && s.Action === 's3:PutObject');
    expect(modelWrite.Resource).toEqual({ 'Fn::Sub': 'arn:${AWS::Partition}:s3:::bspml-template-test/models/*' });
  });

  it('lets exactly the functions that touch S3-backed jobs\' data plane read, write and list state/ in the data bucket, and no more', () => {
    const statements = ofType('AWS::IAM::Role').flatMap(([role, r]) =>
      ownPolicies(r).flatMap((p: any) => p.PolicyDocument.Statement.map((s: any) => ({ role, actions: [s.Action].flat().sort(), resource: s.Resource, condition: s.Condition }))),
    );
    const objects = { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::bspml-template-test/state/*' };
    const onState = statements.filter((s) => JSON.stringify(s.resource) === JSON.stringify(objects)).map((s) => [s.role, s.actions]);
    expect(onState).toEqual([
      ['WorkerRole', ['s3:DeleteObject', 's3:GetObject', 's3:PutObject']],
      ['AggregatorRole', ['s3:DeleteObject', 's3:GetObject', 's3:PutObject']],
      ['RecoverRole', ['s3:GetObject']],
    ]);
    // LIST (the barrier's markers and tickets) only below state/: other prefixes stay unlistable.
    const listing = statements.filter((s) => s.actions.includes('s3:ListBucket') && JSON.stringify(s.condition).includes('state/'));
    expect(listing.map((s) => [s.role, s.resource, s.condition])).toEqual(
      ['WorkerRole', 'AggregatorRole', 'RecoverRole'].map((role) => [role, { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::bspml-template-test' }, { StringLike: { 's3:prefix': 'state/*' } }]),
    );
    // The bucket expires job state as the table's TTL expires job items.
    const bucket = only('AWS::S3::Bucket', isDataBucket);
    expect(bucket.LifecycleConfiguration.Rules).toContainEqual({ Id: 'expire-job-state', Status: 'Enabled', Prefix: 'state/', ExpirationInDays: 7 });
  });

  it('gives the functions the state prefix and an empty Redis endpoint, and no VPC, unless deployed with them', () => {
    const functions = ofType('AWS::Lambda::Function');
    for (const [name, f] of functions) {
      expect(f.Properties.Environment.Variables, name).toMatchObject({ BSPML_STATE_PREFIX: 'state/', BSPML_REDIS_URL: '' });
    }
    // Both lists empty: the condition is false, and VpcConfig and the VPC access policy resolve to AWS::NoValue.
    const conditions = (template as unknown as { Conditions: Record<string, unknown> }).Conditions;
    expect(conditions.HasVpc).toEqual({ 'Fn::And': [{ 'Fn::Not': [{ 'Fn::Equals': ['', ''] }] }, { 'Fn::Not': [{ 'Fn::Equals': ['', ''] }] }] });
    const inVpc = functions.filter(([, f]) => f.Properties.VpcConfig !== undefined).map(([name, f]) => [name, f.Properties.VpcConfig['Fn::If'][0]]);
    expect(inVpc).toEqual(['Start', 'Worker', 'Aggregator', 'Recover'].map((name) => [`${name}LambdaFunction`, 'HasVpc']));
    expect(template.Resources.WorkerRole!.Properties.ManagedPolicyArns).toEqual([
      { 'Fn::If': ['HasVpc', { 'Fn::Sub': 'arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole' }, { Ref: 'AWS::NoValue' }] },
      { 'Fn::If': ['HasTracing', { 'Fn::Sub': 'arn:${AWS::Partition}:iam::aws:policy/AWSXRayDaemonWriteAccess' }, { Ref: 'AWS::NoValue' }] },
    ]);
  });

  it('serves predictions behind a function URL with IAM auth, from a role that reads models/ and nothing else', () => {
    // The URL: IAM-signed callers only, and no resource policy opening it to anyone.
    expect(only('AWS::Lambda::Url')).toEqual({ AuthType: 'AWS_IAM', TargetFunctionArn: getAtt('PredictLambdaFunction') });
    const permissions = ofType('AWS::Lambda::Permission').map(([, r]) => r.Properties);
    expect(permissions.filter((p) => JSON.stringify(p.FunctionName).includes('"PredictLambdaFunction"'))).toEqual([]);
    expect(permissions.some((p) => p.Principal === '*' || p.FunctionUrlAuthType === 'NONE')).toBe(false);
    const predict = template.Resources.PredictLambdaFunction!.Properties;
    expect(predict).toMatchObject({ Handler: 'handlers/predict.handler', MemorySize: 1024, Timeout: 30, Role: getAtt('PredictRole') });
    expect(predict.VpcConfig).toBeUndefined();
    // Least privilege: read models/ (and list it, so an unknown version is a 404), write its own logs.
    const statements = template.Resources.PredictRole!.Properties.Policies.flatMap((p: any) => p.PolicyDocument.Statement);
    expect(statements.map((s: any) => ({ actions: [s.Action].flat(), resource: s.Resource, ...(s.Condition ? { condition: s.Condition } : {}) }))).toEqual([
      { actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resource: { 'Fn::Sub': 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/bspml-dev-predict:*' } },
      { actions: ['s3:GetObject'], resource: { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::bspml-template-test/models/*' } },
      { actions: ['s3:ListBucket'], resource: { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::bspml-template-test' }, condition: { StringLike: { 's3:prefix': 'models/*' } } },
    ]);
    expect(statements.every((s: any) => s.Effect === 'Allow')).toBe(true);
    // Its bundle holds the handler and the kernels' WebAssembly (the multinomial's probabilities), no thread bundle, under the limit.
    const zip = zips.predict!;
    expect(zip.byteLength).toBeLessThan(PREDICT_BUNDLE_LIMIT);
    expect(zip.includes('handlers/predict.mjs')).toBe(true);
    expect(zip.includes('src/kernels/wasm/kernels.wasm') && zip.includes('src/kernels/wasm/kernels-simd128.wasm')).toBe(true);
    expect(zip.includes('thread.mjs')).toBe(false);
    expect(predict.Environment.Variables.BSPML_WASM_FILE).toBe('/var/task/src/kernels/wasm/kernels.wasm');
  });

  it('runs predict jobs\' tasks in a function whose role reads models/ and the data, writes predictions/ only, and keeps the barrier', () => {
    const worker = template.Resources.PredictWorkerLambdaFunction!.Properties;
    expect(worker).toMatchObject({ Handler: 'handlers/predictWorker.handler', MemorySize: 1024, Timeout: 900, Role: getAtt('PredictWorkerRole') });
    expect(worker.Environment.Variables.BSPML_WASM_FILE).toBe('/var/task/src/kernels/wasm/kernels.wasm');
    // The start and the sweep publish its tasks to its own topic.
    for (const fn of ['StartLambdaFunction', 'RecoverLambdaFunction']) expect(template.Resources[fn]!.Properties.Environment.Variables.BSPML_PREDICT_TOPIC_ARN, fn).toEqual({ Ref: 'PredictTopic' });
    const statements = ownPolicies(template.Resources.PredictWorkerRole!).flatMap((p: any) => p.PolicyDocument.Statement);
    const s3 = (key: string) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:s3:::bspml-template-test${key}` });
    expect(statements.map((s: any) => ({ actions: [s.Action].flat(), resource: s.Resource, ...(s.Condition ? { condition: s.Condition } : {}) }))).toEqual([
      { actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resource: { 'Fn::Sub': 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/bspml-dev-predictWorker:*' } },
      { actions: ['s3:GetObject'], resource: s3('/models/*') },
      { actions: ['s3:ListBucket'], resource: s3(''), condition: { StringLike: { 's3:prefix': 'models/*' } } },
      { actions: ['s3:GetObject', 's3:GetObjectVersion'], resource: s3('/datasets/*') },
      { actions: ['s3:PutObject'], resource: s3('/predictions/*') },
      { actions: ['s3:DeleteObject'], resource: s3('/predictions/*/_SUCCESS') },
      { actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem'], resource: getAtt('StateTable') },
      { actions: ['lambda:InvokeFunction'], resource: { 'Fn::Sub': 'arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:bspml-dev-workerFailed' } },
    ]);
    // No role but the predict workers' writes predictions/; the start reads only the specs there; the
    // aggregator (a predict job finished by a re-sent completion) writes and removes the _SUCCESS markers only.
    const all = ofType('AWS::IAM::Role').flatMap(([role, r]) => ownPolicies(r).flatMap((p: any) => p.PolicyDocument.Statement.map((st: any) => ({ role, actions: [st.Action].flat(), resources: [st.Resource].flat().map((x: any): string => JSON.stringify(x)) }))));
    const onPredictions = all.filter((st) => st.resources.some((r: string) => r.includes('/predictions/'))).map((st) => [st.role, st.actions, st.resources.filter((r: string) => r.includes('/predictions/'))]);
    expect(onPredictions).toEqual([
      ['StartRole', ['s3:GetObject'], [JSON.stringify(s3('/predictions/*.job.json'))]],
      ['AggregatorRole', ['s3:PutObject', 's3:DeleteObject'], [JSON.stringify(s3('/predictions/*/_SUCCESS'))]],
      ['PredictWorkerRole', ['s3:PutObject'], [JSON.stringify(s3('/predictions/*'))]],
      ['PredictWorkerRole', ['s3:DeleteObject'], [JSON.stringify(s3('/predictions/*/_SUCCESS'))]],
    ]);
    expect(zips.predictWorker!.includes('handlers/predictWorker.mjs')).toBe(true);
    expect(zips.predictWorker!.includes('thread.mjs')).toBe(false);
  });

  it('needed no account id or other value only AWS can tell at packaging time', () => {
    const text = JSON.stringify(template);
    expect(text).not.toMatch(/(?<!\d)\d{12}(?!\d)/);
    expect(text).not.toContain('undefined');
  });
});

/** The simulator's verdict on one request by a role of the packaged template (over TLS unless told), with the data bucket's policy if asked. */
async function allowed(role: string, action: string, resource: string, context: Record<string, string> = {}, bucketPolicy = false): Promise<boolean> {
  const t = new ResolvedTemplate(template);
  const policies = t.resolve(template.Resources[role]!.Properties).Policies.map((p: any) => ({ name: p.PolicyName, policy: p.PolicyDocument }));
  const out = await runSimulation(
    {
      request: { principal: `arn:aws:iam::123456789012:role/${role}`, action, resource: { resource, accountId: '123456789012' }, contextVariables: { 'aws:SecureTransport': 'true', ...context } },
      identityPolicies: policies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(bucketPolicy ? { resourcePolicy: t.resolve(template.Resources.DataBucketPolicy!.Properties).PolicyDocument } : {}),
    },
    {},
  );
  if (out.resultType === 'error') throw new Error(JSON.stringify(out.errors));
  return out.overallResult === 'Allowed';
}

const IAM = 'IAM, proven from the code\'s own calls';
const IAM_TEST = 'allows every AWS call each function makes over the whole emulated pipeline, and justifies every permission none uses';

describe(IAM, () => {
  it(IAM_TEST, async () => {
    // Act: the run made in beforeAll, with the options the template gives (checked first below).
    const run = await scenario;
    const report = await checkIam(template, run.calls, scenarioNames(run));

    // Assess
    // The scenario did what it says: every path ran to its end.
    expect(scenarioOptionsOf(template)).toEqual(SCENARIO_OPTIONS);
    expect(run.outcomes).toMatchObject({ uploadWithSpec: 'SUCCEEDED', uploadDefaultSpec: 'SUCCEEDED', specBeforeParts: '0',  brokenSpec: 'FAILED', submit: 'SUCCEEDED', workerFailed: 'FAILED', bigModel: 'SUCCEEDED' });
    expectLingerOutcomes(run.outcomes);
    expect(inlineCalls(report)).toEqual(INLINE_CALLS);
    expect(run.outcomes.partsOnS3).toMatch(/^SUCCEEDED, model at models\/parts\/parts-\d{8}T\d{6}Z-[0-9a-f]{6}\.json$/);
    expect(run.outcomes.sweep).toBe('iam-died-starting:failed iam-lost-completion:completion-resent iam-lost-tasks-s3:republished iam-lost-tasks:republished iam-predict-lost:republished');
    expect(run.outcomes.unreadableData).toMatch(/^FAILED: s3:\/\/someone-elses-lake\/blobs.csv: .*--param dataBuckets=someone-elses-lake/);
    expect(report.functions).toEqual(['aggregator', 'predictWorker', 'recover', 'start', 'worker', 'workerFailed']);
    expect(run.outcomes).toMatchObject({ predictSubmit: 'SUCCEEDED', predictUpload: 'SUCCEEDED', 'iam-predict-lost': 'SUCCEEDED' });
    expect(run.outcomes.predictUnknownModel).toBe('FAILED: model "no-such-model": no such model (nothing at models/no-such-model/latest.json)');
    // The predict function's calls are not recorded (UNRECORDED in test/helpers/iam/check.ts says why).
    expect(Object.keys(UNRECORDED)).toEqual(['predict']);
    expect(iamDetails(report).filter((line) => !line.includes(': kept: '))).toEqual([]);
    expect(report.denied).toEqual([]);
    expect(report.unjustified).toEqual([]);
    expect(report.uncovered).toEqual([]);
    expect(report.calls).toBeGreaterThan(300);
    // Nothing touched data the stack may not read.
    expect(report.requests.filter((r) => r.resource.includes('someone-elses-lake'))).toEqual([]);
    process.stderr.write(`${iamSummary(report)}\n`);

    // Act: the same calls against a worker role without sqs:SendMessage
    const narrowed = structuredClone(template);
    for (const p of ownPolicies(narrowed.Resources.WorkerRole!)) p.PolicyDocument.Statement = p.PolicyDocument.Statement.filter((st: any) => st.Action !== 'sqs:SendMessage');
    const strict = await checkIam(narrowed, run.calls, scenarioNames(run));

    // Assess: the check fails where the role falls short
    expect(new Set(strict.denied.map((d) => `${d.fn} ${d.call} ${d.action}`))).toEqual(new Set(['worker SQS:SendMessage sqs:SendMessage']));

    // Act: a grant no call uses, beside one justified for another resource
    const widened = structuredClone(template);
    ownPolicies(widened.Resources.WorkerRole!)[0].PolicyDocument.Statement.push({ Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: getAtt('AggregatorLambdaFunction') });
    const loose = await checkIam(widened, run.calls, scenarioNames(run));

    // Assess: it is listed as not justified
    expect(loose.unjustified).toEqual([{ role: 'WorkerRole', action: 'lambda:InvokeFunction', resource: 'arn:aws:lambda:us-east-1:123456789012:function:bspml-dev-aggregator' }]);
  }, 240_000);
});

/** The linger, stray and backup steps of the IAM scenario ran to their ends. */
function expectLingerOutcomes(outcomes: Record<string, string>): void {
  expect(outcomes.strayDiscarded).toBe('SUCCEEDED, model at models/blobs/iam-stray.json');
  expect(outcomes['iam-linger']).toBe('SUCCEEDED, model at models/blobs/iam-linger.json');
  expect(outcomes['iam-linger-s3']).toBe('SUCCEEDED, model at models/blobs/iam-linger-s3.json');
  expect(outcomes.backupChecks).toBe('delivered');
}

/** The calls only a lingering job's inline aggregation (and a claim's release on S3) has the worker make, and the backup checks' queue calls. */
const INLINE_CALLS = [
  'aggregator sqs:DeleteMessage backup-checks',
  'aggregator sqs:ReceiveMessage backup-checks',
  'aggregator sqs:SendMessage backup-checks',
  'aggregator dynamodb:DeleteItem',
  'worker dynamodb:BatchWriteItem',
  'worker dynamodb:DeleteItem',
  'worker s3:DeleteObject state/',
  'worker s3:PutObject models/',
  'worker sns:Publish',
  'worker sqs:SendMessage backup-checks',
].sort();

function inlineCalls(report: Awaited<ReturnType<typeof checkIam>>): string[] {
  const seen = new Set<string>();
  for (const r of report.requests) {
    const where = r.resource.endsWith('-backup-checks') ? ' backup-checks' : r.resource.includes('/state/') ? ' state/' : r.resource.includes('/models/') ? ' models/' : '';
    const line = `${r.fn} ${r.action}${where}`;
    if (INLINE_CALLS.includes(line) && r.allowed) seen.add(line);
  }
  return [...seen].sort();
}

/**
 * The whole emulated pipeline again, with the invoke trigger (not the default): about 11 s of CPU,
 * for the one role change the trigger makes (the workers' InvokeFunction, no SendMessage), which
 * 'deploy-time parameters' checks in the template in the default suite. The full run is in CI's long
 * step (`BSPML_IAM=long`, .ci/run) and wherever a change touches the trigger or the roles.
 */
const IAM_LONG = process.env.BSPML_IAM === 'long';

describe('IAM with the invoke trigger (--param aggregatorTrigger=invoke)', () => {
  it.skipIf(!IAM_LONG)('allows every call of the emulated run whose workers invoke the aggregator, and justifies every permission none uses', async () => {
    // Prepare: the template as --param aggregatorTrigger=invoke packages it (the condition and the
    // worker's variable are all the parameter changes: 'deploy-time parameters' below checks that).
    const invoke = structuredClone(template) as Template & { Conditions: Record<string, unknown> };
    invoke.Conditions.InvokesAggregator = { 'Fn::Equals': ['invoke', 'invoke'] };
    invoke.Resources.WorkerLambdaFunction!.Properties.Environment.Variables.BSPML_AGGREGATOR_TRIGGER = 'invoke';

    // Act
    const run = await runIamScenario(scenarioOptionsOf(invoke));
    const report = await checkIam(invoke, run.calls, scenarioNames(run));

    // Assess
    expect(scenarioOptionsOf(invoke)).toEqual({ aggregatorTrigger: 'invoke', aggregatorFunction: 'bspml-dev-aggregator' });
    expect(run.outcomes).toMatchObject({ uploadWithSpec: 'SUCCEEDED', submit: 'SUCCEEDED', bigModel: 'SUCCEEDED' });
    expect(run.outcomes.sweep).toBe('iam-died-starting:failed iam-lost-completion:completion-resent iam-lost-tasks-s3:republished iam-lost-tasks:republished iam-predict-lost:republished');
    expectLingerOutcomes(run.outcomes);
    const invokes = report.requests.filter((r) => r.action === 'lambda:InvokeFunction');
    expect(new Set(invokes.map((r) => `${r.fn} ${r.resource} ${r.allowed}`))).toEqual(new Set(['worker arn:aws:lambda:us-east-1:123456789012:function:bspml-dev-aggregator true']));
    // The workers send no completion to the queue: their role may not.
    expect(report.requests.filter((r) => r.fn === 'worker' && r.action === 'sqs:SendMessage' && r.resource.endsWith('.fifo'))).toEqual([]);
    expect(iamDetails(report).filter((line) => !line.includes(': kept: '))).toEqual([]);
    expect(report.denied).toEqual([]);
    expect(report.unjustified).toEqual([]);
  }, 240_000);
});

describe('data in the user\'s own buckets (--param dataBuckets=my-lake)', () => {
  it('lets the start, worker and predict worker roles read and list my-lake, and no role do anything else there', async () => {
    // Act
    const verdicts: Record<string, boolean> = {};
    for (const role of ['StartRole', 'WorkerRole', 'PredictWorkerRole', 'AggregatorRole', 'RecoverRole', 'WorkerFailedRole']) {
      verdicts[`${role} get`] = await allowed(role, 's3:GetObject', 'arn:aws:s3:::my-lake/any/data.csv');
      verdicts[`${role} list`] = await allowed(role, 's3:ListBucket', 'arn:aws:s3:::my-lake', { 's3:prefix': 'exports/' });
      verdicts[`${role} put`] = await allowed(role, 's3:PutObject', 'arn:aws:s3:::my-lake/any/data.csv');
      verdicts[`${role} delete`] = await allowed(role, 's3:DeleteObject', 'arn:aws:s3:::my-lake/any/data.csv');
      verdicts[`${role} other bucket`] = await allowed(role, 's3:GetObject', 'arn:aws:s3:::my-lake-2/data.csv');
    }

    // Assess
    const granted = Object.entries(verdicts).filter(([, v]) => v).map(([k]) => k).sort();
    expect(granted).toEqual(['PredictWorkerRole get', 'PredictWorkerRole list', 'StartRole get', 'StartRole list', 'WorkerRole get', 'WorkerRole list']);
    // Nothing broader, statement by statement: only reads, only my-lake.
    const statements = ofType('AWS::IAM::Role').flatMap(([, r]) => (r.Properties.Policies ?? []).flatMap((p: any) => p['Fn::If']?.[1].PolicyDocument.Statement ?? []));
    expect(statements.flatMap((st: any) => [st.Action].flat()).sort()).toEqual(['s3:GetObject', 's3:GetObject', 's3:GetObject', 's3:GetObjectVersion', 's3:GetObjectVersion', 's3:GetObjectVersion', 's3:ListBucket', 's3:ListBucket', 's3:ListBucket']);
    expect(new Set(statements.map((st: any) => st.Resource['Fn::Sub']))).toEqual(new Set(['arn:${AWS::Partition}:s3:::my-lake/*', 'arn:${AWS::Partition}:s3:::my-lake']));
  });

  it('tells the start function and the CLI where data may be read', () => {
    const sources = { 'Fn::Sub': 's3://bspml-template-test/datasets/,s3://my-lake/' };
    expect(template.Resources.StartLambdaFunction!.Properties.Environment.Variables.BSPML_DATA_SOURCES).toEqual(sources);
    expect((template as unknown as { Outputs: Record<string, { Value: unknown }> }).Outputs.DataSources!.Value).toEqual(sources);
  });
});

describe('the hardened template', () => {
  it('sends a start that failed its retries to a queue, which the start role may write and an alarm watches', () => {
    expect(only('AWS::Lambda::EventInvokeConfig', (p) => p.FunctionName.Ref === 'StartLambdaFunction')).toMatchObject({
      DestinationConfig: { OnFailure: { Destination: getAtt('StartFailuresQueue') } },
    });
    const start = ownPolicies(template.Resources.StartRole!).flatMap((p: any) => p.PolicyDocument.Statement);
    expect(start).toContainEqual({ Effect: 'Allow', Action: 'sqs:SendMessage', Resource: getAtt('StartFailuresQueue') });
    expect(template.Resources.StartFailuresAlarm!.Properties).toMatchObject({ MetricName: 'ApproximateNumberOfMessagesVisible', Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['StartFailuresQueue', 'QueueName'] } }] });
  });

  it('alarms on errors, throttles and a duration past 80 % of the timeout, for every function', () => {
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties).filter((p) => p.Namespace === 'AWS/Lambda');
    for (const name of FUNCTIONS) {
      const id = `${name[0]!.toUpperCase()}${name.slice(1)}LambdaFunction`;
      const of = (metric: string) => alarms.filter((a) => a.MetricName === metric && a.Dimensions[0].Value.Ref === id);
      expect(of('Errors').map((a) => [a.Statistic, a.Threshold, a.ComparisonOperator]), name).toEqual([['Sum', 0, 'GreaterThanThreshold']]);
      expect(of('Throttles').map((a) => [a.Statistic, a.Threshold]), name).toEqual([['Sum', 0]]);
      expect(of('Duration').map((a) => [a.Statistic, a.Threshold]), name).toEqual([['Maximum', 0.8 * template.Resources[id]!.Properties.Timeout * 1000]]);
      for (const a of [...of('Errors'), ...of('Throttles'), ...of('Duration')]) expect(a.AlarmActions).toEqual([{ Ref: 'AlarmTopic' }]);
    }
  });

  it('refuses any request to the data bucket not made over TLS, even one its roles allow', async () => {
    const policy = only('AWS::S3::BucketPolicy', (p) => p.Bucket.Ref === 'S3BucketData');
    expect(policy.PolicyDocument.Statement).toEqual([expect.objectContaining({ Effect: 'Deny', Principal: '*', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]);
    const object = 'arn:aws:s3:::bspml-template-test/state/jobs/j/model.bin';

    // Act
    const overTls = await allowed('WorkerRole', 's3:GetObject', object, {}, true);
    const plain = await allowed('WorkerRole', 's3:GetObject', object, { 'aws:SecureTransport': 'false' }, true);
    const plainWithoutPolicy = await allowed('WorkerRole', 's3:GetObject', object, { 'aws:SecureTransport': 'false' }, false);

    // Assess
    expect([overTls, plain, plainWithoutPolicy]).toEqual([true, false, true]);
  });

  it('lets no role list the data bucket beyond a prefix', () => {
    const lists = ofType('AWS::IAM::Role').flatMap(([role, r]) =>
      ownPolicies(r).flatMap((p: any) => p.PolicyDocument.Statement.filter((st: any) => [st.Action].flat().includes('s3:ListBucket')).map((st: any) => [role, st.Condition])),
    );
    expect(lists.map(([role]) => role).sort()).toEqual(['AggregatorRole', 'PredictRole', 'PredictWorkerRole', 'RecoverRole', 'StartRole', 'StartRole', 'WorkerRole']);
    for (const [role, condition] of lists) expect(condition?.StringLike?.['s3:prefix'], role).toMatch(/^[a-z]+\/\*$/);
  });

  it('has no budget unless deployed with one', () => {
    expect(template.Resources.MonthlyBudget).toMatchObject({ Condition: 'HasBudget' });
    expect((template as unknown as { Conditions: Record<string, unknown> }).Conditions.HasBudget).toEqual({ 'Fn::Not': [{ 'Fn::Equals': ['', ''] }] });
  });
});

describe('Redis and VPC settings', () => {
  it('are taken at deploy time from --param or the environment', async () => {
    // Act
    const config = await printed.withParams();

    // Assess
    expect(config.provider.environment.BSPML_REDIS_URL).toBe('rediss://cache.example.internal:6379');
    expect(config.resources.Conditions.HasVpc['Fn::And'].map((c: any) => c['Fn::Not'][0]['Fn::Equals'][0])).toEqual(['subnet-a,subnet-b', 'sg-1']);
    expect(config.resources.extensions.WorkerLambdaFunction.Properties.VpcConfig['Fn::If'][1]).toEqual({
      SubnetIds: { 'Fn::Split': [',', 'subnet-a,subnet-b'] },
      SecurityGroupIds: { 'Fn::Split': [',', 'sg-1'] },
    });
  }, PRINT_TIMEOUT);
});

/** `serverless print` takes seconds, more on a loaded machine. */
const PRINT_TIMEOUT = 120_000;

/** `serverless print`: the configuration resolved as `package` resolves it, without bundling. */
async function print(args: string[], env: Record<string, string> = {}): Promise<{ provider: any; functions: Record<string, any>; custom: any; resources: any }> {
  const { stdout } = await promisify(execFile)(join(ROOT, 'node_modules/.bin/serverless'), ['print', '--format', 'json', ...args], {
    cwd: ROOT,
    env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', ...env },
    timeout: 60_000,
  });
  return JSON.parse(stdout.slice(stdout.indexOf('{')));
}

type Printed = Awaited<ReturnType<typeof print>>;

/**
 * The two configurations the parameter tests read, each printed once for the file (a print costs
 * ~2 s of CPU): every parameter at its default, and every parameter set at once (they are
 * independent: each lands in settings of its own, which the tests check one by one).
 */
const printed = {
  defaults: once(() => print([], { BSPML_BUCKET_NAME: '' })),
  withParams: once(() =>
    print(
      [
        ...['--stage', 'prod'],
        ...['--param', 'workerMemory=10240', '--param', 'architecture=x86_64', '--param', 'aggregatorConcurrency=10', '--param', 'tracing=true', '--param', 'maxWorkerRounds=5000', '--param', 'requestTimeoutMs=30000'],
        ...['--param', 'aggregatorTrigger=invoke', '--param', 'backupTasks=on', '--param', 'monthlyBudgetUsd=20', '--param', 'redisUrl=rediss://cache.example.internal:6379'],
      ],
      { BSPML_BUCKET_NAME: '', BSPML_VPC_SUBNET_IDS: 'subnet-a,subnet-b', BSPML_VPC_SECURITY_GROUP_IDS: 'sg-1' },
    ),
  ),
};

function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => (made ??= make());
}

describe('deploy-time parameters', () => {
  it('take 10,240 MB for the worker (threads follow), x86_64, a reserved aggregator concurrency and X-Ray', async () => {
    // Act
    const config = await printed.withParams();

    // Assess
    expect(config.provider.environment).toMatchObject({ BSPML_MAX_WORKER_ROUNDS: '5000', BSPML_REQUEST_TIMEOUT_MS: '30000' });
    expect(config.functions.worker.memorySize).toBe(10240);
    expect(config.functions.worker.environment.BSPML_THREADS).toBe('6');
    expect(config.provider.architecture).toBe('x86_64');
    expect(config.functions.aggregator.reservedConcurrency).toBe(10);
    expect(config.provider.tracing).toEqual({ lambda: true });
    expect(config.resources.Conditions.HasTracing).toEqual({ 'Fn::Equals': ['true', 'true'] });
  }, PRINT_TIMEOUT);

  it('take the aggregator trigger (the queue by default, a direct invoke of the aggregator and the right to it with aggregatorTrigger=invoke) and backupTasks', async () => {
    // Act
    const plain: Printed = await printed.defaults();
    const invoke: Printed = await printed.withParams();

    // Assess
    expect(plain.functions.worker.environment).toMatchObject({ BSPML_AGGREGATOR_TRIGGER: 'sqs', BSPML_AGGREGATOR_FUNCTION: 'bspml-dev-aggregator' });
    expect(plain.resources.Conditions.InvokesAggregator).toEqual({ 'Fn::Equals': ['sqs', 'invoke'] });
    expect(invoke.functions.worker.environment.BSPML_AGGREGATOR_TRIGGER).toBe('invoke');
    expect(plain.functions.aggregator.environment.BSPML_BACKUP_TASKS).toBe('off');
    expect(invoke.functions.aggregator.environment.BSPML_BACKUP_TASKS).toBe('on');
    expect(invoke.resources.Conditions.InvokesAggregator).toEqual({ 'Fn::Equals': ['invoke', 'invoke'] });
    const statements = invoke.resources.Resources.WorkerRole.Properties.Policies[0].PolicyDocument.Statement as { Action: string; Resource: unknown }[];
    const invokes = statements.filter((st) => st.Action === 'lambda:InvokeFunction').flatMap((st) => [st.Resource].flat());
    expect(JSON.stringify(invokes)).toContain('-aggregator');
    expect(JSON.stringify(invokes)).toContain('InvokesAggregator');
  }, PRINT_TIMEOUT);

  it('derive a data bucket name unique to the stage, account and region when none is given', async () => {
    // Act
    const dev = await printed.defaults();
    const prod = await printed.withParams();

    // Assess
    expect(dev.resources.extensions.S3BucketData.Properties.BucketName).toEqual({ 'Fn::Sub': 'bspml-dev-${AWS::AccountId}-${AWS::Region}' });
    expect(prod.resources.extensions.S3BucketData.Properties.BucketName).toEqual({ 'Fn::Sub': 'bspml-prod-${AWS::AccountId}-${AWS::Region}' });
  }, PRINT_TIMEOUT);

  it('take a monthly budget, notifying the alarm topic, which budgets and alarms may then publish to', async () => {
    // Act
    const config = await printed.withParams();

    // Assess
    expect(config.resources.Conditions.HasBudget).toEqual({ 'Fn::Not': [{ 'Fn::Equals': ['20', ''] }] });
    const budget = config.resources.Resources.MonthlyBudget;
    expect(budget.Properties.Budget).toMatchObject({ BudgetType: 'COST', TimeUnit: 'MONTHLY', BudgetLimit: { Amount: 20, Unit: 'USD' } });
    expect(budget.Properties.NotificationsWithSubscribers.map((n: any) => [n.Notification.NotificationType, n.Notification.Threshold, n.Subscribers])).toEqual([
      ['ACTUAL', 80, [{ SubscriptionType: 'SNS', Address: { Ref: 'AlarmTopic' } }]],
      ['FORECASTED', 100, [{ SubscriptionType: 'SNS', Address: { Ref: 'AlarmTopic' } }]],
    ]);
    const principals = config.resources.Resources.AlarmTopicPolicy.Properties.PolicyDocument.Statement.map((st: any) => st.Principal.Service);
    expect(principals).toEqual(['budgets.amazonaws.com', 'cloudwatch.amazonaws.com']);
  }, PRINT_TIMEOUT);

  it('refuse a data bucket entry or budget S3 or AWS Budgets would refuse, naming the parameter', async () => {
    // Prepare: the resolvers serverless.yml names (${file(./src/aws/serverless-vars.cjs):…}), given the
    // values as the framework resolves them. That the framework prints such a refusal as its one line
    // is checked through `serverless print` by the next test (a bucket name), which the same plainError makes.
    const vars = createRequire(import.meta.url)('../../src/aws/serverless-vars.cjs') as Record<string, (context: { resolveVariable: (name: string) => Promise<unknown> }) => Promise<unknown>>;
    const resolving = (values: Record<string, string>) => ({ resolveVariable: async (name: string) => values[name] });

    // Act
    const bucket = (await vars.dataReadStatements!(resolving({ 'self:custom.dataBuckets': 'my-lake,Bad_Bucket/x/' })).catch((e: unknown) => e)) as Error;
    const sources = (await vars.dataSources!(resolving({ 'self:custom.dataBuckets': 'my-lake,Bad_Bucket/x/', 'self:service': 'bspml', 'sls:stage': 'dev' })).catch((e: unknown) => e)) as Error;
    const budget = (await vars.budgetAmount!(resolving({ 'self:custom.monthlyBudgetUsd': 'lots' })).catch((e: unknown) => e)) as Error;

    // Assess
    for (const error of [bucket, sources]) expect(error.message).toContain('dataBuckets entry "Bad_Bucket/x/" (--param dataBuckets or BSPML_DATA_BUCKETS): "Bad_Bucket" is not a valid S3 bucket name');
    expect(budget.message).toContain('monthlyBudgetUsd "lots" (--param monthlyBudgetUsd or BSPML_MONTHLY_BUDGET_USD) is not a positive number of US dollars');
    for (const error of [bucket, sources, budget]) expect(error.stack, 'printed as its message alone').toBe(error.message);
  });

  it('refuse a bucket name S3 would refuse, with a line saying which setting to fix', async () => {
    // Act
    const error = (await print(['--param', 'bucket=My_Bucket']).catch((e: unknown) => e)) as { stdout?: string; stderr?: string };

    // Assess
    const text = `${error.stdout}${error.stderr}`;
    expect(text).toMatch(/bucket name "My_Bucket" \(--param bucket or BSPML_BUCKET_NAME\) is not a valid S3 bucket name/);
    expect(text).not.toMatch(/\n\s+at /);
  }, PRINT_TIMEOUT);
});

describe('worker memory', () => {
  it('buys threads in serverless.yml as the handlers count them', () => {
    const vars = createRequire(import.meta.url)('../../src/aws/serverless-vars.cjs') as { threadsForMemory: (mb: number) => number };
    for (const mb of [128, 1769, 1770, 3008, 5307, 5308, 10240]) expect(vars.threadsForMemory(mb)).toBe(threadsForMemory(mb));
  });
});

describe('the bundled thread entry', () => {
  it('computes the same partial as the thread code run from sources', async () => {
    // Prepare
    const entry = join(ROOT, '.bspml-lambda/thread.mjs');
    expect(existsSync(entry)).toBe(true);
    const data = blobs([[0, 0], [5, 5]], 50, 1, 4);
    const shard = sliceShard(data, 0, 1);
    // Any model will do: the two rows' centroids.
    const model = Float64Array.from([...data.features.subarray(0, 2), ...data.features.subarray(2, 4)]);
    const shape = { algorithm: 'kmeans' as const, k: 2, dims: 2 };
    // As on Lambda: the bundle finds its thread code, and the kernels' WebAssembly, through the environment.
    const env = { BSPML_THREAD_ENTRY: entry, BSPML_WASM_FILE: join(ROOT, 'src/kernels/wasm/kernels.wasm') };
    const previous = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, env);
    const bundled = new ThreadPool(2);
    for (const [k, v] of Object.entries(previous)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    const sources = new ThreadPool(2);

    try {
      // Act
      const results = [];
      for (const pool of [bundled, sources]) {
        await pool.ready;
        pool.addShard('s', shard);
        results.push((await pool.partial('s', shard.rows, shape, model)).partial);
      }

      // Assess
      expect(Array.from(results[0]!)).toEqual(Array.from(results[1]!));
      expect(results[0]![results[0]!.length - 1]).toBeGreaterThan(0);
    } finally {
      await bundled.close();
      await sources.close();
    }
  });
});

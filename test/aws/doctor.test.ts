import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetAccountSettingsCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { HeadBucketCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runDoctor, type DoctorPlan } from '../../src/aws/doctor.js';
import { runCli } from '../../src/cli/main.js';

/*
 * `bspml doctor` against the account APIs no emulator has (Lambda account settings, CloudFormation
 * describe, S3 HeadBucket), mocked at the SDK client with aws-sdk-client-mock: each
 * misconfiguration a real account may have is found and printed with its fix.
 */

const lambda = mockClient(LambdaClient);
const cloudformation = mockClient(CloudFormationClient);
const s3 = mockClient(S3Client);

/** An account that could run the default deploy: 1,000 concurrent executions, no stack yet, the bucket name free. */
function healthyAccount(): void {
  lambda.on(GetAccountSettingsCommand).resolves({ AccountLimit: { ConcurrentExecutions: 1000 }, AccountUsage: {} });
  cloudformation.on(DescribeStacksCommand).rejects(Object.assign(new Error('Stack with id bspml-dev does not exist'), { name: 'ValidationError' }));
  s3.on(HeadBucketCommand).rejects(serviceError('NotFound', 404));
}

function serviceError(name: string, status: number): Error {
  return new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: status }, message: name });
}

async function doctor(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io = { stdout: { write: (s: string) => ((stdout += s), true) }, stderr: { write: (s: string) => ((stderr += s), true) } };
  const code = await runCli(['doctor', '--region', 'us-east-1', ...args], io as never);
  return { code, stdout, stderr };
}

/** The printed finding whose line starts with `status` and names `check`, with its fix line if any. */
function finding(stdout: string, status: string, check: string): string {
  const lines = stdout.split('\n');
  const at = lines.findIndex((l) => l.startsWith(status) && l.includes(check));
  if (at < 0) throw new Error(`no ${status} finding for ${check} in:\n${stdout}`);
  return lines[at + 1]?.startsWith('      fix: ') ? `${lines[at]}\n${lines[at + 1]}` : lines[at]!;
}

beforeEach(() => {
  lambda.reset();
  cloudformation.reset();
  s3.reset();
  healthyAccount();
});

afterEach(() => {
  lambda.reset();
  cloudformation.reset();
  s3.reset();
});

describe('bspml doctor', () => {
  it('finds nothing wrong with an account that can run the deploy, and exits 0', async () => {
    // Act
    const out = await doctor(['--workers', '16', '--bucket', 'my-new-bucket-name']);

    // Assess
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('OK    region us-east-1: nodejs24.x on arm64');
    expect(out.stdout).toContain('OK    Lambda concurrency: the account runs 1000 at once; a round of 16 workers needs 19');
    expect(out.stdout).toContain('OK    stack bspml-dev: none yet in us-east-1');
    expect(out.stdout).toContain('OK    data bucket my-new-bucket-name: the name is free');
    expect(out.stdout.trimEnd().split('\n').at(-1)).toBe('doctor: nothing found that would fail');
    expect(s3.commandCalls(HeadBucketCommand)[0]!.args[0].input).toEqual({ Bucket: 'my-new-bucket-name' });
  });

  it('finds a concurrency quota too low for the workers, and says which quota to raise or how many workers fit', async () => {
    // Prepare: a new account's quota
    lambda.on(GetAccountSettingsCommand).resolves({ AccountLimit: { ConcurrentExecutions: 10 } });

    // Act
    const out = await doctor(['--workers', '16']);

    // Assess
    expect(out.code).toBe(1);
    expect(finding(out.stdout, 'FAIL', 'Lambda concurrency')).toBe(
      'FAIL  Lambda concurrency: the account runs at most 10 functions at once; a round of 16 workers needs 19: workers beyond the limit are throttled and the round waits on retries\n' +
        '      fix: request Concurrent executions (Service Quotas → AWS Lambda, code L-B99A9384) of at least 1000, or submit with --workers 7',
    );
    expect(out.stderr).toContain('doctor found what would fail');
  });

  it('finds a reserved aggregator concurrency the account would refuse', async () => {
    lambda.on(GetAccountSettingsCommand).resolves({ AccountLimit: { ConcurrentExecutions: 100 } });

    const out = await doctor(['--workers', '4', '--aggregator-concurrency', '10']);

    expect(out.code).toBe(1);
    expect(finding(out.stdout, 'FAIL', 'aggregator reservation')).toMatch(/would leave 90 unreserved; Lambda refuses a reservation leaving under 100\n +fix: deploy without --param aggregatorConcurrency, or first raise .* to at least 110$/);
  });

  it('warns that worker memory above 3,008 MB needs the account\'s limit raised, which no API here reports', async () => {
    const out = await doctor(['--worker-memory', '10240']);

    expect(out.code).toBe(0);
    expect(finding(out.stdout, 'WARN', 'worker memory 10240 MB')).toMatch(/new accounts are limited to 3008 MB .*\n +fix: ask AWS Support \(or Service Quotas\) to raise the Lambda function memory limit to 10240 MB, or deploy with --param workerMemory=3008$/);
  });

  it('fails a worker memory Lambda never allows', async () => {
    const out = await doctor(['--worker-memory', '20000']);

    expect(out.code).toBe(1);
    expect(finding(out.stdout, 'FAIL', 'worker memory 20000 MB')).toContain('fix: deploy with --param workerMemory between 128 and 10240');
  });

  for (const [status, detail, fix] of [
    ['ROLLBACK_COMPLETE', 'its first deploy failed and rolled back', 'remove it (npx serverless remove --stage dev --region us-east-1; empty its bucket first'],
    ['UPDATE_IN_PROGRESS', 'an operation is in progress', 'wait for it to end'],
    ['UPDATE_ROLLBACK_FAILED', 'an update failed and so did its rollback', 'aws cloudformation continue-update-rollback --stack-name bspml-dev --region us-east-1'],
    ['DELETE_FAILED', 'a removal failed', 'empty the bucket'],
  ] as const) {
    it(`finds an existing stack ${status}, which a deploy cannot go over, with what to do`, async () => {
      cloudformation.on(DescribeStacksCommand, { StackName: 'bspml-dev' }).resolves({ Stacks: [{ StackName: 'bspml-dev', StackStatus: status, CreationTime: new Date() }] });

      const out = await doctor([]);

      expect(out.code).toBe(1);
      const line = finding(out.stdout, 'FAIL', 'stack bspml-dev');
      expect(line).toContain(`is ${status}: ${detail}`);
      expect(line).toContain(`fix: ${fix}`);
    });
  }

  it('accepts an existing stack that can be updated, and its own bucket', async () => {
    cloudformation.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'bspml-dev', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(), Outputs: [{ OutputKey: 'DataBucket', OutputValue: 'team-ml-data' }] }] });
    s3.on(HeadBucketCommand).resolves({});

    const out = await doctor(['--bucket', 'team-ml-data']);

    expect(out.code).toBe(0);
    expect(out.stdout).toContain('OK    stack bspml-dev: is UPDATE_COMPLETE: exists and can be updated');
    expect(out.stdout).toContain("OK    data bucket team-ml-data: the stack's own bucket");
  });

  it('finds a bucket name another account owns', async () => {
    s3.on(HeadBucketCommand).rejects(serviceError('Forbidden', 403));

    const out = await doctor(['--bucket', 'data']);

    expect(out.code).toBe(1);
    expect(finding(out.stdout, 'FAIL', 'data bucket data')).toBe(
      'FAIL  data bucket data: the name is taken by another account: bucket names are global\n      fix: choose another with --param bucket=NAME, or leave it out for the derived, per-account name',
    );
  });

  it('finds a bucket name of the account\'s own that is not the stack\'s', async () => {
    s3.on(HeadBucketCommand).resolves({});

    const out = await doctor(['--bucket', 'my-lake']);

    expect(out.code).toBe(1);
    expect(finding(out.stdout, 'FAIL', 'data bucket my-lake')).toContain('fix: choose another with --param bucket=NAME; to read data from it, deploy with --param dataBuckets=my-lake');
  });

  it('warns, rather than passes, when the credentials may not read the account settings', async () => {
    lambda.on(GetAccountSettingsCommand).rejects(Object.assign(new Error('not authorized to perform: lambda:GetAccountSettings'), { name: 'AccessDeniedException' }));

    const out = await doctor([]);

    expect(finding(out.stdout, 'WARN', 'Lambda concurrency')).toMatch(/not checked: GetAccountSettings failed \(AccessDeniedException: .*\n +fix: run doctor with credentials allowed lambda:GetAccountSettings$/);
  });

  it('fails a region name that is not one, and warns where the runtime arrives late', async () => {
    const bad = await doctor(['--region', 'moon-base-1']);
    const china = await doctor(['--region', 'cn-north-1']);

    expect(bad.code).toBe(1);
    expect(finding(bad.stdout, 'FAIL', 'region moon-base-1')).toContain('fix: name one with --region');
    expect(finding(china.stdout, 'WARN', 'region cn-north-1')).toContain('--param architecture=x86_64');
  });
});

describe('the memory limit, where Service Quotas reports it', () => {
  const plan: DoctorPlan = { stage: 'dev', region: 'us-east-1', workers: 4, workerMemoryMb: 10_240, architecture: 'arm64' };
  const clients = () => ({ lambda: new LambdaClient({ region: 'us-east-1' }), cloudformation: new CloudFormationClient({ region: 'us-east-1' }), s3: new S3Client({ region: 'us-east-1' }) });

  it('fails memory above the account\'s limit with the value to deploy, and passes memory within it', async () => {
    const limited = await runDoctor(plan, { ...clients(), quotas: { functionMemoryMb: async () => 3008 } });
    const raised = await runDoctor(plan, { ...clients(), quotas: { functionMemoryMb: async () => 10_240 } });

    expect(limited.find((f) => f.check.startsWith('worker memory'))).toEqual({
      check: 'worker memory 10240 MB',
      status: 'fail',
      detail: "the account allows 3008 MB per function",
      fix: 'deploy with --param workerMemory=3008, or ask AWS Support to raise the limit to 10240 MB',
    });
    expect(raised.find((f) => f.check.startsWith('worker memory'))?.status).toBe('ok');
  });
});

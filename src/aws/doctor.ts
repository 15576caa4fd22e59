import { DescribeStacksCommand, type CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { GetAccountSettingsCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';

/*
 * `bspml doctor`: what would make a deploy (or its first job) fail on this account, asked of AWS
 * with the user's own credentials before anything is created: the region, the account's Lambda
 * concurrency and memory limits against the chosen workers and memory, the state of a stack of the
 * same stage, and whether the data bucket's name is free. Each finding carries its fix.
 */

export interface DoctorPlan {
  stage: string;
  region: string;
  /** Workers a round runs at once (a job's W). */
  workers: number;
  workerMemoryMb: number;
  architecture: 'arm64' | 'x86_64';
  /** The bucket name given with --param bucket; absent: the derived, per-account one. */
  bucket?: string;
  /** --param aggregatorConcurrency, if any. */
  aggregatorConcurrency?: number;
}

export type FindingStatus = 'ok' | 'warn' | 'fail';

export interface Finding {
  check: string;
  status: FindingStatus;
  detail: string;
  fix?: string;
}

/** Service Quotas, where the caller can reach it: the applied Lambda limits this account has. */
export interface QuotaSource {
  /** The most memory a function may have on this account (MB), if the account reports it. */
  functionMemoryMb(): Promise<number | undefined>;
}

export interface DoctorClients {
  lambda: Pick<LambdaClient, 'send'>;
  cloudformation: Pick<CloudFormationClient, 'send'>;
  s3: Pick<S3Client, 'send'>;
  quotas?: QuotaSource;
}

/** The runtime serverless.yml deploys. */
export const RUNTIME = 'nodejs24.x';
/** What a new account may give one function, and what Lambda allows any (AWS Lambda quotas page). */
export const NEW_ACCOUNT_MEMORY_MB = 3008;
export const LAMBDA_MAX_MEMORY_MB = 10_240;
/** Lambda keeps this much concurrency unreserved: a reservation leaving less is refused (AWS Lambda developer guide, "Reserved concurrency"). */
export const MIN_UNRESERVED = 100;
/** Functions besides the workers that may run during a round: the aggregator, the start, the sweep. */
const OTHER_FUNCTIONS = 3;
const CONCURRENCY_QUOTA = 'Concurrent executions (Service Quotas → AWS Lambda, code L-B99A9384)';

export async function runDoctor(plan: DoctorPlan, clients: DoctorClients): Promise<Finding[]> {
  const stack = await stackFinding(plan, clients.cloudformation);
  return [regionFinding(plan), ...(await accountFindings(plan, clients)), await memoryFinding(plan, clients.quotas), stack.finding, await bucketFinding(plan, clients.s3, stack.bucket)];
}

/**
 * assumption: Lambda offers nodejs24.x and arm64 in every commercial region (AWS Lambda developer
 * guide, "Lambda runtimes" and "Selecting an instruction set architecture"); the China and GovCloud
 * partitions get runtimes and Graviton later, so there it is only a warning to check.
 */
function regionFinding(plan: DoctorPlan): Finding {
  const check = `region ${plan.region}`;
  if (!/^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/.test(plan.region)) {
    return { check, status: 'fail', detail: `"${plan.region}" is not an AWS region name`, fix: 'name one with --region (e.g. us-east-1) or AWS_REGION' };
  }
  if (/^(cn-|us-gov-|us-iso)/.test(plan.region)) {
    return {
      check,
      status: 'warn',
      detail: `${RUNTIME} on ${plan.architecture} reaches this partition later than the commercial regions; not confirmed here`,
      fix: `check the Lambda runtimes page for ${plan.region}; deploy with --param architecture=x86_64 if arm64 is missing`,
    };
  }
  return { check, status: 'ok', detail: `${RUNTIME} on ${plan.architecture} (a commercial region)` };
}

async function accountFindings(plan: DoctorPlan, lambda: DoctorClients): Promise<Finding[]> {
  let settings;
  try {
    settings = await lambda.lambda.send(new GetAccountSettingsCommand({}));
  } catch (error) {
    return [{ check: 'Lambda concurrency', status: 'warn', detail: `not checked: GetAccountSettings failed (${describe(error)})`, fix: 'run doctor with credentials allowed lambda:GetAccountSettings' }];
  }
  const limit = settings.AccountLimit?.ConcurrentExecutions;
  if (limit === undefined) return [{ check: 'Lambda concurrency', status: 'warn', detail: 'the account settings did not report a concurrency limit' }];
  const needed = plan.workers + OTHER_FUNCTIONS;
  const findings: Finding[] = [];
  findings.push(
    limit >= needed
      ? { check: 'Lambda concurrency', status: 'ok', detail: `the account runs ${limit} at once; a round of ${plan.workers} workers needs ${needed} with the other functions` }
      : {
          check: 'Lambda concurrency',
          status: 'fail',
          detail: `the account runs at most ${limit} functions at once; a round of ${plan.workers} workers needs ${needed}: workers beyond the limit are throttled and the round waits on retries`,
          fix: `request ${CONCURRENCY_QUOTA} of at least ${Math.max(needed, 1000)}, or submit with --workers ${Math.max(1, limit - OTHER_FUNCTIONS)}`,
        },
  );
  if (plan.aggregatorConcurrency !== undefined) {
    const left = limit - plan.aggregatorConcurrency;
    findings.push(
      left >= MIN_UNRESERVED
        ? { check: 'aggregator reservation', status: 'ok', detail: `reserving ${plan.aggregatorConcurrency} leaves ${left} unreserved` }
        : {
            check: 'aggregator reservation',
            status: 'fail',
            detail: `reserving ${plan.aggregatorConcurrency} of ${limit} would leave ${left} unreserved; Lambda refuses a reservation leaving under ${MIN_UNRESERVED}`,
            fix: `deploy without --param aggregatorConcurrency, or first raise ${CONCURRENCY_QUOTA} to at least ${plan.aggregatorConcurrency + MIN_UNRESERVED}`,
          },
    );
  }
  return findings;
}

async function memoryFinding(plan: DoctorPlan, quotas: QuotaSource | undefined): Promise<Finding> {
  const check = `worker memory ${plan.workerMemoryMb} MB`;
  if (plan.workerMemoryMb > LAMBDA_MAX_MEMORY_MB || plan.workerMemoryMb < 128) {
    return { check, status: 'fail', detail: `Lambda functions take 128 to ${LAMBDA_MAX_MEMORY_MB} MB`, fix: `deploy with --param workerMemory between 128 and ${LAMBDA_MAX_MEMORY_MB}` };
  }
  let limit: number | undefined;
  try {
    limit = await quotas?.functionMemoryMb();
  } catch (error) {
    return { check, status: 'warn', detail: `not checked: Service Quotas failed (${describe(error)})` };
  }
  if (limit === undefined) {
    return plan.workerMemoryMb <= NEW_ACCOUNT_MEMORY_MB
      ? { check, status: 'ok', detail: `within ${NEW_ACCOUNT_MEMORY_MB} MB, which every account allows` }
      : {
          check,
          status: 'warn',
          detail: `new accounts are limited to ${NEW_ACCOUNT_MEMORY_MB} MB per function and no API here reports this account's limit: the deploy fails if it has not been raised`,
          fix: `ask AWS Support (or Service Quotas) to raise the Lambda function memory limit to ${plan.workerMemoryMb} MB, or deploy with --param workerMemory=${NEW_ACCOUNT_MEMORY_MB}`,
        };
  }
  return plan.workerMemoryMb <= limit
    ? { check, status: 'ok', detail: `within the account's ${limit} MB` }
    : {
        check,
        status: 'fail',
        detail: `the account allows ${limit} MB per function`,
        fix: `deploy with --param workerMemory=${limit}, or ask AWS Support to raise the limit to ${plan.workerMemoryMb} MB`,
      };
}

/** CloudFormation stack states and what to do before deploying over them (CloudFormation user guide, "Stack status codes"). */
const STACK_STATES: { match: RegExp; status: FindingStatus; detail: string; fix?: (stack: string, plan: DoctorPlan) => string }[] = [
  { match: /^(CREATE|UPDATE|IMPORT)_COMPLETE$|^UPDATE_ROLLBACK_COMPLETE$|^IMPORT_ROLLBACK_COMPLETE$/, status: 'ok', detail: 'exists and can be updated' },
  {
    match: /^ROLLBACK_COMPLETE$|^ROLLBACK_FAILED$|^CREATE_FAILED$/,
    status: 'fail',
    detail: 'its first deploy failed and rolled back: CloudFormation cannot update it',
    fix: (_, plan) => `remove it (npx serverless remove --stage ${plan.stage} --region ${plan.region}; empty its bucket first, docs/deploy.md "Teardown"), then deploy again`,
  },
  { match: /_IN_PROGRESS$/, status: 'fail', detail: 'an operation is in progress', fix: (stack, plan) => `wait for it to end: aws cloudformation wait stack-update-complete --stack-name ${stack} --region ${plan.region} (or watch the console)` },
  {
    match: /^UPDATE_ROLLBACK_FAILED$/,
    status: 'fail',
    detail: 'an update failed and so did its rollback',
    fix: (stack, plan) => `aws cloudformation continue-update-rollback --stack-name ${stack} --region ${plan.region}, after fixing what the stack's events name`,
  },
  { match: /^DELETE_FAILED$/, status: 'fail', detail: 'a removal failed (often a bucket that still holds objects)', fix: (stack) => `empty the bucket (docs/deploy.md "Teardown") and delete ${stack} again` },
];

async function stackFinding(plan: DoctorPlan, cloudformation: DoctorClients['cloudformation']): Promise<{ finding: Finding; bucket?: string }> {
  const name = `bspml-${plan.stage}`;
  const check = `stack ${name}`;
  let stack;
  try {
    stack = (await cloudformation.send(new DescribeStacksCommand({ StackName: name }))).Stacks?.[0];
  } catch (error) {
    if (error instanceof Error && error.name === 'ValidationError' && /does not exist/.test(error.message)) {
      return { finding: { check, status: 'ok', detail: `none yet in ${plan.region}: the deploy creates it` } };
    }
    return { finding: { check, status: 'warn', detail: `not checked: DescribeStacks failed (${describe(error)})`, fix: 'run doctor with credentials allowed cloudformation:DescribeStacks' } };
  }
  const status = String(stack?.StackStatus ?? 'unknown');
  const bucket = stack?.Outputs?.find((o) => o.OutputKey === 'DataBucket')?.OutputValue;
  const state = STACK_STATES.find((s) => s.match.test(status));
  if (!state) return { finding: { check, status: 'warn', detail: `is ${status}, a state doctor does not know` }, bucket };
  return { finding: { check, status: state.status, detail: `is ${status}: ${state.detail}`, ...(state.fix ? { fix: state.fix(name, plan) } : {}) }, bucket };
}

async function bucketFinding(plan: DoctorPlan, s3: DoctorClients['s3'], stackBucket: string | undefined): Promise<Finding> {
  if (plan.bucket === undefined) {
    return { check: 'data bucket', status: 'ok', detail: `derived as bspml-${plan.stage}-ACCOUNT-REGION: unique to this account and region` };
  }
  const check = `data bucket ${plan.bucket}`;
  try {
    await s3.send(new HeadBucketCommand({ Bucket: plan.bucket }));
  } catch (error) {
    const code = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    const name = error instanceof Error ? error.name : '';
    if (code === 404 || name === 'NotFound' || name === 'NoSuchBucket') return { check, status: 'ok', detail: 'the name is free' };
    if (code === 403 || code === 301 || name === 'Forbidden' || name === 'PermanentRedirect') {
      return { check, status: 'fail', detail: `the name is taken${code === 301 ? ' (by a bucket in another region)' : ' by another account'}: bucket names are global`, fix: 'choose another with --param bucket=NAME, or leave it out for the derived, per-account name' };
    }
    return { check, status: 'warn', detail: `not checked: HeadBucket failed (${describe(error)})` };
  }
  if (stackBucket === plan.bucket) return { check, status: 'ok', detail: `the stack's own bucket` };
  return {
    check,
    status: 'fail',
    detail: 'a bucket of this name already exists in your account and is not this stack\'s: CloudFormation cannot create it',
    fix: 'choose another with --param bucket=NAME; to read data from it, deploy with --param dataBuckets=' + plan.bucket,
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** The findings as a person reads them: one line each, its fix below; a last line with the verdict. */
export function formatFindings(findings: readonly Finding[]): string {
  const lines: string[] = [];
  for (const f of findings) {
    lines.push(`${f.status.toUpperCase().padEnd(4)}  ${f.check}: ${f.detail}`);
    if (f.fix) lines.push(`      fix: ${f.fix}`);
  }
  const failed = findings.filter((f) => f.status === 'fail').length;
  const warned = findings.filter((f) => f.status === 'warn').length;
  lines.push(failed ? `doctor: ${failed} problem(s) would fail the deploy or its jobs${warned ? `, ${warned} to check` : ''}` : `doctor: nothing found that would fail${warned ? ` (${warned} to check)` : ''}`);
  return lines.join('\n');
}

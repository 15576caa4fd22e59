import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import type { RecordedCall } from './record.js';
import { ResolvedTemplate, type Deployment, type Template } from './template.js';

/*
 * Every recorded AWS call checked against the packaged template: each call becomes the IAM
 * request AWS would authorise (action, resource ARN in the template's account and region, the
 * context keys the condition blocks read), evaluated by @cloud-copilot/iam-simulate against the
 * calling function's role and the resource's own policy. Then the other way: every permission a
 * role grants that no call used is listed, and must be justified below or removed.
 */

/** Emulator names and what they stand for in the template (logical ids). Buckets not named are taken as they are (the user's own). */
export interface NameMap {
  tables: Record<string, string>;
  buckets: Record<string, string>;
  /** By queue URL. */
  queues: Record<string, string>;
  /** By topic ARN. */
  topics: Record<string, string>;
}

/** One IAM request a call needs. */
export interface IamRequest {
  action: string;
  resource: string;
  context: Record<string, string>;
}

export interface CheckedRequest extends IamRequest {
  fn: string;
  role: string;
  call: string;
  allowed: boolean;
  /** Why it was denied (the simulator's verdict or error). */
  reason?: string;
}

export interface UnusedPermission {
  role: string;
  action: string;
  resource: string;
  /** Why it stays, when it is on the justified list. */
  justification?: string;
}

export interface IamReport {
  calls: number;
  functions: string[];
  requests: CheckedRequest[];
  denied: CheckedRequest[];
  unused: UnusedPermission[];
  /** Unused and not justified: remove them or say why they stay. */
  unjustified: UnusedPermission[];
  /** Functions of the template the run never called: the scenario needs a step for each (test/helpers/iam/scenario.ts). */
  uncovered: string[];
}

/**
 * Permissions no SDK call in the code makes, and why each stays: a role (or `*`, every role), an
 * action and the resource it may be on (a permission on any other resource is not covered); a
 * line here needs a reason a reviewer can check.
 */
export const JUSTIFIED_UNUSED: { role: string; action: string; resource: RegExp; reason: string }[] = [
  { role: '*', action: 'logs:CreateLogStream', resource: /:log-group:\/aws\/lambda\/[^:]+:\*$/, reason: 'the Lambda runtime writes the function\'s logs with its role (AWS Lambda developer guide, "Lambda execution role")' },
  { role: '*', action: 'logs:PutLogEvents', resource: /:log-group:\/aws\/lambda\/[^:]+:\*$/, reason: 'the Lambda runtime writes the function\'s logs with its role' },
  { role: 'WorkerRole', action: 'lambda:InvokeFunction', resource: /:function:[^:]+-workerFailed$/, reason: 'Lambda invokes the on-failure destination (workerFailed) with the worker\'s role; the emulated run plays Lambda and invokes it directly' },
  { role: 'PredictWorkerRole', action: 'lambda:InvokeFunction', resource: /:function:[^:]+-workerFailed$/, reason: 'Lambda invokes the on-failure destination (workerFailed) with the predict worker\'s role; the emulated run plays Lambda and invokes it directly' },
  { role: 'PredictWorkerRole', action: 's3:ListBucket', resource: /^arn:[^:]+:s3:::[^/]+$/, reason: 'S3 answers a GET of a missing key NoSuchKey only to a role that may list the prefix (models/* here): a model version deleted after its job started then fails the job with one line, not AccessDenied retried; the emulated run reads only models that exist' },
  { role: 'PredictWorkerRole', action: 's3:DeleteObject', resource: /^arn:[^:]+:s3:::[^/]+\/predictions\/\*\/_SUCCESS$/, reason: 'a predict job\'s finish takes its _SUCCESS marker back when the job ended FAILED while it ran (src/protocol/predictRound.ts): a race the scenario does not stage; test/aws/predict-job.test.ts does' },
  { role: 'AggregatorRole', action: 's3:PutObject', resource: /^arn:[^:]+:s3:::[^/]+\/predictions\/\*\/_SUCCESS$/, reason: 'a predict job whose filling arrival died before finishing is finished by the re-sent completion, which writes its _SUCCESS marker (src/protocol/predictRound.ts); the scenario\'s predict jobs all finish in their workers' },
  { role: 'AggregatorRole', action: 's3:DeleteObject', resource: /^arn:[^:]+:s3:::[^/]+\/predictions\/\*\/_SUCCESS$/, reason: 'that finish takes the marker back when the job ended FAILED while it ran, as the predict workers\' does' },
  { role: 'StartRole', action: 'sqs:SendMessage', resource: /:[^:]+-start-failures$/, reason: 'Lambda sends a failed asynchronous start to its on-failure queue with the start\'s role' },
  { role: 'AggregatorRole', action: 'sqs:GetQueueAttributes', resource: /:[^:]+-completions\.fifo$/, reason: 'the SQS event source mapping reads the queue\'s attributes with the aggregator\'s role (the managed policy AWSLambdaSQSQueueExecutionRole grants it)' },
  { role: 'AggregatorRole', action: 'sqs:GetQueueAttributes', resource: /:[^:]+-backup-checks$/, reason: 'the backup-checks event source mapping reads the queue\'s attributes with the aggregator\'s role (as for the completion queue)' },
  { role: '*', action: 's3:GetObjectVersion', resource: /^arn:[^:]+:s3:::[^/]+\/datasets\/\*$/, reason: 'a job started by an upload reads the uploaded version (GetObject with VersionId); s3rver keeps no versions, so its events carry none' },
  { role: '*', action: 's3:GetObject@dataBuckets', resource: /^arn:[^:]+:s3:::/, reason: 'read access to the buckets named by --param dataBuckets: the emulated run reads only the stack\'s own bucket' },
  { role: '*', action: 's3:GetObjectVersion@dataBuckets', resource: /^arn:[^:]+:s3:::/, reason: 'reads a pinned version of data in the buckets named by --param dataBuckets' },
  { role: '*', action: 's3:ListBucket@dataBuckets', resource: /^arn:[^:]+:s3:::/, reason: 'listing data sets in parts in the buckets named by --param dataBuckets' },
];

/**
 * Functions whose AWS calls the SDK middleware cannot see, and why: their roles' permissions are
 * listed as unused with this reason, and they are not reported as uncovered. Record them and drop
 * the line (a hook in their HTTP signer that calls recordCall would do).
 */
export const UNRECORDED: Record<string, string> = {
  predict: 'predict signs its own S3 GETs without the AWS SDK (src/serve/s3Get.ts), which the SDK middleware cannot see; its role is checked statement by statement in test/aws/template.test.ts',
};

/** The IAM request(s) an SDK call needs, with its resource named as in the template. */
export function requestsOf(call: RecordedCall, template: ResolvedTemplate, names: NameMap): IamRequest[] {
  const input = call.input as Record<string, any>;
  const { partition, region, account } = template.at;
  const secure = { 'aws:SecureTransport': 'true' };
  const bucket = (name: string) => (names.buckets[name] ? String(template.attribute(names.buckets[name]!)) : name);
  const table = (name: string) => {
    const id = names.tables[name];
    if (!id) throw new Error(`${call.fn}: ${call.service}:${call.command} on table ${name}, which the name map does not place in the template`);
    return String(template.attribute(id, 'Arn'));
  };
  const queue = (url: string) => {
    const id = names.queues[url];
    if (!id) throw new Error(`${call.fn}: ${call.service}:${call.command} on queue ${url}, which the name map does not place in the template`);
    return String(template.attribute(id, 'Arn'));
  };
  const one = (action: string, resource: string, context: Record<string, string> = {}): IamRequest[] => [{ action, resource, context: { ...secure, ...context } }];
  switch (call.service) {
    case 'S3': {
      const object = `arn:${partition}:s3:::${bucket(input.Bucket)}/${input.Key}`;
      const versioned = input.VersionId !== undefined;
      switch (call.command) {
        case 'GetObject':
        case 'HeadObject':
          return one(versioned ? 's3:GetObjectVersion' : 's3:GetObject', object);
        case 'PutObject':
          return one('s3:PutObject', object);
        case 'DeleteObject':
          return one(versioned ? 's3:DeleteObjectVersion' : 's3:DeleteObject', object);
        case 'DeleteObjects':
          return (input.Delete?.Objects ?? []).flatMap((o: { Key: string }) => one('s3:DeleteObject', `arn:${partition}:s3:::${bucket(input.Bucket)}/${o.Key}`));
        case 'ListObjects':
        case 'ListObjectsV2':
        case 'HeadBucket':
          return one('s3:ListBucket', `arn:${partition}:s3:::${bucket(input.Bucket)}`, input.Prefix !== undefined ? { 's3:prefix': String(input.Prefix) } : {});
      }
      break;
    }
    case 'DynamoDB': {
      if (call.command === 'BatchGetItem' || call.command === 'BatchWriteItem') {
        return Object.keys(input.RequestItems ?? {}).flatMap((name) => one(`dynamodb:${call.command}`, table(name)));
      }
      const arn = table(input.TableName);
      return one(`dynamodb:${call.command}`, input.IndexName ? `${arn}/index/${input.IndexName}` : arn);
    }
    case 'SQS': {
      const action = call.command.replace(/Batch$/, '');
      return one(`sqs:${action}`, queue(input.QueueUrl));
    }
    case 'SNS': {
      const id = names.topics[input.TopicArn];
      if (!id) throw new Error(`${call.fn}: SNS:${call.command} to ${input.TopicArn}, which the name map does not place in the template`);
      // PublishBatch is authorised as sns:Publish (Amazon SNS API reference, PublishBatch).
      return one('sns:Publish', String(template.attribute(id)));
    }
    case 'Lambda': {
      if (call.command === 'Invoke' || call.command === 'InvokeAsync') {
        const name = String(input.FunctionName);
        const arn = name.startsWith('arn:') ? name : `arn:${partition}:lambda:${region}:${account}:function:${name}`;
        return one('lambda:InvokeFunction', arn);
      }
      break;
    }
  }
  // A call this map does not know: checked as the plain action on every resource, which no role here grants.
  return one(`${call.service.toLowerCase()}:${call.command}`, '*');
}

/** The functions in the template, by the name the recorder uses (`start`), with their role's logical id. */
export function functionRoles(template: ResolvedTemplate): Map<string, string> {
  const roles = new Map<string, string>();
  for (const [id, resource] of Object.entries(template.template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function' || !id.endsWith('LambdaFunction')) continue;
    const fn = id.slice(0, 1).toLowerCase() + id.slice(1, -'LambdaFunction'.length);
    const role = resource.Properties?.Role?.['Fn::GetAtt']?.[0];
    if (typeof role === 'string') roles.set(fn, role);
  }
  return roles;
}

type Statement = { Effect: string; Action: string | string[]; Resource: string | string[]; Condition?: unknown; Principal?: unknown };

/** A role's inline policies, resolved (managed policies only ever add: VPC access and X-Ray, when enabled). */
function inlinePolicies(template: ResolvedTemplate, role: string): { name: string; policy: { Version: string; Statement: Statement[] } }[] {
  const properties = template.resolve(template.template.Resources[role]?.Properties ?? {});
  return (properties.Policies ?? []).map((p: { PolicyName: string; PolicyDocument: { Version: string; Statement: Statement[] } }) => ({ name: p.PolicyName, policy: p.PolicyDocument }));
}

/** The resource policy AWS would also evaluate for `resource` (a bucket's, a queue's or a topic's), if the template gives it one. */
function resourcePolicyOf(template: ResolvedTemplate, request: IamRequest): unknown {
  for (const [id, r] of Object.entries(template.template.Resources)) {
    if (!template.exists(id)) continue;
    if (r.Type === 'AWS::S3::BucketPolicy' && request.action.startsWith('s3:')) {
      const p = template.resolve(r.Properties);
      const arn = `arn:${template.at.partition}:s3:::${p.Bucket}`;
      if (request.resource === arn || request.resource.startsWith(`${arn}/`)) return p.PolicyDocument;
    }
    if (r.Type === 'AWS::SQS::QueuePolicy' && request.action.startsWith('sqs:')) {
      const p = template.resolve(r.Properties);
      const arns = (p.Queues as string[]).map((url) => url.replace(/^https:\/\/sqs\.([^.]+)\.amazonaws\.com\/(\d+)\/(.+)$/, `arn:${template.at.partition}:sqs:$1:$2:$3`));
      if (arns.includes(request.resource)) return p.PolicyDocument;
    }
    if (r.Type === 'AWS::SNS::TopicPolicy' && request.action.startsWith('sns:')) {
      const p = template.resolve(r.Properties);
      if ((p.Topics as string[]).includes(request.resource)) return p.PolicyDocument;
    }
  }
  return undefined;
}

/** IAM's wildcard match (`*` any run, `?` one character), case-sensitive as for resources. */
function wildcard(pattern: string, value: string, ignoreCase = false): boolean {
  const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, ignoreCase ? 'i' : '');
  return regex.test(value);
}

export async function checkIam(templateJson: Template, calls: readonly RecordedCall[], names: NameMap, at?: Deployment): Promise<IamReport> {
  const template = new ResolvedTemplate(templateJson, at);
  const roles = functionRoles(template);
  const cache = new Map<string, { allowed: boolean; reason?: string }>();
  const requests: CheckedRequest[] = [];
  for (const call of calls) {
    const role = roles.get(call.fn);
    const label = `${call.service}:${call.command}`;
    if (!role) {
      requests.push({ fn: call.fn, role: '?', call: label, action: label, resource: '?', context: {}, allowed: false, reason: `no function ${call.fn} in the template` });
      continue;
    }
    let needed: IamRequest[];
    try {
      needed = requestsOf(call, template, names);
    } catch (error) {
      requests.push({ fn: call.fn, role, call: label, action: label, resource: '?', context: {}, allowed: false, reason: (error as Error).message });
      continue;
    }
    for (const request of needed) {
      const key = JSON.stringify([role, request]);
      let verdict = cache.get(key);
      if (!verdict) {
        verdict = await simulate(template, role, request);
        cache.set(key, verdict);
      }
      requests.push({ fn: call.fn, role, call: label, ...request, ...verdict });
    }
  }
  const unused = unusedPermissions(template, roles, requests);
  return {
    calls: calls.length,
    functions: [...new Set(calls.map((c) => c.fn))].sort(),
    requests,
    denied: requests.filter((r) => !r.allowed),
    unused,
    unjustified: unused.filter((u) => u.justification === undefined),
    uncovered: [...roles.keys()].filter((fn) => !calls.some((c) => c.fn === fn) && UNRECORDED[fn] === undefined).sort(),
  };
}

async function simulate(template: ResolvedTemplate, role: string, request: IamRequest): Promise<{ allowed: boolean; reason?: string }> {
  const resourcePolicy = resourcePolicyOf(template, request);
  const simulation: Simulation = {
    request: {
      principal: String(template.attribute(role, 'Arn')),
      action: request.action,
      resource: { resource: request.resource, accountId: template.at.account },
      contextVariables: request.context,
    },
    identityPolicies: inlinePolicies(template, role),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...(resourcePolicy ? { resourcePolicy } : {}),
  };
  const result = await runSimulation(simulation, {});
  if (result.resultType === 'error') return { allowed: false, reason: `simulator: ${JSON.stringify(result.errors)}` };
  return result.overallResult === 'Allowed' ? { allowed: true } : { allowed: false, reason: result.overallResult };
}

/** Each (role, action, resource) an Allow statement grants that no allowed request of a function with that role matched. */
function unusedPermissions(template: ResolvedTemplate, roles: Map<string, string>, requests: CheckedRequest[]): UnusedPermission[] {
  const unused: UnusedPermission[] = [];
  const dataBuckets = new Set(dataBucketNames(template));
  for (const role of new Set(roles.values())) {
    const made = requests.filter((r) => r.role === role && r.allowed);
    for (const { policy } of inlinePolicies(template, role)) {
      for (const s of policy.Statement) {
        if (s.Effect !== 'Allow') continue;
        for (const action of [s.Action].flat()) {
          for (const resource of [s.Resource].flat()) {
            if (made.some((r) => wildcard(action, r.action, true) && wildcard(resource, r.resource))) continue;
            const onDataBucket = [...dataBuckets].some((b) => resource === `arn:${template.at.partition}:s3:::${b}` || resource.startsWith(`arn:${template.at.partition}:s3:::${b}/`));
            const unrecorded = [...roles].find(([fn, r]) => r === role && UNRECORDED[fn] !== undefined);
            if (unrecorded) {
              unused.push({ role, action, resource, justification: `not recorded: ${UNRECORDED[unrecorded[0]]}` });
              continue;
            }
            const justified = JUSTIFIED_UNUSED.find((j) => (j.role === '*' || j.role === role) && j.action === (onDataBucket ? `${action}@dataBuckets` : action) && j.resource.test(resource));
            unused.push({ role, action, resource, ...(justified ? { justification: justified.reason } : {}) });
          }
        }
      }
    }
  }
  return unused;
}

/** The buckets --param dataBuckets named, as the template records them (the stack's DataSources output). */
function dataBucketNames(template: ResolvedTemplate): string[] {
  const uris = String(template.resolve((template.template as { Outputs?: Record<string, { Value: unknown }> }).Outputs?.DataSources?.Value ?? ''));
  const own = template.exists('S3BucketData') ? String(template.attribute('S3BucketData')) : '';
  return uris
    .split(',')
    .map((u) => /^s3:\/\/([^/]+)/.exec(u.trim())?.[1])
    .filter((b): b is string => b !== undefined && b !== own);
}

/** The check's last line. */
export function iamSummary(report: IamReport): string {
  return `iam: ${report.calls} calls by ${report.functions.length} functions checked against the packaged template, ${report.denied.length} denied, ${report.unused.length} permissions unused`;
}

/** Every denied request and unused permission, one line each, then the summary line. */
export function iamDetails(report: IamReport): string[] {
  const lines: string[] = report.uncovered.map((fn) => `UNCOVERED ${fn}: the emulated run never called this function; add its paths to test/helpers/iam/scenario.ts`);
  const seen = new Set<string>();
  for (const d of report.denied) {
    const line = `DENIED ${d.fn} (${d.role}): ${d.call} needs ${d.action} on ${d.resource}${Object.keys(d.context).length > 1 ? ` ${JSON.stringify(d.context)}` : ''}: ${d.reason}`;
    if (!seen.has(line)) lines.push(line);
    seen.add(line);
  }
  for (const u of report.unused) {
    lines.push(`unused ${u.role}: ${u.action} on ${u.resource}: ${u.justification ? `kept: ${u.justification}` : 'NOT JUSTIFIED: remove it, or add the reason to JUSTIFIED_UNUSED (test/helpers/iam/check.ts)'}`);
  }
  return lines;
}

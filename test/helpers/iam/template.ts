/*
 * The packaged CloudFormation template read as AWS would read it once deployed: intrinsic functions
 * (Ref, Fn::GetAtt, Fn::Sub, Fn::If, Fn::Join, Fn::Split, Fn::Select) resolved for one account,
 * region and partition, so a role's policies and a resource policy name the same ARNs a call would.
 */

export type Template = {
  Conditions?: Record<string, unknown>;
  Resources: Record<string, { Type: string; Properties?: Record<string, any>; Condition?: string }>;
};

export interface Deployment {
  account: string;
  region: string;
  partition: string;
  stackName: string;
}

export const DEFAULT_DEPLOYMENT: Deployment = { account: '123456789012', region: 'us-east-1', partition: 'aws', stackName: 'bspml-dev' };

/** AWS::NoValue: dropped from the list or object that holds it. */
const NO_VALUE = Symbol('AWS::NoValue');

export class ResolvedTemplate {
  private readonly attributes = new Map<string, unknown>();

  constructor(
    readonly template: Template,
    readonly at: Deployment = DEFAULT_DEPLOYMENT,
  ) {}

  /** `value` with every intrinsic function resolved. */
  resolve(value: unknown): any {
    const out = this.walk(value);
    return out === NO_VALUE ? undefined : out;
  }

  /** Whether a resource exists in this deployment (its Condition, if any, holds). */
  exists(logicalId: string): boolean {
    const resource = this.template.Resources[logicalId];
    return resource !== undefined && (resource.Condition === undefined || this.condition(resource.Condition));
  }

  condition(name: string): boolean {
    const condition = this.template.Conditions?.[name];
    if (condition === undefined) throw new Error(`template: no condition ${name}`);
    return Boolean(this.walk(condition));
  }

  /** Ref (attribute undefined) or Fn::GetAtt of a resource, as CloudFormation returns them for its type. */
  attribute(logicalId: string, attribute?: string): unknown {
    const key = `${logicalId}.${attribute ?? ''}`;
    if (this.attributes.has(key)) return this.attributes.get(key);
    const pseudo = this.pseudo(logicalId);
    if (pseudo !== undefined && attribute === undefined) return pseudo;
    const resource = this.template.Resources[logicalId];
    if (!resource) throw new Error(`template: Ref or GetAtt of ${logicalId}, which is not a resource`);
    const p = resource.Properties ?? {};
    const { account, region, partition } = this.at;
    const name = (property: string) => String(this.walk(p[property] ?? logicalId));
    let value: unknown;
    switch (`${resource.Type}.${attribute ?? 'Ref'}`) {
      case 'AWS::DynamoDB::Table.Ref':
        value = name('TableName');
        break;
      case 'AWS::DynamoDB::Table.Arn':
        value = `arn:${partition}:dynamodb:${region}:${account}:table/${name('TableName')}`;
        break;
      case 'AWS::SQS::Queue.Ref':
      case 'AWS::SQS::Queue.QueueUrl':
        value = `https://sqs.${region}.amazonaws.com/${account}/${name('QueueName')}`;
        break;
      case 'AWS::SQS::Queue.Arn':
        value = `arn:${partition}:sqs:${region}:${account}:${name('QueueName')}`;
        break;
      case 'AWS::SQS::Queue.QueueName':
        value = name('QueueName');
        break;
      case 'AWS::SNS::Topic.Ref':
      case 'AWS::SNS::Topic.TopicArn':
        value = `arn:${partition}:sns:${region}:${account}:${name('TopicName')}`;
        break;
      case 'AWS::SNS::Topic.TopicName':
        value = name('TopicName');
        break;
      case 'AWS::Lambda::Function.Ref':
        value = name('FunctionName');
        break;
      case 'AWS::Lambda::Function.Arn':
        value = `arn:${partition}:lambda:${region}:${account}:function:${name('FunctionName')}`;
        break;
      case 'AWS::S3::Bucket.Ref':
        value = name('BucketName');
        break;
      case 'AWS::S3::Bucket.Arn':
        value = `arn:${partition}:s3:::${name('BucketName')}`;
        break;
      case 'AWS::IAM::Role.Arn':
        value = `arn:${partition}:iam::${account}:role/${logicalId}`;
        break;
      case 'AWS::Logs::LogGroup.Ref':
        value = name('LogGroupName');
        break;
      case 'AWS::Logs::LogGroup.Arn':
        value = `arn:${partition}:logs:${region}:${account}:log-group:${name('LogGroupName')}:*`;
        break;
      default:
        if (attribute === undefined) value = logicalId;
        else throw new Error(`template: Fn::GetAtt ${logicalId}.${attribute} (${resource.Type}) is not known to the IAM check`);
    }
    this.attributes.set(key, value);
    return value;
  }

  private pseudo(name: string): unknown {
    const { account, region, partition, stackName } = this.at;
    const values: Record<string, unknown> = {
      'AWS::AccountId': account,
      'AWS::Region': region,
      'AWS::Partition': partition,
      'AWS::StackName': stackName,
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::NoValue': NO_VALUE,
    };
    return values[name];
  }

  private walk(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.walk(v)).filter((v) => v !== NO_VALUE);
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value);
    if (entries.length === 1) {
      const [fn, arg] = entries[0]!;
      switch (fn) {
        case 'Ref':
          return this.attribute(String(arg));
        case 'Fn::GetAtt': {
          const [id, attribute] = Array.isArray(arg) ? arg : String(arg).split('.');
          return this.attribute(String(id), String(attribute));
        }
        case 'Fn::Sub':
          return this.sub(arg);
        case 'Fn::If': {
          const [condition, yes, no] = arg as [string, unknown, unknown];
          return this.walk(this.condition(condition) ? yes : no);
        }
        case 'Fn::Equals': {
          const [a, b] = (arg as unknown[]).map((v) => this.walk(v));
          return JSON.stringify(a) === JSON.stringify(b);
        }
        case 'Fn::Not':
          return !this.walk((arg as unknown[])[0]);
        case 'Fn::And':
          return (arg as unknown[]).every((v) => this.walk(v));
        case 'Fn::Or':
          return (arg as unknown[]).some((v) => this.walk(v));
        case 'Condition':
          return this.condition(String(arg));
        case 'Fn::Join': {
          const [separator, parts] = arg as [string, unknown];
          return (this.walk(parts) as unknown[]).join(separator);
        }
        case 'Fn::Split': {
          const [separator, text] = arg as [string, unknown];
          return String(this.walk(text)).split(separator);
        }
        case 'Fn::Select': {
          const [index, list] = arg as [unknown, unknown];
          return (this.walk(list) as unknown[])[Number(this.walk(index))];
        }
        default:
          if (fn.startsWith('Fn::')) throw new Error(`template: ${fn} is not known to the IAM check`);
      }
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) {
      const resolved = this.walk(v);
      if (resolved !== NO_VALUE) out[k] = resolved;
    }
    return out;
  }

  private sub(arg: unknown): string {
    const [text, variables] = typeof arg === 'string' ? [arg, {}] : (arg as [string, Record<string, unknown>]);
    return text.replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
      if (name in variables) return String(this.walk(variables[name]));
      const [id, attribute] = name.split('.');
      return String(this.attribute(id!, attribute));
    });
  }
}

import { parseDataSources } from '../aws/dataSources.js';
import { BspmlError } from '../errors.js';

/*
 * Where a deployed stage lives: `--stage` (default dev) and `--region` name the CloudFormation
 * stack `bspml-STAGE`, whose outputs (serverless.yml: DataBucket, StateTableName, StartFunction)
 * say the rest. An option given explicitly wins; with an emulator endpoint, or when the outputs
 * cannot be read, names derive from the stage as serverless.yml makes them.
 */

export interface StackOptions {
  stage: string;
  region?: string;
  /** An emulator's endpoint: no CloudFormation to ask. */
  endpoint?: string;
}

export interface StackNames {
  table: string;
  startFunction: string;
  bucket?: string;
  /** Where jobs may read data (the DataSources output: s3:// prefixes); absent when the stack does not say. */
  dataSources?: string[];
  /** Where the names came from, for messages. */
  source: string;
}

export const SERVICE = 'bspml';

export function derivedNames(stage: string): StackNames {
  return { table: `${SERVICE}-${stage}-state`, startFunction: `${SERVICE}-${stage}-start`, source: `the names stage ${stage} gets` };
}

/** The stack's names, from its outputs when it can be read. */
export async function stackNames(options: StackOptions): Promise<StackNames> {
  const derived = derivedNames(options.stage);
  if (options.endpoint) return derived;
  const stackName = `${SERVICE}-${options.stage}`;
  const { CloudFormationClient, DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
  const { awsClientTimeouts } = await import('../util/clients.js');
  const client = new CloudFormationClient({ ...awsClientTimeouts(10_000), region: options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION });
  try {
    const out = await client.send(new DescribeStacksCommand({ StackName: stackName }));
    const outputs = Object.fromEntries((out.Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue]));
    return {
      table: outputs.StateTableName ?? derived.table,
      startFunction: outputs.StartFunction ?? derived.startFunction,
      ...(outputs.DataBucket ? { bucket: outputs.DataBucket } : {}),
      ...(outputs.DataSources ? { dataSources: parseDataSources(outputs.DataSources) } : {}),
      source: `the outputs of stack ${stackName}`,
    };
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    // A stack that does not exist is worth saying so; anything else (no permission to describe
    // stacks, say) leaves the names serverless.yml derives from the stage.
    if (name === 'ValidationError' && /does not exist/.test(String((error as Error).message))) {
      throw new BspmlError('E_AWS', `stack ${stackName} does not exist in ${options.region ?? 'the default region'}: deploy it (docs/deploy.md), or name --stage and --region`, { cause: error });
    }
    return derived;
  } finally {
    client.destroy();
  }
}

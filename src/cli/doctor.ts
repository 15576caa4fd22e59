import { Option, type Command } from 'commander';
import { BspmlError } from '../errors.js';
import type { DoctorClients, DoctorPlan } from '../aws/doctor.js';
import type { CliIo } from './io.js';
import { oneOf, positiveInt } from './options.js';

export interface DoctorOptions {
  stage: string;
  region?: string;
  workers: number;
  workerMemory: number;
  architecture: 'arm64' | 'x86_64';
  bucket?: string;
  aggregatorConcurrency?: number;
}

/**
 * `bspml doctor`: checks this account (the user's credentials) for what would fail the deploy of
 * a stage or its jobs, and prints each finding with its fix; exits 1 when one would fail. Clients
 * are injectable so tests can stand in for the APIs no emulator has.
 */
export async function doctor(options: DoctorOptions, io: CliIo, clients?: DoctorClients): Promise<void> {
  const region = options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!region) throw new BspmlError('E_ARGUMENT', 'doctor: name the region to deploy to with --region or AWS_REGION');
  const { formatFindings, runDoctor } = await import('../aws/doctor.js');
  const plan: DoctorPlan = {
    stage: options.stage,
    region,
    workers: options.workers,
    workerMemoryMb: options.workerMemory,
    architecture: options.architecture,
    ...(options.bucket ? { bucket: options.bucket } : {}),
    ...(options.aggregatorConcurrency !== undefined ? { aggregatorConcurrency: options.aggregatorConcurrency } : {}),
  };
  const own = clients ? { clients, close: undefined } : await awsClients(region);
  try {
    const findings = await runDoctor(plan, own.clients);
    io.stdout.write(`${formatFindings(findings)}\n`);
    if (findings.some((f) => f.status === 'fail')) throw new BspmlError('E_DOCTOR', 'doctor found what would fail (above)');
  } finally {
    own.close?.();
  }
}

async function awsClients(region: string): Promise<{ clients: DoctorClients; close: () => void }> {
  const [{ LambdaClient }, { CloudFormationClient }, { S3Client }, { awsClientTimeouts }] = await Promise.all([
    import('@aws-sdk/client-lambda'),
    import('@aws-sdk/client-cloudformation'),
    import('@aws-sdk/client-s3'),
    import('../util/clients.js'),
  ]);
  const config = { ...awsClientTimeouts(10_000), region };
  const clients = { lambda: new LambdaClient(config), cloudformation: new CloudFormationClient(config), s3: new S3Client(config) };
  return { clients, close: () => Object.values(clients).forEach((c) => c.destroy()) };
}

export function addDoctorCommand(program: Command, io: CliIo): void {
  program
    .command('doctor')
    .description('check this AWS account for what would fail a deploy or its jobs (region, Lambda limits, the stack, the bucket name), each with its fix')
    .option('--stage <stage>', 'the stage to deploy', 'dev')
    .option('--region <region>', 'AWS region (default: AWS_REGION)')
    .option('--workers <n>', 'workers a job runs at once (W)', positiveInt, 8)
    .option('--worker-memory <mb>', 'worker memory (MB), as --param workerMemory', positiveInt, 3008)
    .addOption(new Option('--architecture <arch>', 'as --param architecture').argParser(oneOf(['arm64', 'x86_64'] as const)).default('arm64'))
    .option('--bucket <name>', 'the data bucket name, as --param bucket (default: derived per account)')
    .option('--aggregator-concurrency <n>', 'as --param aggregatorConcurrency', positiveInt)
    .action((options: DoctorOptions) => doctor(options, io));
}

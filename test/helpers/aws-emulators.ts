import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PublishBatchCommand, type PublishBatchCommandOutput } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createSqsServer } from 'local-aws-sqs';
import { startS3rver, type LocalS3 } from '../../src/emulators/s3rver.js';
import { recordCall } from './iam/record.js';
import type { SnsLike } from '../../src/aws/SnsFanout.js';
import type { InvokeCommand, InvokeCommandOutput } from '@aws-sdk/client-lambda';
import type { LambdaLike } from '../../src/aws/LambdaCompletion.js';
import { createStateTable } from '../../src/stores/dynamodb/createTable.js';
import { createDynamoDbClient } from '../../src/aws/dynamodb.js';
import { startDynalite } from '../../src/emulators/dynalite.js';

/*
 * The emulators an AWS-path test runs against, all in this process: dynalite for DynamoDB,
 * s3rver for S3, local-aws-sqs for the FIFO completion queue. SNS has no working emulator here
 * (none among the in-process emulators this project uses), so it is stubbed at its boundary: the real PublishBatchCommand is captured.
 */

export interface AwsEmulators {
  env: Record<string, string>;
  s3: LocalS3;
  dynamodbEndpoint: string;
  sqsEndpoint: string;
  queueUrl: string;
  dlqUrl: string;
  bucket: string;
  table: string;
  close(): Promise<void>;
}

export async function startAwsEmulators(options: { bucket?: string; table?: string } = {}): Promise<AwsEmulators> {
  const bucket = options.bucket ?? 'bspml-test-data';
  const table = options.table ?? 'bspml-test-state';
  const dynamo = await startDynalite();
  const dynamoClient = createDynamoDbClient({ endpoint: dynamo.endpoint });
  await createStateTable(dynamoClient, table).finally(() => dynamoClient.destroy());
  const s3 = await startS3rver([bucket]);
  const sqsServer: Server = await createSqsServer({ port: 0, hostname: '127.0.0.1' });
  const sqsEndpoint = `http://127.0.0.1:${(sqsServer.address() as AddressInfo).port}`;
  const sqs = localSqsClient(sqsEndpoint);
  // As serverless.yml declares them: a FIFO queue without content-based deduplication, and its DLQ.
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: 'completions-dlq.fifo', Attributes: { FifoQueue: 'true' } }));
  const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: 'completions.fifo',
      Attributes: {
        FifoQueue: 'true',
        ContentBasedDeduplication: 'false',
        VisibilityTimeout: '30',
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 3 }),
      },
    }),
  );
  sqs.destroy();
  return {
    env: {
      BSPML_TABLE: table,
      BSPML_BUCKET: bucket,
      BSPML_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:bspml-test-rounds',
      BSPML_PREDICT_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:bspml-test-predict',
      BSPML_QUEUE_URL: queue.QueueUrl!,
      BSPML_DYNAMODB_ENDPOINT: dynamo.endpoint,
      BSPML_S3_ENDPOINT: s3.endpoint,
      BSPML_SQS_ENDPOINT: sqsEndpoint,
      AWS_REGION: 'us-east-1',
    },
    s3,
    dynamodbEndpoint: dynamo.endpoint,
    sqsEndpoint,
    queueUrl: queue.QueueUrl!,
    dlqUrl: dlq.QueueUrl!,
    bucket,
    table,
    close: async () => {
      await new Promise<void>((resolve) => {
        sqsServer.closeAllConnections();
        sqsServer.close(() => resolve());
      });
      await s3.close();
      await dynamo.close();
    },
  };
}

export function localSqsClient(endpoint: string): SQSClient {
  return new SQSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
}

/** One message as SNS would deliver it to a subscriber. */
export interface PublishedMessage {
  topicArn: string;
  id: string;
  message: string;
}

/**
 * SNS at its boundary: takes the SDK's PublishBatchCommand as the SNS client would, checks it
 * against SNS's limits (which the real service enforces with an error), and keeps each message
 * for the test to deliver. `failNext` makes entries fail as SNS reports internal errors.
 */
export class CapturingSns implements SnsLike {
  readonly calls: PublishBatchCommand['input'][] = [];
  readonly pending: PublishedMessage[] = [];
  failNext: { entries: number; senderFault?: boolean } | undefined;

  async send(command: PublishBatchCommand): Promise<Pick<PublishBatchCommandOutput, 'Successful' | 'Failed'>> {
    const input = command.input;
    // As the SNS client would have sent it: the IAM check sees this call (test/helpers/iam/record.ts).
    recordCall('SNSClient', 'PublishBatchCommand', input);
    const entries = input.PublishBatchRequestEntries ?? [];
    if (entries.length === 0 || entries.length > 10) throw new Error(`TooManyEntriesInBatchRequest: ${entries.length} entries`);
    const bytes = entries.reduce((sum, e) => sum + Buffer.byteLength(e.Message ?? ''), 0);
    if (bytes > 256 * 1024) throw new Error(`BatchRequestTooLong: ${bytes} bytes`);
    if (new Set(entries.map((e) => e.Id)).size !== entries.length) throw new Error('BatchEntryIdsNotDistinct');
    this.calls.push(input);
    const failing = new Set(entries.slice(0, this.failNext?.entries ?? 0).map((e) => e.Id));
    const senderFault = this.failNext?.senderFault ?? false;
    this.failNext = undefined;
    const ok = entries.filter((e) => !failing.has(e.Id));
    for (const e of ok) this.pending.push({ topicArn: input.TopicArn!, id: e.Id!, message: e.Message! });
    return {
      Successful: ok.map((e) => ({ Id: e.Id, MessageId: `msg-${e.Id}` })),
      Failed: [...failing].map((Id) => ({ Id, Code: senderFault ? 'InvalidParameter' : 'InternalError', SenderFault: senderFault, Message: 'stubbed failure' })),
    };
  }

  /** Takes every message not yet delivered. */
  take(): PublishedMessage[] {
    return this.pending.splice(0);
  }
}

/**
 * Lambda's asynchronous Invoke at its boundary (no Lambda emulator here): takes the SDK's
 * InvokeCommand as the Lambda client would, keeps each event for the test to hand to the invoked
 * function, and answers 202 Accepted, as Lambda does when it queues an asynchronous invocation.
 */
export class CapturingLambda implements LambdaLike {
  readonly pending: { functionName: string; event: unknown }[] = [];

  async send(command: InvokeCommand): Promise<Pick<InvokeCommandOutput, 'StatusCode'>> {
    const input = command.input;
    // As the Lambda client would have sent it: the IAM check sees this call (test/helpers/iam/record.ts).
    recordCall('LambdaClient', 'InvokeCommand', input);
    if (input.InvocationType !== 'Event') throw new Error(`CapturingLambda: only asynchronous invokes are expected, got ${input.InvocationType}`);
    this.pending.push({ functionName: String(input.FunctionName), event: JSON.parse(Buffer.from(input.Payload as Uint8Array).toString('utf8')) as unknown });
    return { StatusCode: 202 };
  }

  /** Takes every event not yet delivered. */
  take(): { functionName: string; event: unknown }[] {
    return this.pending.splice(0);
  }
}

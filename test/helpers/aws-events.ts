import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { Message } from '@aws-sdk/client-sqs';
import type { S3Event, SNSEvent, SQSEvent, SQSRecord } from 'aws-lambda';
import type S3rver from 's3rver';
import type { AsyncFailure } from '../../handlers/workerFailed.js';
import type { PublishedMessage } from './aws-emulators.js';

/*
 * Lambda event factories: the shapes AWS hands each function, filled from what the emulators and
 * the SNS stub actually produced, so a handler sees what it would see on AWS.
 */

/**
 * The next S3 event s3rver emits for `key` (an ObjectCreated notification, as S3 sends the start
 * function). Call before the upload; await after it. S3 URL-encodes keys in events; s3rver does
 * not, so the key is encoded here as S3 would.
 */
export function nextS3Event(server: S3rver, key: string): Promise<S3Event> {
  // s3rver is a Koa app, hence an EventEmitter, which its type declarations leave out.
  const emitter = server as unknown as EventEmitter;
  return new Promise((resolve) => {
    const listener = (event: S3Event) => {
      const record = event.Records[0];
      if (record?.s3.object.key !== key) return;
      emitter.off('event', listener);
      record.s3.object.key = encodeURIComponent(key).replace(/%2F/g, '/').replace(/%20/g, '+');
      record.s3.object.sequencer = String(record.s3.object.sequencer);
      resolve(event);
    };
    emitter.on('event', listener);
  });
}

/** SNS invokes a subscribed Lambda asynchronously with one record per message. */
export function snsEvent(message: PublishedMessage): SNSEvent {
  return {
    Records: [
      {
        EventVersion: '1.0',
        EventSource: 'aws:sns',
        EventSubscriptionArn: `${message.topicArn}:${randomUUID()}`,
        Sns: {
          Type: 'Notification',
          MessageId: randomUUID(),
          TopicArn: message.topicArn,
          Subject: '',
          Message: message.message,
          Timestamp: new Date().toISOString(),
          SignatureVersion: '1',
          Signature: 'EXAMPLE',
          SigningCertUrl: 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService.pem',
          UnsubscribeUrl: 'https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe',
          MessageAttributes: {},
        },
      },
    ],
  };
}

/** The batch an SQS event source mapping hands the aggregator, from messages ReceiveMessage returned. */
export function sqsEvent(messages: Message[], queueArn = 'arn:aws:sqs:us-east-1:123456789012:completions.fifo'): SQSEvent {
  return { Records: messages.map((m) => sqsRecord(m, queueArn)) };
}

function sqsRecord(m: Message, queueArn: string): SQSRecord {
  const a = m.Attributes ?? {};
  return {
    messageId: m.MessageId!,
    receiptHandle: m.ReceiptHandle!,
    body: m.Body!,
    attributes: {
      ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
      SentTimestamp: a.SentTimestamp ?? String(Date.now()),
      SenderId: a.SenderId ?? 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      ...(a.MessageGroupId ? { MessageGroupId: a.MessageGroupId } : {}),
      ...(a.MessageDeduplicationId ? { MessageDeduplicationId: a.MessageDeduplicationId } : {}),
      ...(a.SequenceNumber ? { SequenceNumber: a.SequenceNumber } : {}),
    },
    messageAttributes: {},
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: 'us-east-1',
  };
}

/** A completion record built by hand, for cases the queue cannot produce on demand (a 3rd receive). */
export function sqsEventOf(bodies: { body: unknown; groupId: string; receiveCount?: number }[]): SQSEvent {
  return {
    Records: bodies.map(({ body, groupId, receiveCount }) =>
      sqsRecord(
        {
          MessageId: randomUUID(),
          ReceiptHandle: randomUUID(),
          Body: JSON.stringify(body),
          Attributes: { ApproximateReceiveCount: String(receiveCount ?? 1), MessageGroupId: groupId },
        },
        'arn:aws:sqs:us-east-1:123456789012:completions.fifo',
      ),
    ),
  };
}

/** What Lambda sends the on-failure destination after an async invocation used its retries. */
export function asyncFailureEvent(request: SNSEvent, errorMessage: string, attempts = 3): AsyncFailure {
  return {
    requestContext: { requestId: randomUUID(), functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:bspml-dev-worker:$LATEST', condition: 'RetriesExhausted', approximateInvokeCount: attempts },
    requestPayload: request,
    responsePayload: { errorType: 'Error', errorMessage },
  };
}

import { z } from 'zod';

/*
 * The Lambda events the handlers accept, checked at the edge: a handler never dereferences a field
 * of an event it has not validated, so a malformed or forged event is logged and dropped (Lambda
 * would only retry it) instead of throwing a TypeError deep inside. Fields AWS sends and we do not
 * use are let through unchecked. Shapes: the AWS Lambda developer guide's S3, SNS and SQS event
 * examples, and its asynchronous invocation destination record.
 */

/** One S3 notification record; only ObjectCreated records of a well-formed object are used. */
export const s3RecordSchema = z.object({
  eventName: z.string(),
  eventTime: z.iso.datetime({ offset: true }),
  s3: z.object({
    bucket: z.object({ name: z.string().min(1) }),
    object: z.object({
      key: z.string().min(1),
      versionId: z.string().min(1).optional(),
      sequencer: z.string().optional(),
    }),
  }),
});
export type S3Record = z.infer<typeof s3RecordSchema>;

/** An event with records: each record is checked on its own, so one bad record drops only itself. */
export const recordsEventSchema = z.object({ Records: z.array(z.unknown()) });

/** A direct invocation of the start function (`bspml submit`). */
export const startInvocationSchema = z.object({
  spec: z.unknown().refine((v) => v !== undefined, 'is required'),
  jobId: z.string().min(1).max(128).optional(),
});

export const snsRecordSchema = z.object({
  Sns: z.object({ Message: z.string(), MessageId: z.string() }),
});

export const sqsRecordSchema = z.object({
  messageId: z.string().min(1),
  body: z.string(),
  attributes: z.object({
    MessageGroupId: z.string().optional(),
    ApproximateReceiveCount: z.coerce.number().int().min(1),
  }),
});
export type SqsRecord = z.infer<typeof sqsRecordSchema>;

export const asyncFailureSchema = z.object({
  requestContext: z.object({
    requestId: z.string().optional(),
    functionArn: z.string().optional(),
    condition: z.string(),
    approximateInvokeCount: z.number().int().min(0),
  }),
  requestPayload: z.object({ Records: z.array(z.unknown()) }).nullish(),
  responsePayload: z.object({ errorType: z.string().optional(), errorMessage: z.string().optional() }).passthrough().nullish(),
});

/** The first problem zod found, as one line naming the field. */
export function issueText(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  return `${issue.path.length ? issue.path.join('.') : 'event'}: ${issue.message}`;
}

/**
 * The depth of nested arrays and objects in `value`, counted without recursion (a hostile spec
 * 100,000 levels deep must not overflow the stack), stopping once past `limit`.
 */
export function nestingDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    deepest = Math.max(deepest, depth + 1);
    if (deepest > limit) return deepest;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return deepest;
}

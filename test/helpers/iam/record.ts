import { AsyncLocalStorage } from 'node:async_hooks';
import { S3Client } from '@aws-sdk/client-s3';

/*
 * Records every AWS API call a deployed function makes, as the IAM check needs it: which function
 * (its role), which service and command, and the request's input (names, keys, prefixes). An SDK
 * middleware is added to every client the first time it sends, through the base class all v3
 * clients share, so a client the code creates tomorrow (another service, another handler) is
 * recorded without this file knowing it. Stubs at a boundary that is not an SDK client (SNS here)
 * report their calls with recordCall.
 */

export interface RecordedCall {
  /** The function whose role makes the call (`start`, `worker`, …). */
  fn: string;
  /** The SDK client's service, as its class names it: `S3`, `DynamoDB`, `SQS`, `SNS`, `Lambda`. */
  service: string;
  /** The SDK command without `Command`: `GetObject`, `PublishBatch`. */
  command: string;
  input: Record<string, unknown>;
}

const current = new AsyncLocalStorage<string>();
const calls: RecordedCall[] = [];
const instrumented = new WeakSet<object>();
let installed = false;

/** Runs `body` as function `fn`: every AWS call it makes, awaited or not, is that function's. */
export function asFunction<T>(fn: string, body: () => Promise<T>): Promise<T> {
  return current.run(fn, body);
}

/** What a stub standing for an AWS client was asked to do, recorded as the SDK middleware records. */
export function recordCall(clientName: string, commandName: string, input: unknown): void {
  const fn = current.getStore();
  if (fn === undefined || !installed) return;
  calls.push({ fn, service: clientName.replace(/Client$/, ''), command: commandName.replace(/Command$/, ''), input: { ...(input as Record<string, unknown>) } });
}

/** Starts recording (idempotent); calls made outside asFunction (a test's own setup) are not recorded. */
export function startRecording(): void {
  if (installed) return;
  installed = true;
  // Every v3 client extends one base class (@smithy/core's Client), whose send runs the middleware stack.
  const base = Object.getPrototypeOf(S3Client.prototype) as { send: (this: ClientLike, ...args: unknown[]) => unknown };
  const send = base.send;
  base.send = function (this: ClientLike, ...args: unknown[]) {
    if (!instrumented.has(this)) {
      instrumented.add(this);
      this.middlewareStack.add(
        (next, context) => async (request) => {
          recordCall(String(context.clientName), String(context.commandName), request.input);
          return next(request);
        },
        { step: 'initialize', name: 'bspmlIamCallRecorder', priority: 'high' },
      );
    }
    return send.apply(this, args);
  };
}

/** The calls recorded so far. */
export function recordedCalls(): readonly RecordedCall[] {
  return calls;
}

interface ClientLike {
  middlewareStack: {
    add(
      middleware: (next: (args: { input: unknown }) => Promise<unknown>, context: { clientName?: unknown; commandName?: unknown }) => (args: { input: unknown }) => Promise<unknown>,
      options: { step: 'initialize'; name: string; priority: 'high' },
    ): void;
  };
}

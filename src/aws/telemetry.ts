import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import type { RoundMetrics } from '../domain/job.js';

/*
 * Logs and metrics of the Lambda functions, through Powertools for AWS Lambda (TypeScript): JSON
 * log lines with the request id, the cold-start flag and the service, at the level Lambda's
 * ApplicationLogLevel (or POWERTOOLS_LOG_LEVEL) sets; metrics as CloudWatch embedded metric format
 * lines, published at the end of each invocation. The service name and metrics namespace come from
 * POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE (serverless.yml).
 */

export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'bspml' });
export const metrics = new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'bspml', serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'bspml' });

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** One log line for `event`: its name is the message and a field, so Logs Insights can filter on it. */
export function log(level: LogLevel, event: string, fields: Record<string, unknown> = {}): void {
  logger[level](event, { event, ...fields });
}

/**
 * Wraps a handler for Lambda: adds the invocation's context (request id, cold start) to its log
 * lines and publishes the metrics it recorded when it ends, however it ends.
 */
export function instrument<E, R>(handler: (event: E, context?: Context) => Promise<R>): (event: E, context?: Context) => Promise<R> {
  return async (event, context) => {
    if (context) logger.addContext(context);
    try {
      // The context goes on: a lingering worker reads the time its invocation has left.
      return await handler(event, context);
    } finally {
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
  };
}

/** A job ended FAILED here (the FailedJobsAlarm in serverless.yml watches this metric). */
export function countFailedJob(): void {
  metrics.addMetric('JobsFailed', MetricUnit.Count, 1);
}

/** What the aggregator measured of one round: its duration, its synchronisation, cache hits and partial bytes. */
export function recordRound(round: RoundMetrics): void {
  const roundMs = Math.max(0, round.aggregatedAt - round.publishedAt);
  metrics.addMetric('Rounds', MetricUnit.Count, 1);
  metrics.addMetric('RoundSeconds', MetricUnit.Seconds, roundMs / 1000);
  // As in the run report: everything in a round but the slowest worker's loading and compute.
  metrics.addMetric('SyncSeconds', MetricUnit.Seconds, Math.max(0, roundMs - round.computeMs - round.loadMs) / 1000);
  metrics.addMetric('CacheHitRate', MetricUnit.Percent, round.workers ? (100 * round.cacheHits) / round.workers : 0);
  metrics.addMetric('PartialBytes', MetricUnit.Bytes, round.partialBytes);
}

import { z } from 'zod';
import { SpecError } from '../errors.js';

/**
 * Job ids go into DynamoDB keys, Redis keys, S3 keys and SQS FIFO group and deduplication ids
 * (`{jobId}-{round}`), which SQS caps at 128 characters: 100 leaves room for the round. The
 * characters are those every one of them takes without escaping.
 */
export const MAX_JOB_ID_CHARS = 100;
const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export const jobIdSchema = z
  .string()
  .min(1, 'a job id must not be empty')
  .max(MAX_JOB_ID_CHARS, `a job id has at most ${MAX_JOB_ID_CHARS} characters`)
  .regex(JOB_ID, 'a job id is letters, digits, ".", "_" and "-", starting with a letter or digit');

/** Throws SpecError (field `jobId`) naming what is wrong with `jobId`. */
export function checkJobId(jobId: unknown): asserts jobId is string {
  const parsed = jobIdSchema.safeParse(jobId);
  if (!parsed.success) {
    const shown = typeof jobId === 'string' ? JSON.stringify(jobId.length > 40 ? `${jobId.slice(0, 40)}…` : jobId) : String(jobId);
    const length = typeof jobId === 'string' && jobId.length > 40 ? ` (${jobId.length} characters)` : '';
    throw new SpecError(`job id ${shown}${length}: ${parsed.error.issues[0]!.message}`, 'jobId');
  }
}

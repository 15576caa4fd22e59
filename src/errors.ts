/**
 * Typed errors. Each carries a stable `code` that tests and the CLI rely on, and a message meant
 * for a person: it names the file, row and field, or the option, that is wrong.
 */
export class BspmlError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * Where in a data set a bad field sits, for code that turns it into a line of the part: `lineInPiece`
 * counts lines (blank ones included) from the first line that the piece starting at byte
 * `pieceStart` of part `part` owns (0-based); binary and Parquet pieces count rows.
 */
export interface DataLocation {
  part: number;
  pieceStart: number;
  lineInPiece: number;
  field?: string;
}

/**
 * The data set is unreadable or malformed. `row` is 1-based as a person counts lines in the file;
 * `byte` (instead of `row`) is where the line starts in the file, when a worker reading the middle
 * of a part cannot know its line number.
 */
export class DataError extends BspmlError {
  readonly file: string;
  readonly row?: number;
  readonly byte?: number;
  readonly field?: string;
  /** What is wrong, without the file and place (the message has both). */
  readonly detail: string;
  readonly location?: DataLocation;
  constructor(
    file: string,
    detail: string,
    where: { row?: number; byte?: number; field?: string; location?: DataLocation } = {},
    options?: { cause?: unknown },
  ) {
    const at = [
      where.row !== undefined ? `row ${where.row}` : where.byte !== undefined ? `line at byte ${where.byte}` : '',
      where.field !== undefined ? `field "${where.field}"` : '',
    ]
      .filter(Boolean)
      .join(', ');
    super('E_DATA', `${file}${at ? `: ${at}` : ''}: ${detail}`, options);
    this.file = file;
    this.row = where.row;
    this.byte = where.byte;
    this.field = where.field;
    this.detail = detail;
    this.location = where.location;
  }
}

/** The job spec (or a command-line option that feeds it) is invalid. */
export class SpecError extends BspmlError {
  readonly field?: string;
  constructor(message: string, field?: string, options?: { cause?: unknown }) {
    super('E_SPEC', message, options);
    this.field = field;
  }
}

export class JobExistsError extends BspmlError {
  constructor(jobId: string) {
    super('E_JOB_EXISTS', `job ${jobId} already exists`);
  }
}

export class JobNotFoundError extends BspmlError {
  constructor(jobId: string) {
    super('E_JOB_NOT_FOUND', `job ${jobId} not found`);
  }
}

/** State the protocol relies on is absent: a partial or model that must have been written. */
export class MissingStateError extends BspmlError {
  constructor(message: string) {
    super('E_MISSING_STATE', message);
  }
}

/** A shard's partial is not stored for a round (never written, or discarded as computed from another model). */
export class PartialMissingError extends MissingStateError {
  readonly jobId: string;
  readonly round: number;
  readonly shard: number;
  constructor(jobId: string, round: number, shard: number) {
    super(`job ${jobId}: partial of shard ${shard} for round ${round} is missing`);
    this.jobId = jobId;
    this.round = round;
    this.shard = shard;
  }
}

/** The job ended FAILED; `reason` is what was stored with it. */
export class JobFailedError extends BspmlError {
  readonly jobId: string;
  constructor(jobId: string, reason: string) {
    super('E_JOB_FAILED', `job ${jobId} failed: ${reason}`);
    this.jobId = jobId;
  }
}

/** A message service (SNS, SQS) call failed; names the service, the destination and the endpoint. */
export class MessagingError extends BspmlError {
  constructor(what: string, options: { cause: unknown }) {
    const why = options.cause instanceof Error ? `${options.cause.name}: ${options.cause.message}` : String(options.cause);
    super('E_MESSAGING', `${what} failed: ${why}`, options);
  }
}

/** A storage backend call failed; keeps the SDK's error as `cause` (with its metadata). */
/**
 * The data set's source did not answer (a refused or silent S3 endpoint). Deliberately not a
 * BspmlError: on AWS the invocation is retried, as for any transient failure; the CLI says it in
 * one line, as it does a StoreError (issue 20 defect 10).
 */
export class SourceError extends Error {
  readonly code = 'E_SOURCE';
  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
    this.name = 'SourceError';
  }
}

export class StoreError extends BspmlError {
  constructor(operation: string, options: { cause: unknown }) {
    const why = options.cause instanceof Error ? `${options.cause.name}: ${options.cause.message}` : String(options.cause);
    super('E_STORE', `state store ${operation} failed: ${why}`, options);
  }
}

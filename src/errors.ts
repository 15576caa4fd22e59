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
 * Where in a data set of parts a bad value sits, as the worker that read it knows it: the part, the
 * piece of that part its shard owns (by the piece's `start`, see ShardPiece), and the 1-based line
 * (or row, for formats without lines) inside that piece. The preparation round's aggregator turns
 * it into the line of the part, since only it knows how many lines the part's earlier pieces hold.
 */
export interface DataLocation {
  part: number;
  pieceStart: number;
  lineInPiece: number;
  field?: string;
}

/** The data set is unreadable or malformed. `row` is 1-based as a person counts lines in the file. */
export class DataError extends BspmlError {
  readonly file: string;
  readonly row?: number;
  readonly field?: string;
  /** What is wrong, without the file and place (the message has both). */
  readonly detail: string;
  /** Set by a shard's reader, whose `row` would only count lines inside its piece. */
  readonly location?: DataLocation;
  constructor(file: string, detail: string, where: { row?: number; field?: string; location?: DataLocation } = {}, options?: { cause?: unknown }) {
    const at = [where.row !== undefined ? `row ${where.row}` : '', where.field !== undefined ? `field "${where.field}"` : '']
      .filter(Boolean)
      .join(', ');
    super('E_DATA', `${file}${at ? `: ${at}` : ''}: ${detail}`, options);
    this.file = file;
    this.row = where.row;
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

/** The job ended FAILED; `reason` is what was stored with it. */
export class JobFailedError extends BspmlError {
  readonly jobId: string;
  constructor(jobId: string, reason: string) {
    super('E_JOB_FAILED', `job ${jobId} failed: ${reason}`);
    this.jobId = jobId;
  }
}

/** A storage backend call failed; keeps the SDK's error as `cause` (with its metadata). */
export class StoreError extends BspmlError {
  constructor(operation: string, options: { cause: unknown }) {
    const why = options.cause instanceof Error ? `${options.cause.name}: ${options.cause.message}` : String(options.cause);
    super('E_STORE', `state store ${operation} failed: ${why}`, options);
  }
}

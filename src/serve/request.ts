/*
 * The rows of a predict request, read into the float32 matrix a Predictor takes. Every way a body
 * can be wrong is a RequestError with an HTTP status (4xx) and one line naming the row and column:
 * nothing a caller sends can make the function throw anything else.
 */

/**
 * Most rows in one request. Lambda also caps a function URL's request at 6 MB (about 1,000 rows of
 * 784 features written with 7 digits): the tuner takes both into account (src/serve/tune.ts).
 */
export const MAX_ROWS_PER_REQUEST = 10_000;

/** A request the endpoint refuses, with the status and the one-line reason it answers. */
export class RequestError extends Error {
  constructor(
    readonly status: 400 | 404 | 413 | 415 | 422,
    message: string,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

export interface RequestRows {
  rows: number;
  /** rows × dims, row after row, in the model's feature order. */
  features: Float32Array;
}

/** What the model expects: its feature names, in order (their count is the row width). */
export interface Expected {
  featureNames: readonly string[];
}

/**
 * Reads a body by its content type: `application/json` (`{"rows": [[…], …]}` by position,
 * `{"columns": [names], "rows": [[…]]}` or `{"rows": [{name: value}, …]}` by name) or `text/csv`
 * (a header line of names, or none: by position); with no type, or text/plain, a body starting with
 * `{` is JSON and any other CSV.
 */
export function parseRows(body: string, contentType: string | null | undefined, expected: Expected, maxRows = MAX_ROWS_PER_REQUEST): RequestRows {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'text/csv') return parseCsv(body, expected, maxRows);
  if (type === 'application/json') return parseJson(body, expected, maxRows);
  // No type given (a Web Request then says text/plain): a JSON object, else CSV.
  if (type === '' || type === 'text/plain') return body.trimStart().startsWith('{') ? parseJson(body, expected, maxRows) : parseCsv(body, expected, maxRows);
  throw new RequestError(415, `content type "${type}" is not accepted: send application/json or text/csv`);
}

function parseJson(body: string, expected: Expected, maxRows: number): RequestRows {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    throw new RequestError(400, `body is not valid JSON (${(error as Error).message.replace(/\s+/g, ' ')})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !Array.isArray((value as { rows?: unknown }).rows)) {
    throw new RequestError(400, 'body must be a JSON object with "rows": an array of rows (arrays of numbers, or objects of column: number)');
  }
  const { rows, columns } = value as { rows: unknown[]; columns?: unknown };
  checkCount(rows.length, maxRows);
  const dims = expected.featureNames.length;
  const features = new Float32Array(rows.length * dims);
  if (rows.length === 0) return { rows: 0, features };
  if (columns !== undefined) {
    if (!Array.isArray(columns) || !columns.every((c) => typeof c === 'string')) throw new RequestError(400, '"columns" must be an array of column names');
    const order = columnOrder(columns as string[], expected);
    rows.forEach((row, i) => {
      if (!Array.isArray(row)) throw new RequestError(400, `row ${i + 1}: not an array of ${columns.length} values (as "columns" names them)`);
      if (row.length !== columns.length) throw new RequestError(400, `row ${i + 1}: has ${row.length} values; "columns" names ${columns.length}`);
      for (let j = 0; j < dims; j++) features[i * dims + j] = numberAt(row[order[j]!], i, expected.featureNames[j]!);
    });
    return { rows: rows.length, features };
  }
  rows.forEach((row, i) => {
    if (Array.isArray(row)) {
      if (row.length !== dims) throw new RequestError(400, `row ${i + 1}: has ${row.length} values; the model takes ${dims} features (${preview(expected.featureNames)})`);
      for (let j = 0; j < dims; j++) features[i * dims + j] = numberAt(row[j], i, expected.featureNames[j]!);
    } else if (typeof row === 'object' && row !== null) {
      const record = row as Record<string, unknown>;
      for (const name of Object.keys(record)) if (!known(expected, name)) throw unknownColumn(name, expected, `row ${i + 1}`);
      for (let j = 0; j < dims; j++) {
        const name = expected.featureNames[j]!;
        if (!Object.hasOwn(record, name)) throw new RequestError(400, `row ${i + 1}: has no column "${name}" (the model's feature ${j + 1} of ${dims})`);
        features[i * dims + j] = numberAt(record[name], i, name);
      }
    } else {
      throw new RequestError(400, `row ${i + 1}: not an array of numbers nor an object of column: number`);
    }
  });
  return { rows: rows.length, features };
}

function parseCsv(body: string, expected: Expected, maxRows: number): RequestRows {
  const lines = body.split(/\r?\n/);
  while (lines.length && lines[lines.length - 1]!.trim() === '') lines.pop();
  const dims = expected.featureNames.length;
  if (lines.length === 0) return { rows: 0, features: new Float32Array(0) };
  // A first line with any field that is not a number is the header (as the data plane decides).
  const first = lines[0]!.split(',').map((f) => f.trim());
  const hasHeader = first.some((f) => f === '' || Number.isNaN(Number(f)));
  const order = hasHeader ? columnOrder(first.map(unquote), expected) : undefined;
  const width = first.length;
  const data = hasHeader ? lines.slice(1) : lines;
  checkCount(data.length, maxRows);
  const features = new Float32Array(data.length * dims);
  data.forEach((line, i) => {
    const fields = line.split(',');
    const lineNo = i + 1 + (hasHeader ? 1 : 0);
    if (order) {
      if (fields.length !== width) throw new RequestError(400, `line ${lineNo}: has ${fields.length} fields; the header has ${width}`);
      for (let j = 0; j < dims; j++) features[i * dims + j] = csvNumber(fields[order[j]!]!, lineNo, expected.featureNames[j]!);
    } else {
      if (fields.length !== dims) throw new RequestError(400, `line ${lineNo}: has ${fields.length} fields; the model takes ${dims} features (${preview(expected.featureNames)})`);
      for (let j = 0; j < dims; j++) features[i * dims + j] = csvNumber(fields[j]!, lineNo, expected.featureNames[j]!);
    }
  });
  return { rows: data.length, features };
}

/** For each of the model's features, where the request's columns hold it. */
function columnOrder(columns: string[], expected: Expected): number[] {
  const at = new Map<string, number>();
  columns.forEach((name, c) => {
    if (at.has(name)) throw new RequestError(400, `column "${name}" is named twice`);
    if (!known(expected, name)) throw unknownColumn(name, expected, 'columns');
    at.set(name, c);
  });
  return expected.featureNames.map((name, j) => {
    const c = at.get(name);
    if (c === undefined) throw new RequestError(400, `no column "${name}" (the model's feature ${j + 1} of ${expected.featureNames.length})`);
    return c;
  });
}

function known(expected: Expected, name: string): boolean {
  return expected.featureNames.includes(name);
}

function unknownColumn(name: string, expected: Expected, where: string): RequestError {
  return new RequestError(400, `${where}: unknown column "${name.slice(0, 64)}": the model's features are ${preview(expected.featureNames)}`);
}

function checkCount(rows: number, maxRows: number): void {
  if (rows > maxRows) throw new RequestError(413, `${rows} rows: at most ${maxRows} per request; split the batch`);
}

function numberAt(value: unknown, i: number, column: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new RequestError(400, `row ${i + 1}, column "${column}": not a finite number (got ${describe(value)})`);
  }
  return value;
}

function csvNumber(field: string, line: number, column: string): number {
  const text = field.trim();
  const value = Number(text);
  if (text === '' || !Number.isFinite(value)) throw new RequestError(400, `line ${line}, column "${column}": not a finite number (got ${describe(text)})`);
  return value;
}

function unquote(field: string): string {
  return field.length >= 2 && field.startsWith('"') && field.endsWith('"') ? field.slice(1, -1).replace(/""/g, '"') : field;
}

function describe(value: unknown): string {
  const text = value === undefined ? 'nothing' : JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function preview(names: readonly string[]): string {
  return names.length <= 6 ? names.join(', ') : `${names.slice(0, 5).join(', ')}, …, ${names.at(-1)}`;
}

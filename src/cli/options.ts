import { InvalidArgumentError, type Command } from 'commander';
import { classWeightProblem, type ClassWeightSpec } from '../domain/spec.js';

/** Option parsers with messages in plain words; commander adds the option's name. */

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number ≥ 1.');
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('must be a whole number ≥ 0.');
  return n;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a number > 0.');
  return n;
}

export function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number ≥ 0.');
  return n;
}

export function oneOf<T extends string>(choices: readonly T[]) {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`must be one of: ${choices.join(', ')}.`);
    return value as T;
  };
}

/** A URL with one of `schemes` (e.g. `['http:', 'https:']`) and a host. */
export function urlWith(schemes: readonly string[]) {
  const expected = schemes.map((s) => `${s}//`).join(' or ');
  return (value: string): string => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new InvalidArgumentError(`must be a URL starting ${expected}host.`);
    }
    if (!schemes.includes(url.protocol)) throw new InvalidArgumentError(`must be a URL starting ${expected}host, not ${url.protocol}//.`);
    if (!url.hostname) throw new InvalidArgumentError(`must name a host (${expected}host:port).`);
    return value;
  };
}

export const httpUrl = urlWith(['http:', 'https:']);
export const redisUrl = urlWith(['redis:', 'rediss:']);

/** --report, --json and --quiet: on train, and on status/watch for a stack job. */
export function addReportOptions(command: Command): Command {
  return command
    .option('--report <file>', 'write the run report: FILE.json (docs/report.md) or FILE.html (charts)')
    .option('--json', 'print the run report as JSON on standard output, and nothing else there')
    .option('--quiet', 'print nothing but errors');
}

/** A comma-separated list of column names or indices: none empty, none twice. */
export function columnList() {
  return (value: string): string[] => {
    const names = value.split(',').map((s) => s.trim());
    if (names.some((n) => n === '')) throw new InvalidArgumentError('an empty column name (give names or 0-based indices, separated by commas).');
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice !== undefined) throw new InvalidArgumentError(`column "${twice}" is named twice.`);
    return names;
  };
}

/** A number strictly between 0 and 1. */
export function fraction(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n >= 1) throw new InvalidArgumentError('must be a fraction between 0 and 1 (0.2 holds out a fifth of the rows).');
  return n;
}

/** `--class-weight`: "balanced", or a JSON object of label → weight > 0 (labels as the data writes them). */
export function classWeight(value: string): ClassWeightSpec {
  if (value.trim() === 'balanced') return 'balanced';
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new InvalidArgumentError(`must be balanced or a JSON object of label → weight, e.g. '{"spam": 5}'.`);
  }
  const problem = classWeightProblem(parsed);
  if (problem) throw new InvalidArgumentError(`${problem}.`);
  return parsed as ClassWeightSpec;
}

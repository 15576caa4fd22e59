import { InvalidArgumentError, type Command } from 'commander';

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

/** --report, --json and --quiet: on train, and on status/watch for a stack job. */
export function addReportOptions(command: Command): Command {
  return command
    .option('--report <file>', 'write the run report: FILE.json (docs/report.md) or FILE.html (charts)')
    .option('--json', 'print the run report as JSON on standard output, and nothing else there')
    .option('--quiet', 'print nothing but errors');
}

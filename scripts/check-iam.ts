/*
 * `npm run check:iam [-- --template FILE] [-- --param NAME=VALUE …]`: packages the stack offline
 * (serverless package, no credentials) unless given a template, runs the emulated pipeline with
 * every AWS call recorded, and checks each against the calling function's role in the template.
 * Exits 1 when a call is denied, a permission no call uses is not justified, or a function of the
 * template never ran (the scenario needs a step for it).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { checkIam, iamDetails, iamSummary } from '../test/helpers/iam/check.js';
import { scenarioNames, scenarioOptionsOf } from '../test/helpers/iam/names.js';
import { runIamScenario } from '../test/helpers/iam/scenario.js';
import type { Template } from '../test/helpers/iam/template.js';

const ROOT = resolve(import.meta.dirname, '..');

async function packagedTemplate(params: string[]): Promise<Template> {
  const out = await mkdtemp(join(tmpdir(), 'bspml-iam-'));
  const work = `.esbuild-iam-${randomBytes(4).toString('hex')}`;
  try {
    await promisify(execFile)(join(ROOT, 'node_modules/.bin/serverless'), ['package', '--package', out, ...params], {
      cwd: ROOT,
      env: { ...process.env, BSPML_ESBUILD_WORK: work, SLS_TELEMETRY_DISABLED: '1' },
      timeout: 300_000,
    });
    return JSON.parse(await readFile(join(out, 'cloudformation-template-update-stack.json'), 'utf8')) as Template;
  } finally {
    await rm(out, { recursive: true, force: true });
    await rm(join(ROOT, work), { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const at = args.indexOf('--template');
  const template = at >= 0 ? (JSON.parse(await readFile(args[at + 1]!, 'utf8')) as Template) : await packagedTemplate(args);
  // The functions' own log lines (errors included: the run fails jobs on purpose) would bury the
  // report: they go nowhere while the pipeline runs; a run that cannot finish still throws.
  const write = process.stdout.write.bind(process.stdout);
  const writeError = process.stderr.write.bind(process.stderr);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  let run;
  try {
    // The run sends completions as the template's workers do: to the queue, or invoking the aggregator.
    run = await runIamScenario(scenarioOptionsOf(template));
  } finally {
    process.stdout.write = write;
    process.stderr.write = writeError;
  }
  const report = await checkIam(template, run.calls, scenarioNames(run));
  for (const line of iamDetails(report)) write(`${line}\n`);
  write(`${iamSummary(report)}\n`);
  return report.denied.length === 0 && report.unjustified.length === 0 && report.uncovered.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`check:iam: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  },
);

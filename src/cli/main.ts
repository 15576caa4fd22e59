import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { DEFAULT_DEPLOYMENT, LAMBDA_ARCHITECTURES } from '../costs/estimate.js';
import { NEWTON_MAX_DIMS } from '../algorithms/index.js';
import { BspmlError, SourceError } from '../errors.js';
import { LOGREG_SOLVERS, SVM_SOLVERS } from '../domain/spec.js';
import { installSignalHandlers } from '../util/interrupt.js';
import { VERSION } from '../version.js';
import { BACKENDS } from '../emulators/open.js';
import { addBenchBackendsCommand } from '../bench/backends-cli.js';
import { addBenchPredictCommand } from './bench-predict.js';
import { addAwsCommands } from './aws.js';
import { addDoctorCommand } from './doctor.js';
import { convert } from './convert.js';
import { exportModel, type ExportOptions } from './export.js';
import { gen } from './gen.js';
import type { CliIo } from './io.js';
import { addReportOptions, classWeight, columnList, fraction, httpUrl, nonNegativeInt, nonNegativeNumber, oneOf, positiveInt, positiveNumber, redisUrl } from './options.js';
import { predict } from './predict.js';
import { type PredictOptions } from './predictOptions.js';
import { addSimulateCommand, addTuneCommand } from './simulate.js';
import { SYNC_DESIGNS, type TrainOptions } from './trainOptions.js';
import { train } from './train.js';

function addTrainOptions(command: Command): Command {
  return command
    .option('--spec <file>', 'a job spec (NAME.job.json, as a stack reads it): options given here override its fields')
    .option('--data <uri>', 'training data: a file or directory of parts (CSV with or without header, .csv.gz, .parquet, bspml binary), or s3://bucket/key or s3://bucket/prefix/ (default with --spec: its data.uri, or NAME.csv beside it)')
    .option('--s3-endpoint <url>', 'S3 endpoint for s3:// data (an emulator, MinIO; default AWS_ENDPOINT_URL_S3, else AWS)')
    .option('--workers <n>', 'shards, one worker invocation each per round', positiveInt, 1)
    .option('--threads <n>', `inner threads per worker (default: available parallelism, ${availableParallelism()} here)`, positiveInt)
    .option('--max-rounds <n>', 'stop after this many rounds (default 100)', positiveInt)
    .option('--tol <x>', 'convergence tolerance (default 1e-4)', nonNegativeNumber)
    .option('--seed <n>', 'random seed (default 42)', nonNegativeInt)
    .addOption(new Option('--backend <name>', 'state store').argParser(oneOf(BACKENDS)).default('memory'))
    .option('--endpoint <url>', 'store endpoint (dynamodb, s3: default starts an in-process emulator)', httpUrl)
    .option('--table <name>', 'DynamoDB table (default bspml-state)')
    .option('--redis-url <url>', 'redis: redis://host:port (default starts a throwaway redis-server)', redisUrl)
    .option('--bucket <name>', 's3: bucket for the state (default bspml-state)')
    .option('--prefix <prefix>', 's3: key prefix for the state (default none)')
    .option('--concurrency <n>', 'most worker containers at once (default 32)', positiveInt)
    .addOption(
      new Option('--sync <design>', 'event: no function waits (default); linger: a worker waits for the next round within a budget; barrier-wait: workers stay alive and poll the barrier (WoSC\'23 design)')
        .argParser(oneOf(SYNC_DESIGNS))
        .default('event'),
    )
    .option('--linger-ms <ms>', 'with --sync linger: how long a worker waits for the next round (default: priced per job, docs/protocol.md)', nonNegativeInt)
    .option('--features <columns>', 'only these columns (names or 0-based indices, comma-separated) are features', columnList())
    .option('--drop <columns>', 'leave these columns out (an id, a leak; comma-separated names or 0-based indices)', columnList())
    .option('--validation <uri>', 'held-out rows to score the written model on (a file, a directory of parts or s3://): accuracy, log-loss, AUC, precision/recall/F1, confusion matrix; k-means: inertia')
    .option('--holdout <fraction>', 'leave this share of the rows out of training (seeded by --seed, the same rows for any --workers) and score the model on them', fraction)
    .option('--out <file>', 'write the model as JSON (only when training succeeds)')
    .option('--no-progress', 'no progress bar')
    .option('--worker-memory <mb>', `worker memory (MB) of the stack the projected AWS cost assumes (default ${DEFAULT_DEPLOYMENT.workerMemoryMb})`, positiveInt)
    .addOption(
      new Option('--architecture <arch>', `the stack's Lambda architecture the projected AWS cost assumes (default ${DEFAULT_DEPLOYMENT.architecture}, as serverless.yml deploys)`).argParser(oneOf(LAMBDA_ARCHITECTURES)),
    );
}

function addLogregOptions(command: Command): Command {
  return command
    .option('--label-column <name>', 'label column (classes 0, 1, …; more than two: multinomial): header name, 0-based index or "last" (default last)')
    .addOption(new Option('--solver <name>', `${LOGREG_SOLVERS.join(', ')} (default: newton up to ${NEWTON_MAX_DIMS} features, else lbfgs; more than two classes: lbfgs; giant on request)`).argParser(oneOf(LOGREG_SOLVERS)))
    .option('--lr <x>', 'gd, local-sgd: learning rate (default 0.5; local-sgd: of round 1, round r uses lr/√r)', positiveNumber)
    .option('--l2 <x>', 'L2 penalty on standardised weights (default 0)', nonNegativeNumber)
    .option('--C <x>', "scikit-learn's C, instead of --l2: l2 = 1 / (C × rows)", positiveNumber)
    .option('--class-weight <w>', `each class's weight in the loss: balanced (rows / (classes × the class's rows)) or JSON of label → weight, e.g. '{"spam": 5}' (others 1); newton, lbfgs, gd`, classWeight)
    .option('--local-steps <n>', 'local-sgd: mini-batch steps per thread per round (default: one pass over its rows)', positiveInt)
    .option('--batch-size <n>', 'local-sgd: rows per mini-batch (default 64)', positiveInt);
}

/** `train --spec`: every algorithm's options, for overriding the spec's fields. */
function addAlgorithmOptions(command: Command): Command {
  return addLogregOptions(command.option('--k <n>', 'k-means: number of clusters', positiveInt));
}

/** The options typed on the command line (not defaults): those override a spec file. */
function givenOptions(command: Command): Set<string> {
  return new Set(command.options.map((o) => o.attributeName()).filter((name) => command.getOptionValueSource(name) === 'cli'));
}

/** Parses `argv` (without node and script) and runs the command; resolves to the exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const program = new Command('bspml')
    .description('Train k-means and logistic regression as bulk-synchronous rounds, locally or on AWS Lambda')
    .version(VERSION, '--version', 'print the version')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError('(run with --help for usage)');

  // `train --spec FILE` takes its algorithm from the spec; `train kmeans|logreg` names it. Options
  // are positional (the parent's before the subcommand) so that both can share their names.
  program.enablePositionalOptions();
  const trainCommand = addAlgorithmOptions(addTrainOptions(addReportOptions(program.command('train'))))
    .description('train a model on the local runtime: bspml train --spec NAME.job.json, or bspml train kmeans|logreg')
    .enablePositionalOptions()
    .action((options: TrainOptions, command: Command) => train(undefined, options, io, givenOptions(command)));
  addTrainOptions(addReportOptions(trainCommand.command('kmeans').description('k-means (k-means++ init, exact Lloyd rounds)')))
    .option('--k <n>', 'number of clusters (required unless the spec has k)', positiveInt)
    .option('--n-init <n>', 'restarts: k-means++ this many times on the initialisation sample, the best by its inertia kept (default 1)', positiveInt)
    .action((options: TrainOptions, command: Command) => train('kmeans', options, io, givenOptions(command)));
  addLogregOptions(addTrainOptions(addReportOptions(trainCommand.command('logreg').description('logistic regression (Newton, L-BFGS or gradient descent; docs/algorithms.md)'))))
    .action((options: TrainOptions, command: Command) => train('logreg', options, io, givenOptions(command)));
  addTrainOptions(addReportOptions(trainCommand.command('svm').description('linear SVM: L2-regularised squared hinge by Newton, or hinge by local SGD (docs/algorithms.md)')))
    .option('--label-column <name>', 'label column (0/1): header name, 0-based index or "last" (default last)')
    .addOption(new Option('--solver <name>', `${SVM_SOLVERS.join(', ')} (default newton: squared hinge; local-sgd: hinge)`).argParser(oneOf(SVM_SOLVERS)))
    .option('--l2 <x>', 'L2 penalty on standardised weights (default 0)', nonNegativeNumber)
    .option('--C <x>', "LIBLINEAR's C, instead of --l2: l2 = 1 / (C × rows)", positiveNumber)
    .option('--class-weight <w>', `each class's weight in the loss: balanced or JSON of label → weight, e.g. '{"spam": 5}' (others 1); newton only`, classWeight)
    .option('--lr <x>', 'local-sgd: learning rate of round 1 (default 0.5; round r uses lr/√r)', positiveNumber)
    .option('--local-steps <n>', 'local-sgd: mini-batch steps per thread per round (default: one pass over its rows)', positiveInt)
    .option('--batch-size <n>', 'local-sgd: rows per mini-batch (default 64)', positiveInt)
    .action((options: TrainOptions, command: Command) => train('svm', options, io, givenOptions(command)));

  program
    .command('predict')
    .description('apply a trained model to a data file')
    .requiredOption('--model <file>', 'model JSON written by train --out, or a published model s3://BUCKET/models/NAME/ (its latest version)')
    .option('--model-version <v>', 'with an s3:// model: this version (the job id that trained it) instead of the latest')
    .option('--s3-endpoint <url>', 'S3 endpoint for s3:// models, data and output (an emulator; default AWS_ENDPOINT_URL_S3, else AWS)')
    .option('--shards <n>', 'with --out s3://…/ or DIR/: shards, one output part each (default: one per data part)', positiveInt)
    .option('--threads <n>', 'with --out s3://…/ or DIR/: threads parsing CSV (default: one per core)', positiveInt)
    .requiredOption('--data <file>', 'CSV or binary data with the model\'s feature columns; a directory of parts or s3://BUCKET/PREFIX/ with --out …/')
    .option('--out <file>', 'write predictions as CSV (default: standard output); s3://BUCKET/PREFIX/ or DIR/: one part per shard')
    .option('--id-column <name>', 'copy this column to each output row, first (a name, or a 0-based index in a file without header)')
    .option('--keep <columns>', 'copy these columns (comma-separated) to each output row, after the id', (v: string) => v.split(',').filter(Boolean))
    .option('--allow-extra-columns', 'ignore data columns the model does not use (default: an error naming them)')
    .option('--by-position', "match the model's features to the file's columns by position, not by name")
    .action((options: PredictOptions) => predict(options, io));

  program
    .command('export')
    .description('write a trained model in a standard format: ONNX (docs/export.md)')
    .requiredOption('--model <file>', 'model JSON written by train --out')
    .option('--format <name>', 'onnx', 'onnx')
    .requiredOption('--out <file>', 'the exported file, e.g. model.onnx')
    .action((options: ExportOptions) => exportModel(options, io));

  const genCommand = program.command('gen').description('write synthetic data with a seed');
  const genOptions = (command: Command) =>
    command
      .requiredOption('--rows <n>', 'rows', positiveInt)
      .requiredOption('--dims <n>', 'feature columns', positiveInt)
      .option('--seed <n>', 'random seed', nonNegativeInt, 42)
      .requiredOption('--out <file>', 'output file: .csv, .csv.gz, .parquet, or .bin / .f32 for binary float32');
  genOptions(genCommand.command('blobs').description('Gaussian blobs for k-means'))
    .option('--centers <n>', 'number of blobs', positiveInt, 4)
    .option('--std <x>', 'standard deviation of each blob', positiveNumber)
    .action((options) => gen('blobs', options, io));
  genOptions(genCommand.command('classification').description('linearly separable points with a 0/1 label column'))
    .option('--margin <x>', 'no point closer than this to the separating plane', nonNegativeNumber)
    .action((options) => gen('classification', options, io));

  program
    .command('convert')
    .description('convert a data set (file or directory of parts, local or s3://) into one CSV, .csv.gz, Parquet or binary file, streaming')
    .argument('<in>', 'data set: CSV, .csv.gz, .parquet or bspml binary; a file, a directory of parts, or s3://bucket/key or s3://bucket/prefix/')
    .argument('<out>', 'output file: .csv, .csv.gz, .parquet, or .bin / .f32 for binary float32')
    .option('--s3-endpoint <url>', 'S3 endpoint for s3:// input (default AWS_ENDPOINT_URL_S3, else AWS)')
    .action((input: string, output: string, options: { s3Endpoint?: string }) => convert({ input, output, ...options }, io));

  // Benchmarks: each registers its subcommand on this one `bench` command.
  const benchCommand = program.command('bench').description('measure the system on this machine');
  addBenchBackendsCommand(benchCommand, io);
  addBenchPredictCommand(benchCommand, io);

  // What a deployed job would take and cost, without deploying it.
  addSimulateCommand(program, io);
  addTuneCommand(program, io);

  // A deployment on AWS: submit a job to it, follow one.
  addAwsCommands(program, io);
  addDoctorCommand(program, io);

  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    if (error instanceof BspmlError || error instanceof SourceError) {
      io.stderr.write(`bspml: error: ${error.message}\n`);
      return 1;
    }
    io.stderr.write(`bspml: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 2;
  }
}

/** The program as a process: bin/bspml.js, or this file run as a script. */
export async function main(): Promise<void> {
  installSignalHandlers((line) => process.stderr.write(line));
  // A reader that stops early (bspml predict … | head) closes the pipe: that ends the output, quietly.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();

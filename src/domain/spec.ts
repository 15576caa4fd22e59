import { z } from 'zod';
import { SpecError } from '../errors.js';

const dataRef = z
  .object({
    uri: z.string().min(1, 'must name a data set'),
    labelColumn: z.string().min(1).optional(),
    /** Only these columns (names or 0-based indices) are features; the rest, label aside, are left out. */
    features: z.array(z.string().min(1)).min(1).optional(),
    /** Columns left out (an id, a leak). Not with `features`. */
    drop: z.array(z.string().min(1)).min(1).optional(),
  })
  .strict()
  .refine((d) => d.features === undefined || d.drop === undefined, { message: 'give features or drop, not both', path: ['features'] });

/**
 * Where a deployed stack keeps a job's data plane (models, partials, barrier): DynamoDB (the state
 * table), S3 (the data bucket) or Redis (the stack's endpoint). The job record and round metrics stay
 * in DynamoDB whatever it says. Absent means DynamoDB: left unfilled rather than defaulted so that a
 * record never claims a store its run did not use (a local run keeps the store it was given), and so
 * that records written before the field existed read the same way.
 */
export const STACK_BACKENDS = ['dynamodb', 's3', 'redis'] as const;
export type StackBackend = (typeof STACK_BACKENDS)[number];
export const DEFAULT_STACK_BACKEND: StackBackend = 'dynamodb';

/** Class weights (algorithms/classWeights.ts): "balanced", or labels as the data writes them → weights > 0. */
export type ClassWeightSpec = 'balanced' | Record<string, number>;

/** Why `value` is not a class-weight setting, in words for `--class-weight` and the spec's `classWeight`; undefined when it is one. */
export function classWeightProblem(value: unknown): string | undefined {
  if (value === 'balanced') return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return `must be "balanced" or an object of label → weight, e.g. {"spam": 5, "ham": 1}; got ${JSON.stringify(value)}`;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return 'names no class: give at least one label → weight, or leave it out';
  for (const [label, weight] of entries) {
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0) {
      return `the weight of ${JSON.stringify(label)} must be a number > 0; got ${JSON.stringify(weight)}`;
    }
  }
  return undefined;
}

const classWeight = z
  .custom<ClassWeightSpec>()
  .superRefine((value, ctx) => {
    const problem = classWeightProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .optional();

/** Most shards (worker invocations per round) a spec may ask for. */
export const MAX_WORKERS = 1000;

/**
 * How a job's rounds meet (docs/protocol.md): `event` (absent means it): every round is a fresh
 * invocation per shard; `linger`: a worker that has arrived waits for the next round's model within
 * a budget and computes it in the same invocation, over the shard it already holds.
 */
export const SPEC_SYNC_MODES = ['event', 'linger'] as const;
export type SpecSync = (typeof SPEC_SYNC_MODES)[number];
/** Longest wait a spec may give a lingering worker: Lambda's 15-minute limit. */
export const MAX_LINGER_MS = 900_000;

const common = {
  /** What the job does: absent or `train`, it trains; a `predict` job has its own spec (src/domain/predictSpec.ts, src/domain/jobSpecs.ts). */
  kind: z.literal('train').optional(),
  data: dataRef,
  backend: z.enum(STACK_BACKENDS).optional(),
  /** Shards, one worker invocation each per round. */
  workers: z.number().int().min(1).max(MAX_WORKERS).default(1),
  /** Inner threads per worker; absent: the container's available parallelism. */
  threads: z.number().int().min(1).max(64).optional(),
  maxRounds: z.number().int().min(1).max(100_000).default(100),
  tol: z.number().min(0).default(1e-4),
  seed: z.number().int().min(0).max(2 ** 32 - 1).default(42),
  /** Stop the job (FAILED, with the reason) before its estimated AWS cost would pass this, in USD. */
  maxCostUsd: z.number().positive().optional(),
  /**
   * A share of the rows left out of training, chosen with the seed by each row's identity in its
   * part (data/holdout.ts): the same rows whatever W; `bspml train` scores the model on them.
   */
  holdout: z.number().gt(0, 'must be a fraction between 0 and 1').lt(1, 'must be a fraction between 0 and 1').optional(),
  /**
   * Held-out rows (a file, a directory of parts or s3://…) the job's last aggregation scores the
   * model on (protocol/heldOut.ts); the figures come back in the result's `validation`. Not with holdout.
   */
  validation: z.string().min(1, 'must name a data set').optional(),
  /** How the aggregator gets a round's partials: merged per barrier group first (tree), read one by one (flat), or auto (src/protocol/groupMerge.ts). */
  merge: z.enum(['auto', 'tree', 'flat']).optional(),
  sync: z.enum(SPEC_SYNC_MODES).optional(),
  /** With sync linger: how long a worker waits for the next round (ms); absent: priced per job (src/protocol/lingerBudget.ts). */
  lingerMs: z.number().int().min(0).max(MAX_LINGER_MS).optional(),
};

export const kmeansSpecSchema = z
  .object({
    algorithm: z.literal('kmeans'),
    k: z.number().int().min(1).max(100_000),
    /**
     * k-means++ runs on at most this many rows, drawn with the seed (fewer when they would not fit
     * a round-0 partial's budget: sampleSizeOf in src/protocol/prepare.ts).
     */
    initSample: z.number().int().min(1).default(100_000),
    /** Restarts (scikit-learn's n_init): k-means++ this many times on the sample, the best kept (algorithms/kmeans/restarts.ts). */
    nInit: z.number().int().min(1).max(100).optional(),
    ...common,
  })
  .strict();

/**
 * How logistic regression is solved (docs/algorithms.md): absent means `newton` while the model has
 * at most NEWTON_MAX_PARAMS parameters, else `lbfgs`; for more than two classes, `lbfgs`
 * (`giant` on request; algorithms/logreg/multinomial.ts: multinomialSolverOf).
 */
export const LOGREG_SOLVERS = ['newton', 'lbfgs', 'gd', 'local-sgd', 'giant'] as const;
export type LogregSolver = (typeof LOGREG_SOLVERS)[number];
/** How the linear SVM is solved: Newton on the squared hinge (the default), or local SGD on the hinge. */
export const SVM_SOLVERS = ['newton', 'local-sgd'] as const;
export type SvmSolver = (typeof SVM_SOLVERS)[number];

/** Local SGD's own settings (algorithms/logreg/localSgd.ts): only with solver local-sgd. */
const localSgd = {
  /** Mini-batch steps per thread per round; absent: one pass over the thread's rows. */
  localSteps: z.number().int().min(1).optional(),
  /** Rows per mini-batch (absent: 64). */
  batchSize: z.number().int().min(1).optional(),
};
/**
 * Most local SGD steps per thread per round (issue 20 defect 6): 10⁹ was accepted, and a round then
 * runs for hours (on AWS every worker to its timeout). 100,000 steps of 64 rows is 6.4 million row
 * updates per thread per round, far more than any data set here needs; BSPML_MAX_LOCAL_STEPS lifts it.
 */
export const DEFAULT_MAX_LOCAL_STEPS = 100_000;

export function maxLocalSteps(env: NodeJS.ProcessEnv = process.env): number {
  const value = env.BSPML_MAX_LOCAL_STEPS === undefined ? NaN : Number(env.BSPML_MAX_LOCAL_STEPS);
  return Number.isSafeInteger(value) && value > 0 ? value : DEFAULT_MAX_LOCAL_STEPS;
}

/** The fields that belong to local SGD alone, with the option that sets each. */
const LOCAL_SGD_FIELDS = { localSteps: '--local-steps', batchSize: '--batch-size' } as const;

export const logregSpecSchema = z
  .object({
    algorithm: z.literal('logreg'),
    solver: z.enum(LOGREG_SOLVERS).optional(),
    /** Step size of gradient descent on standardised features. */
    lr: z.number().positive().default(0.5),
    /**
     * L2 penalty (on standardised weights, not the bias); absent means 0, or the C given. Left
     * unfilled rather than defaulted so that a parsed spec parses again unchanged (the CLI validates
     * a spec, then startJob parses it): a filled-in 0 would read as an explicit l2 beside C.
     */
    l2: z.number().min(0).optional(),
    /** scikit-learn's C, as an alias: l2 = 1 / (C · rows). Not with an explicit l2. */
    C: z.number().positive().optional(),
    /** Class weights (scikit-learn's class_weight): "balanced" or {label: weight}. */
    classWeight,
    ...localSgd,
    ...common,
  })
  .strict();

export const svmSpecSchema = z
  .object({
    algorithm: z.literal('svm'),
    solver: z.enum(SVM_SOLVERS).optional(),
    /** Local SGD's step size of its first round (absent: 0.5). */
    lr: z.number().positive().optional(),
    ...localSgd,
    /** L2 penalty on standardised weights, as for logistic regression (absent: 0, or the C given). */
    l2: z.number().min(0).optional(),
    /** LIBLINEAR's C, as an alias: l2 = 1 / (C · rows). Not with an explicit l2. */
    C: z.number().positive().optional(),
    /** Class weights (scikit-learn's class_weight): "balanced" or {label: weight}. */
    classWeight,
    ...common,
  })
  .strict();

export const jobSpecSchema = z.discriminatedUnion('algorithm', [kmeansSpecSchema, logregSpecSchema, svmSpecSchema]);

export type KmeansSpec = z.infer<typeof kmeansSpecSchema>;
export type LogregSpec = z.infer<typeof logregSpecSchema>;
export type SvmSpec = z.infer<typeof svmSpecSchema>;
export type JobSpec = z.infer<typeof jobSpecSchema>;
export type JobSpecInput = z.input<typeof jobSpecSchema>;

/**
 * The data-plane backend a deployed stack runs `spec` on. Takes the spec of any stored record, even
 * one refused because it did not parse: undefined when its `backend` is not one of STACK_BACKENDS.
 */
export function stackBackendOf(spec: unknown): StackBackend | undefined {
  const backend = (spec as { backend?: unknown } | null | undefined)?.backend ?? DEFAULT_STACK_BACKEND;
  return (STACK_BACKENDS as readonly unknown[]).includes(backend) ? (backend as StackBackend) : undefined;
}

/** Validates a job spec, filling defaults; throws SpecError naming the first bad field. */
export function parseJobSpec(input: unknown): JobSpec {
  const raw = input as Record<string, unknown> | null;
  if (raw?.algorithm === 'kmeans' && raw.solver !== undefined) {
    throw new SpecError(`invalid job spec: solver: k-means has no solver (${String(raw.solver)} is for logreg and svm)`, 'solver');
  }
  const result = jobSpecSchema.safeParse(input);
  if (result.success) {
    const spec = result.data;
    if (spec.validation !== undefined && spec.holdout !== undefined) throw new SpecError('invalid job spec: validation (--validation): give validation or holdout, not both', 'validation');
    if (spec.lingerMs !== undefined && spec.sync !== 'linger') throw new SpecError(`invalid job spec: lingerMs (--linger-ms): only with sync linger, not ${spec.sync ?? 'event'}`, 'lingerMs');
    if (spec.algorithm === 'logreg' || spec.algorithm === 'svm') {
      if (spec.data.labelColumn === undefined) spec.data.labelColumn = 'last';
      if (spec.C !== undefined && spec.l2 !== undefined) throw new SpecError('invalid job spec: C: give l2 or C (= 1 / (l2 · rows)), not both', 'C');
      if (spec.solver !== 'local-sgd') {
        const solver = spec.solver ?? 'the default';
        for (const [field, option] of Object.entries(LOCAL_SGD_FIELDS)) {
          if (spec[field as keyof typeof LOCAL_SGD_FIELDS] !== undefined) throw new SpecError(`invalid job spec: ${field} (${option}): only with solver local-sgd, not ${solver}`, field);
        }
        if (spec.algorithm === 'svm' && spec.lr !== undefined) throw new SpecError(`invalid job spec: lr (--lr): the SVM takes a learning rate only with solver local-sgd, not ${solver}`, 'lr');
      }
      // Local SGD steps on each row in turn and GIANT solves each thread's own Newton system: both
      // would need the weight inside their kernels, which the class-by-class sums (algorithms/weightedPartial.ts) do not give.
      if (spec.classWeight !== undefined && (spec.solver === 'local-sgd' || spec.solver === 'giant')) {
        throw new SpecError(`invalid job spec: classWeight (--class-weight): not with solver ${spec.solver}; ${spec.algorithm === 'svm' ? 'newton' : 'newton, lbfgs or gd (lbfgs for more than two classes)'} take class weights`, 'classWeight');
      }
      const most = maxLocalSteps();
      if (spec.localSteps !== undefined && spec.localSteps > most) {
        throw new SpecError(`invalid job spec: localSteps (--local-steps): ${spec.localSteps} is above the limit of ${most.toLocaleString('en-US')} steps per thread per round (BSPML_MAX_LOCAL_STEPS lifts it)`, 'localSteps');
      }
    }
    return spec;
  }
  const issue = result.error.issues[0]!;
  const field = issue.path.join('.') || 'spec';
  throw new SpecError(`invalid job spec: ${field}: ${issue.message}`, field, { cause: result.error });
}

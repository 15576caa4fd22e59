// Values serverless.yml computes (${file(./src/aws/serverless-vars.cjs):NAME}), resolved offline.
// CommonJS because the Serverless Framework loads variable files with require().

/** Lambda gives one vCPU per 1,769 MB, six at most (src/aws/config.ts threadsForMemory, kept equal by a test). */
function threadsForMemory(memoryMb) {
  return Math.max(1, Math.min(6, Math.ceil(memoryMb / 1769)));
}

/** S3 bucket naming rules: 3-63 characters, lower-case letters, digits, dots and hyphens. */
const BUCKET_NAME = /^(?!\d+\.\d+\.\d+\.\d+$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** The longest account id (12 digits) and region name (e.g. ap-southeast-3, 14) a derived name holds. */
const ACCOUNT_AND_REGION_CHARS = 12 + 1 + 14;

/**
 * The data bucket's name: the one given (`--param bucket=NAME` or BSPML_BUCKET_NAME), checked, or
 * one unique to this stack, `SERVICE-STAGE-ACCOUNT-REGION`, whose account and region CloudFormation
 * fills in (it is always used inside Fn::Sub). Throws, failing `serverless package`, with a line
 * saying what to do when neither can make a valid name.
 */
function bucketName(given, service, stage) {
  if (given) {
    if (!BUCKET_NAME.test(given)) {
      throw plainError(`bucket name "${given}" (--param bucket or BSPML_BUCKET_NAME) is not a valid S3 bucket name: 3-63 lower-case letters, digits, dots and hyphens`);
    }
    return given;
  }
  const prefix = `${service}-${stage}`;
  if (!/^[a-z0-9][a-z0-9-]*$/.test(prefix) || prefix.length + 1 + ACCOUNT_AND_REGION_CHARS > 63) {
    throw plainError(
      `cannot derive a data bucket name from service "${service}" and stage "${stage}" (lower-case letters, digits and hyphens, at most ${63 - 1 - ACCOUNT_AND_REGION_CHARS} characters together): choose one with --param bucket=NAME or BSPML_BUCKET_NAME`,
    );
  }
  return `${prefix}-\${AWS::AccountId}-\${AWS::Region}`;
}

/** An error the framework prints as its message alone: its stack would bury the one line that matters. */
function plainError(message) {
  const error = new Error(message);
  error.stack = message;
  return error;
}

/** An S3 key prefix a data bucket entry may name: no wildcards, nothing Fn::Sub would read. */
const PREFIX = /^[A-Za-z0-9._=\/-]*$/;

/**
 * `--param dataBuckets=b1,b2/prefix/`: the user's buckets (or a prefix in one) jobs may read data
 * from, beside the stack's own datasets/. Throws, failing `serverless package`, naming the parameter.
 */
function parseDataBuckets(text) {
  return String(text ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => {
      const slash = entry.indexOf('/');
      const bucket = slash < 0 ? entry : entry.slice(0, slash);
      const prefix = slash < 0 ? '' : entry.slice(slash + 1);
      if (!BUCKET_NAME.test(bucket)) throw plainError(`dataBuckets entry "${entry}" (--param dataBuckets or BSPML_DATA_BUCKETS): "${bucket}" is not a valid S3 bucket name`);
      if (!PREFIX.test(prefix)) throw plainError(`dataBuckets entry "${entry}" (--param dataBuckets or BSPML_DATA_BUCKETS): the prefix may hold letters, digits and . _ = / - only (no wildcards)`);
      return { bucket, prefix };
    });
}

/**
 * Read access to the data buckets, for the functions that read data (start: headers and part
 * listings; worker: shards): objects under each prefix, and listing only below it. Empty when
 * none are given (the statement list then sits in the branch of an Fn::If that is not taken).
 */
function dataReadStatements(entries) {
  return entries.flatMap(({ bucket, prefix }) => [
    { Effect: 'Allow', Action: ['s3:GetObject', 's3:GetObjectVersion'], Resource: { 'Fn::Sub': `arn:\${AWS::Partition}:s3:::${bucket}/${prefix}*` } },
    {
      Effect: 'Allow',
      Action: 's3:ListBucket',
      Resource: { 'Fn::Sub': `arn:\${AWS::Partition}:s3:::${bucket}` },
      ...(prefix ? { Condition: { StringLike: { 's3:prefix': `${prefix}*` } } } : {}),
    },
  ]);
}

/** `--param monthlyBudgetUsd=N`: a positive amount, or unset (1 stands in the budget's unused branch). */
function budgetAmount(text) {
  if (text === '' || text === undefined || text === null) return 1;
  const amount = Number(text);
  if (!Number.isFinite(amount) || amount <= 0) throw plainError(`monthlyBudgetUsd "${text}" (--param monthlyBudgetUsd or BSPML_MONTHLY_BUDGET_USD) is not a positive number of US dollars`);
  return amount;
}

module.exports = {
  parseDataBuckets,
  dataReadStatements: async ({ resolveVariable }) => dataReadStatements(parseDataBuckets(await resolveVariable('self:custom.dataBuckets'))),
  // Where jobs may read data, as s3:// prefixes (the stack's datasets/ first): the start function
  // refuses a spec reading elsewhere, and `bspml submit` reads it from the stack's outputs.
  dataSources: async ({ resolveVariable }) => {
    const own = `s3://${bucketName(await resolveVariable('self:custom.bucketGiven'), await resolveVariable('self:service'), await resolveVariable('sls:stage'))}/datasets/`;
    return [own, ...parseDataBuckets(await resolveVariable('self:custom.dataBuckets')).map(({ bucket, prefix }) => `s3://${bucket}/${prefix}`)].join(',');
  },
  budgetAmount: async ({ resolveVariable }) => budgetAmount(await resolveVariable('self:custom.monthlyBudgetUsd')),
  threadsForMemory,
  bucketName,
  // The worker's inner threads: one per vCPU its memory buys.
  workerThreads: async ({ resolveVariable }) => String(threadsForMemory(Number(await resolveVariable('self:custom.workerMemory')))),
  bucket: async ({ resolveVariable }) =>
    bucketName(await resolveVariable('self:custom.bucketGiven'), await resolveVariable('self:service'), await resolveVariable('sls:stage')),
};

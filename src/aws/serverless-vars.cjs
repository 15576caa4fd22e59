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

module.exports = {
  threadsForMemory,
  bucketName,
  // The worker's inner threads: one per vCPU its memory buys.
  workerThreads: async ({ resolveVariable }) => String(threadsForMemory(Number(await resolveVariable('self:custom.workerMemory')))),
  bucket: async ({ resolveVariable }) =>
    bucketName(await resolveVariable('self:custom.bucketGiven'), await resolveVariable('self:service'), await resolveVariable('sls:stage')),
};

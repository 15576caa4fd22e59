// Values serverless.yml computes (${file(./src/aws/serverless-vars.cjs):NAME}), resolved offline.
// CommonJS because the Serverless Framework loads variable files with require().

/** Lambda gives one vCPU per 1,769 MB, six at most (src/aws/config.ts threadsForMemory, kept equal by a test). */
function threadsForMemory(memoryMb) {
  return Math.max(1, Math.min(6, Math.ceil(memoryMb / 1769)));
}

module.exports = {
  threadsForMemory,
  // The worker's inner threads: one per vCPU its memory buys.
  workerThreads: async ({ resolveVariable }) => String(threadsForMemory(Number(await resolveVariable('self:custom.workerMemory')))),
};

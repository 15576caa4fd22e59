export { startJob, newJobId, type StartRequest } from './startJob.js';
export { runWorker, type WorkerOutcome } from './runWorker.js';
export { aggregate, type AggregateOutcome } from './aggregate.js';
export { recoverJob, type RecoveryOutcome } from './recover.js';
export { failJob } from './failJob.js';
export type { ProtocolDeps } from './deps.js';

/**
 * Largest base64 model carried inside a round message. SNS caps a message at 256 KiB; this leaves
 * room for the rest of the message and the SNS envelope. Larger models are read from the store.
 */
export const MAX_INLINE_MODEL_CHARS = 200_000;

/** Recovery sweeps a round may take before the job is FAILED as stalled. */
export const MAX_RECOVERIES = 3;

/** The preparation round: workers load and summarise their shards; training rounds follow from 1. */
export const PREPARE_ROUND = 0;

/** What a preparation partial carries in place of a model digest: no model enters round 0. */
export const PREPARE_DIGEST = 'prepare';

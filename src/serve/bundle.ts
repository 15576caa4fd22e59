/*
 * What the predict function's bundle may weigh and take to load (issue 24): the cold start of a
 * Node.js function is mostly its bundle (SnapStart does not cover Node.js), and a ~260 KB esbuild
 * bundle loads in ~100 ms of INIT (as the issue cites). Checked by test/aws/template.test.ts
 * (the zip serverless packages) and measured by bench/predict-bundle.ts (load under Node 24).
 */

/** Bytes of the zipped predict bundle. */
export const PREDICT_BUNDLE_LIMIT = 300_000;

/** Module-load time of the bundle in a new Node 24 process, ms (a target, measured, never asserted in a unit test). */
export const PREDICT_LOAD_TARGET_MS = 150;

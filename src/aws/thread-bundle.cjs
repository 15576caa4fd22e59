// An esbuild plugin for serverless-esbuild (custom.esbuild.plugins in serverless.yml). The worker's
// inner threads run a separate module (src/inner/thread.ts) that a handler bundle cannot contain:
// this builds it once per packaging, before the function bundles, to THREAD_BUNDLE, which the
// worker function includes through package.patterns and finds through BSPML_THREAD_ENTRY.
// CommonJS because serverless-esbuild loads plugins with require().
const esbuild = require('esbuild');

const THREAD_BUNDLE = '.bspml-lambda/thread.mjs';
let built;

module.exports = [
  {
    name: 'bspml-thread-bundle',
    setup(build) {
      build.onStart(() => {
        built ??= esbuild
          .build({
            entryPoints: ['src/inner/thread.ts'],
            outfile: THREAD_BUNDLE,
            bundle: true,
            platform: 'node',
            format: 'esm',
            target: 'node24',
            minify: true,
            logLevel: 'warning',
          })
          .then(() => undefined);
        return built;
      });
    },
  },
];
module.exports.THREAD_BUNDLE = THREAD_BUNDLE;

import type { BuildOptions } from 'esbuild';

/*
 * serverless.yml's esbuild settings (custom.esbuild) as esbuild options, for the tests and benches
 * that build a function's code as the deployment bundles it and run it under Lambda's Node 24:
 * one copy here, kept beside the YAML's, instead of one per test.
 */
export const LAMBDA_ESBUILD = {
  bundle: true,
  minify: true,
  keepNames: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  logLevel: 'warning',
} as const satisfies BuildOptions;

/** An ESM bundle's `require` for the CommonJS code it holds (serverless.yml's esbuild banner). */
export const ESM_REQUIRE_BANNER = {
  js: "import { createRequire as __bspmlCreateRequire } from 'node:module'; const require = __bspmlCreateRequire(import.meta.url);",
};

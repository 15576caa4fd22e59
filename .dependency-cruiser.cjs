/**
 * The layers of README.md's "How it is built", as rules on the imports (issue 23). Each layer names
 * the layers it knows; an import from a layer into one it does not know is a violation. The check
 * runs in the test suite (test/architecture/layers.test.ts) and from the command line:
 *
 *   npx depcruise src handlers --config .dependency-cruiser.cjs
 *
 * Type-only imports count: a type is a dependency on the module that declares it.
 */

/** Bottom to top. `path` is a regular expression on the path from the repository root. */
const LAYERS = [
  { name: 'foundation', path: '^src/(errors|version)\\.ts$|^src/util/', knows: [] },
  { name: 'kernels', path: '^src/kernels/', knows: ['foundation'] },
  { name: 'data', path: '^src/data/(?!sources/)', knows: ['foundation'] },
  { name: 'domain', path: '^src/domain/', knows: ['foundation', 'data'] },
  { name: 'metrics', path: '^src/metrics/', knows: ['foundation'] },
  { name: 'costs', path: '^src/costs/', knows: ['foundation', 'domain'] },
  { name: 'export', path: '^src/export/', knows: ['foundation', 'domain'] },
  { name: 'algorithms', path: '^src/algorithms/', knows: ['foundation', 'kernels', 'data', 'domain'] },
  { name: 'ports', path: '^src/ports/', knows: ['foundation', 'data', 'domain', 'algorithms'] },
  { name: 'inner', path: '^src/inner/', knows: ['foundation', 'kernels', 'data', 'domain', 'algorithms', 'ports'] },
  // The protocol drives a container through its port (ports/Container.ts), never inner/ itself. It
  // knows metrics (a leaf) because the job's last aggregation scores the model on held-out rows (protocol/score.ts).
  { name: 'protocol', path: '^src/protocol/', knows: ['foundation', 'data', 'domain', 'metrics', 'costs', 'algorithms', 'ports'] },
  { name: 'stores', path: '^src/stores/', knows: ['foundation', 'domain', 'ports'] },
  { name: 'events', path: '^src/events/', knows: ['foundation'] },
  { name: 'sources', path: '^src/data/sources/', knows: ['foundation', 'data', 'ports'] },
  // AWS adapters (SNS, SQS, S3 data sets) and the wiring the Lambda handlers call.
  { name: 'aws', path: '^src/aws/', knows: ['foundation', 'domain', 'ports', 'inner', 'protocol', 'stores', 'sources'] },
  // Local emulators (dynalite, s3rver, redis-server) and the openers that start one when no endpoint is given.
  { name: 'emulators', path: '^src/emulators/', knows: ['foundation', 'ports', 'stores', 'aws'] },
  { name: 'report', path: '^src/report/', knows: ['foundation', 'domain', 'costs'] },
  { name: 'runtime', path: '^src/runtime/', knows: ['foundation', 'domain', 'ports', 'inner', 'protocol', 'events'] },
  { name: 'serve', path: '^src/serve/', knows: ['foundation', 'data', 'domain', 'costs', 'algorithms', 'protocol', 'sources', 'aws', 'report'] },
  {
    name: 'sim',
    path: '^src/sim/',
    knows: ['foundation', 'data', 'domain', 'costs', 'algorithms', 'ports', 'inner', 'protocol', 'stores', 'sources', 'runtime'],
  },
  { name: 'handlers', path: '^handlers/', knows: ['foundation', 'domain', 'inner', 'protocol', 'aws', 'serve'] },
  {
    name: 'cli',
    path: '^src/(cli|bench)/',
    knows: ['foundation', 'kernels', 'data', 'domain', 'metrics', 'costs', 'export', 'algorithms', 'ports', 'protocol', 'stores', 'sources', 'aws', 'emulators', 'report', 'runtime', 'serve', 'sim'],
  },
];

const byName = new Map(LAYERS.map((layer) => [layer.name, layer]));

/** One rule per layer: from it, to any module of the code that is in none of the layers it knows. */
const layerRules = LAYERS.map((layer) => ({
  name: `layer-${layer.name}`,
  comment: `${layer.name} knows ${layer.knows.length ? layer.knows.join(', ') : 'no other layer'} (README.md, "How it is built")`,
  severity: 'error',
  from: { path: layer.path },
  to: {
    path: '^(src|handlers)/',
    pathNot: [layer.path, ...layer.knows.map((name) => byName.get(name).path)],
  },
}));

/** Every file of src/ and handlers/ belongs to exactly one layer: a new folder gets a place in the table. */
const everyPath = LAYERS.map((layer) => `(${layer.path})`).join('|');

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'no-circular',
      comment: 'a module that reaches itself through its imports',
      severity: 'error',
      from: { path: '^(src|handlers)/' },
      to: { circular: true },
    },
    {
      name: 'in-a-layer',
      comment: 'a module of src/ or handlers/ that no layer of .dependency-cruiser.cjs holds',
      severity: 'error',
      from: { path: '^(src|handlers)/', pathNot: everyPath },
      to: {},
    },
    {
      name: 'not-to-tests',
      comment: 'the code does not import the tests',
      severity: 'error',
      from: { path: '^(src|handlers)/' },
      to: { path: '^test/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // The AssemblyScript kernels (asc's, not TypeScript: decorators on functions, asc's builtins).
    exclude: { path: '^src/kernels/wasm/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    moduleSystems: ['es6', 'cjs'],
  },
};

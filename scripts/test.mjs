// `npm test`: the type check and the test suite side by side, not one after the other. tsc uses
// one core for ~16 s (cold); run first, it left the other core of a 2-core machine idle that long. The
// suite's arguments pass through (npm test -- test/cli). Exits non-zero if either fails; tsc's
// report is printed after the suite's, so the two do not interleave.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
/** A package's own script, found beside its package.json (vitest exports no other subpath). */
const bin = (pkg, file) => join(dirname(require.resolve(`${pkg}/package.json`)), file);

function run(args, capture) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', capture ? 'pipe' : 'inherit', capture ? 'pipe' : 'inherit'] });
    let output = '';
    if (capture) for (const stream of [child.stdout, child.stderr]) stream.on('data', (chunk) => (output += chunk));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), output }));
  });
}

// Incremental, with tsc's build info in .tsc-cache/ (git ignores it): a run after an edit rechecks
// what the edit can affect (~6.5 s of CPU here with nothing changed, ~8 s after an edit to a test
// helper, instead of ~19.5 s); a fresh checkout, CI's, checks everything as before.
const typecheck = run([bin('typescript', 'bin/tsc'), '-p', 'tsconfig.json', '--noEmit', '--incremental', '--tsBuildInfoFile', '.tsc-cache/tsconfig.tsbuildinfo'], true);
const suite = await run([bin('vitest', 'vitest.mjs'), 'run', ...process.argv.slice(2)], false);
const types = await typecheck;
if (types.code !== 0) process.stderr.write(`\ntsc -p tsconfig.json --noEmit failed:\n${types.output}`);
process.exit(types.code !== 0 ? types.code : suite.code);

// `npm test`: the type check and the test suite side by side, not one after the other. tsc uses
// one core for ~16 s; run first, it left the other core of a 2-core machine idle that long. The
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

const typecheck = run([bin('typescript', 'bin/tsc'), '-p', 'tsconfig.json', '--noEmit'], true);
const suite = await run([bin('vitest', 'vitest.mjs'), 'run', ...process.argv.slice(2)], false);
const types = await typecheck;
if (types.code !== 0) process.stderr.write(`\ntsc -p tsconfig.json --noEmit failed:\n${types.output}`);
process.exit(types.code !== 0 ? types.code : suite.code);

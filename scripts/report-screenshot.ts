/*
 * Looks at the HTML run report as a person would: runs `npm start`'s job with --report FILE.html,
 * then takes a headless Chromium screenshot of the page.
 *
 *   npm run report:screenshot                         # writes under the OS temp dir, prints the path
 *   npm run report:screenshot -- --out docs/report.png  # refreshes the committed picture, on purpose
 *
 * Needs `chromium` on the PATH (Debian: apt-get install chromium), or CHROMIUM=/path/to/it.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { runCli } from '../src/cli/main.js';

const { values } = parseArgs({ options: { out: { type: 'string' } } });
const work = await mkdtemp(join(tmpdir(), 'bspml-report-shot-'));
const out = resolve(values.out ?? join(tmpdir(), 'bspml-report.png'));
try {
  const html = join(work, 'report.html');
  // npm start's job (package.json), with the report instead of the model file.
  const args = ['train', 'kmeans', '--data', 'data/blobs.csv', '--k', '5', '--workers', '4', '--threads', '2', '--no-progress', '--report', html];
  const code = await runCli(args, { stdout: process.stdout, stderr: process.stderr });
  if (code !== 0) throw new Error(`bspml ${args.join(' ')} exited ${code}`);
  const chromium = process.env.CHROMIUM ?? 'chromium';
  await promisify(execFile)(chromium, ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--window-size=820,1240', `--screenshot=${out}`, `file://${html}`], { timeout: 60_000 });
  const { size } = await stat(out);
  console.log(`screenshot of the HTML report: ${out} (${size} bytes)`);
} finally {
  await rm(work, { recursive: true, force: true });
}

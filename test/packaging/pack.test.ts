import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { findRedisServer } from '../../src/emulators/redis-server.js';

/*
 * The package as a user installs it (npm install --omit=dev): everything the CLI imports at run
 * time is a runtime dependency. The fast check reads the imports of src/ (what dist/ is compiled
 * from); BSPML_PACK_TEST=1 also packs the tarball, installs it with --omit=dev into a temp dir
 * (registry access needed) and trains on every backend with the installed CLI (a few minutes).
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && /\.(ts|js|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts')).map((e) => join(e.parentPath, e.name));
}

/** Bare specifiers imported for their values (not `import type`), statically or dynamically. */
function runtimeImports(code: string): string[] {
  const found: string[] = [];
  const patterns = [/^\s*import\s+(?!type\s)[^'"]*?from\s+['"]([^'"]+)['"]/gm, /^\s*import\s+['"]([^'"]+)['"]/gm, /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g, /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g, /^\s*export\s+(?!type\s)[^'"]*?from\s+['"]([^'"]+)['"]/gm];
  for (const pattern of patterns) for (const m of code.matchAll(pattern)) found.push(m[1]!);
  return found.filter((s) => !s.startsWith('.') && !s.startsWith('/'));
}

const packageName = (specifier: string) => (specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!);

describe('the npm package', () => {
  it('imports at run time only runtime dependencies and Node built-ins', async () => {
    // Prepare
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; files: string[] };
    const builtins = new Set(builtinModules);
    const files = [...(await sources(join(ROOT, 'src'))), join(ROOT, 'bin', 'bspml.js')].filter((f) => !f.endsWith('.cjs'));

    // Act
    const offenders: string[] = [];
    const imported = new Set<string>();
    for (const file of files) {
      for (const specifier of runtimeImports(await readFile(file, 'utf8'))) {
        const name = packageName(specifier.replace(/^node:/, ''));
        if (specifier.startsWith('node:') || builtins.has(name)) continue;
        imported.add(name);
        if (!(name in pkg.dependencies)) offenders.push(`${relative(ROOT, file)} imports ${specifier}`);
      }
    }

    // Assess: the emulators the CLI starts are among them.
    expect(offenders).toEqual([]);
    expect([...imported]).toEqual(expect.arrayContaining(['commander', 'dynalite', 's3rver', 'ioredis', 'vega']));
    for (const emulator of ['dynalite', 's3rver']) expect(Object.keys(pkg.dependencies)).toContain(emulator);
    expect(pkg.files).toEqual(expect.arrayContaining(['bin', 'dist']));
  });

  it.runIf(process.env.BSPML_PACK_TEST === '1')(
    'installs from the packed tarball with --omit=dev and trains on every backend',
    async () => {
      // Prepare
      const work = await mkdtemp(join(tmpdir(), 'bspml-pack-'));
      try {
        const { stdout } = await run('npm', ['pack', '--pack-destination', work, '--json'], { cwd: ROOT, maxBuffer: 1 << 26 });
        const tarball = join(work, (JSON.parse(stdout.slice(stdout.indexOf('['))) as { filename: string }[])[0]!.filename);
        const app = join(work, 'app');
        await run('mkdir', ['-p', app]);
        await writeFile(join(app, 'package.json'), '{"name":"app","private":true}\n');
        await run('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', tarball], { cwd: app, maxBuffer: 1 << 26 });
        const bspml = join(app, 'node_modules', '.bin', 'bspml');
        const data = join(app, 'node_modules', 'serverless-bsp-ml', 'data', 'blobs.csv');

        // Act + Assess
        for (const backend of ['memory', 'dynamodb', 's3', ...(findRedisServer() ? ['redis'] : [])]) {
          const out = await run(bspml, ['train', 'kmeans', '--data', data, '--k', '5', '--workers', '2', '--threads', '1', '--no-progress', '--backend', backend], { cwd: app });
          expect(out.stdout, backend).toMatch(new RegExp(`backend ${backend}`));
          expect(out.stdout, backend).toMatch(/^rounds\s+\d+, converged/m);
        }
        const version = await run(bspml, ['--version'], { cwd: app });
        expect(version.stdout.trim()).toBe((JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    },
    600_000,
  );
});

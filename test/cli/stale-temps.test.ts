import { spawn, spawnSync } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openTableWriter } from '../../src/data/formats/write.js';
import { writeFileAtomic } from '../../src/util/files.js';
import { useTempDirs } from '../helpers/cli.js';

/*
 * Issue 20 defect 13, files: a run killed outright (kill -9) between writing its temp file and
 * renaming it left `.NAME.XXXX.tmp` behind. Temp names now carry the writer's pid; the next write
 * of the same output removes those of processes that are gone, at once, and leaves a live
 * writer's alone. The model writer (writeFileAtomic) and the table writer (convert, gen) both.
 */

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('issue 20 defect 13: stale temp files of ours are removed by the next run', () => {
  const tempDir = useTempDirs('bspml-stale-');

  it.each([
    ['a model (writeFileAtomic)', 'm.json', (path: string) => writeFileAtomic(path, '{}')],
    [
      'a table (openTableWriter)',
      't.parquet',
      async (path: string) => {
        const writer = await openTableWriter(path, ['a']);
        await writer.write(new Float32Array([1, 2]));
        await writer.close();
      },
    ],
  ])('%s: a dead writer\'s temp files go, a live writer\'s stay', async (_what, name, write) => {
    // Prepare: temp files of a dead process (with the CRC pass's), of a live one, and one of ours with no pid (fresh).
    const dir = await tempDir();
    const live = spawn('sleep', ['30']);
    const dead = deadPid();
    const names = [`.${name}.${dead}-0123abcd.tmp`, `.${name}.${dead}-0123abcd.tmp.crc`, `.${name}.${live.pid}-89abcdef.tmp`, `.${name}.fedcba98.tmp`, 'other.tmp'];
    try {
      for (const n of names) await writeFile(join(dir, n), 'partial');

      // Act
      await write(join(dir, name));

      // Assess
      expect((await readdir(dir)).sort()).toEqual([`.${name}.${live.pid}-89abcdef.tmp`, `.${name}.fedcba98.tmp`, name, 'other.tmp'].sort());
    } finally {
      live.kill('SIGKILL');
    }
  });
});

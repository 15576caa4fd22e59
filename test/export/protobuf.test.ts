import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProtoWriter, varint } from '../../src/export/protobuf.js';

/* The protobuf writer against the examples of https://protobuf.dev/programming-guides/encoding/. */

describe('protobuf writer', () => {
  it('writes varints as the encoding guide does: 1, 150, 300, and -1 in ten bytes', () => {
    // Prepare / Act / Assess
    expect([...varint(1n)]).toEqual([0x01]);
    expect([...varint(150n)]).toEqual([0x96, 0x01]);
    expect([...varint(300n)]).toEqual([0xac, 0x02]);
    expect([...varint(-1n)]).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  });

  it('writes the guide\'s Test1 {a: 150} and Test2 {b: "testing"}, a nested message and a packed list', () => {
    // Prepare / Act
    const test1 = new ProtoWriter().int(1, 150).finish();
    const test2 = new ProtoWriter().string(2, 'testing').finish();
    const test3 = new ProtoWriter().message(3, new ProtoWriter().int(1, 150)).finish();
    const packed = new ProtoWriter().packedInts(4, [3, 270, 86942]).finish();

    // Assess
    expect(Buffer.from(test1).toString('hex')).toBe('089601');
    expect(Buffer.from(test2).toString('hex')).toBe('120774657374696e67');
    expect(Buffer.from(test3).toString('hex')).toBe('1a03089601');
    expect(Buffer.from(packed).toString('hex')).toBe('2206038e029ea705');
  });
});

describe('onnxruntime-node stays a test dependency', () => {
  it('no source file under src/ imports it', async () => {
    // Prepare
    const root = new URL('../../src/', import.meta.url).pathname;
    const files = (await readdir(root, { recursive: true })).filter((f) => /\.(ts|js|cjs|mjs)$/.test(f));

    // Act
    const importing: string[] = [];
    for (const f of files) if (/from ['"]onnxruntime|import\(['"]onnxruntime|require\(['"]onnxruntime/.test(await readFile(join(root, f), 'utf8'))) importing.push(f);

    // Assess
    expect(files.length).toBeGreaterThan(10);
    expect(importing).toEqual([]);
  });
});

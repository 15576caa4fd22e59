// Exits 0 when the WebAssembly kernels are newer than everything they are built from (every
// AssemblyScript source under src/kernels/wasm — the entry kernels.ts and the files it imports — and
// package.json, which holds the asc flags), 1 when they must be built. `npm run build:wasm` runs asc
// only on 1: npm start and npm test do not rebuild what has not changed.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const dir = 'src/kernels/wasm';
const mtime = (path) => {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
};
const sources = readdirSync(dir, { recursive: true }).filter((f) => String(f).endsWith('.ts')).map((f) => join(dir, String(f)));
const inputs = [...sources, 'package.json'];
const outputs = ['kernels.wasm', 'kernels-simd128.wasm'].map((f) => mtime(join(dir, f)));
const newestInput = Math.max(...inputs.map((f) => mtime(f) ?? Infinity));
process.exit(outputs.every((t) => t !== undefined && t > newestInput) ? 0 : 1);

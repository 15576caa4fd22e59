// Exits 0 when the WebAssembly kernels are newer than everything they are built from (the
// AssemblyScript sources and package.json, which holds the asc flags), 1 when they must be built.
// `npm run build:wasm` runs asc only on 1: npm start and npm test do not rebuild what has not changed.
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
const inputs = [...readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => join(dir, f)), 'package.json'];
const outputs = ['kernels.wasm', 'kernels-simd128.wasm'].map((f) => mtime(join(dir, f)));
const newestInput = Math.max(...inputs.map((f) => mtime(f) ?? Infinity));
process.exit(outputs.every((t) => t !== undefined && t > newestInput) ? 0 : 1);

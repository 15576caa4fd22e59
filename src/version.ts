import { readFileSync } from 'node:fs';

/**
 * The package's version, read from package.json at run time: src/ and dist/ sit at the same depth
 * under the package root, so one relative path serves both (and an installed package).
 */
export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

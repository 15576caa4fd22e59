import { extname } from 'node:path';
import { BspmlError } from '../errors.js';
import { writeFileAtomic } from '../util/files.js';
import { renderHtml } from './html.js';
import type { RunReport } from './schema.js';

/** Report formats, by the file's extension. */
export const REPORT_EXTENSIONS = ['.json', '.html'] as const;

/** Refuses a report file whose format is unknown, before any work is done. */
export function checkReportPath(file: string): void {
  const ext = extname(file).toLowerCase();
  if (!(REPORT_EXTENSIONS as readonly string[]).includes(ext)) {
    throw new BspmlError('E_USAGE', `--report ${file}: the file must end in .json or .html`);
  }
}

export function reportJson(report: RunReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

/** Writes the report as JSON or HTML (by extension), whole or not at all. */
export async function writeReport(file: string, report: RunReport): Promise<void> {
  checkReportPath(file);
  const text = extname(file).toLowerCase() === '.html' ? await renderHtml(report) : reportJson(report);
  await writeFileAtomic(file, text);
}

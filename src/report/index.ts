export { buildReport, pricedBackend, roundTimes, type ReportInput } from './build.js';
export { renderHtml } from './html.js';
export { REPORT_SCHEMA_ID, runReportSchema, type RunReport } from './schema.js';
export { checkReportPath, reportJson, writeReport } from './write.js';

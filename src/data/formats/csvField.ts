/**
 * A value as a CSV field: quoted when it holds a comma, a quote or a line break, its quotes doubled
 * (RFC 4180). Apart from the writer (csv-write.ts) so that what writes predictions, in threads and in
 * the predict bundle, takes nothing else with it.
 */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

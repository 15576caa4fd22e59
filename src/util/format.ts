/** Number formatting for reports: readable, not exhaustive. */

export function ms(value: number): string {
  if (value >= 10_000) return `${(value / 1000).toFixed(1)} s`;
  if (value >= 100) return `${Math.round(value).toLocaleString('en-US')} ms`;
  return `${value.toFixed(1)} ms`;
}

export function bytes(value: number): string {
  if (value >= 1024 * 1024) return `${(value / 1024 / 1024).toFixed(1)} MB`;
  if (value >= 1024) return `${(value / 1024).toFixed(1)} KB`;
  return `${Math.round(value)} B`;
}

export function num(value: number): string {
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 1e12 || abs < 1e-3) return value.toExponential(4);
  if (abs >= 1000) return value.toLocaleString('en-US', { maximumFractionDigits: 2 });
  return value.toPrecision(6).replace(/\.?0+$/, '');
}

export function int(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

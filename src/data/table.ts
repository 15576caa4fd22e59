/**
 * A parsed data file before the label column is chosen: every column as float32, row-major.
 * CSV and the binary format both decode to this, so validation downstream is format-blind.
 */
export interface Table {
  columns: string[];
  rows: number;
  cols: number;
  /** rows × cols values, row-major. */
  values: Float32Array;
  /** Whether the column names came from the file (a CSV header or the binary format's name list). */
  hasHeader: boolean;
  /**
   * The number error messages give row 0: its line in a CSV file (2 after a header, 1 without),
   * or 1 in the binary format, whose rows have no lines and are counted from 1.
   */
  firstLine: number;
  /** Per column read as text: its distinct values, which the column's values are codes into. */
  texts?: (string[] | undefined)[];
}

/** `x0 .. x{n-1}`: the names columns get when the file does not name them. */
export function defaultColumnNames(n: number): string[] {
  const names = new Array<string>(n);
  for (let i = 0; i < n; i++) names[i] = `x${i}`;
  return names;
}

const POW10: number[] = [];
// Powers of ten up to 1e22 are exact doubles, so scaling by them rounds only once.
for (let i = 0; i <= 22; i++) POW10.push(10 ** i);

/**
 * The shortest decimal that reads back as the same float32. `String(v)` would print the float64
 * expansion of the stored value (0.1 as 0.10000000149011612), which bloats files and messages.
 * Scaling arithmetic stands in for toPrecision, which is several times slower on data-file sizes.
 */
export function formatFloat32(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const f = Math.fround(v);
  // Integers below 2^24 are exact in float32, and they are most of what labels and counts hold.
  if (Number.isInteger(f) && Math.abs(f) < 16777216) return Object.is(f, -0) ? '-0' : String(f);
  const a = Math.abs(f);
  const exponent = Math.floor(Math.log10(a));
  for (let digits = 1; digits <= 9; digits++) {
    const places = digits - 1 - exponent;
    if (places > 22 || places < -22) break;
    // Halves round away from zero, as toPrecision does.
    const m = places >= 0 ? Math.round(a * POW10[places]) / POW10[places] : Math.round(a / POW10[-places]) * POW10[-places];
    if (Math.fround(m) === a) return String(f < 0 ? -m : m);
  }
  // Only for magnitudes whose scaling would leave the exact powers of ten, or a rare misrounded product.
  for (let digits = 1; digits < 9; digits++) {
    const d = Number(f.toPrecision(digits));
    if (Math.fround(d) === f) return String(d);
  }
  return String(Number(f.toPrecision(9)));
}

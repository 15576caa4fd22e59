/** Rows of a model's weights or centroids packed into one contiguous array, row after row, `dims` each. */
export function packRows(rows: readonly (readonly number[])[], dims: number): Float64Array {
  const packed = new Float64Array(rows.length * dims);
  rows.forEach((r, k) => packed.set(r, k * dims));
  return packed;
}

/**
 * The logistic-regression gradient pass over rows [start, end): with p = σ(w·x + b) it adds
 * (p − y)·x to grad[0..dims) and (p − y) to grad[dims], and returns the summed log-loss and the
 * number of rows classified correctly (p ≥ 0.5 ⇔ label 1). `w` holds dims weights then the bias.
 */
export function logregAccumulate(
  x: Float32Array,
  y: Float32Array,
  dims: number,
  start: number,
  end: number,
  w: Float64Array,
  grad: Float64Array,
): { loss: number; correct: number } {
  let loss = 0;
  let correct = 0;
  const bias = w[dims]!;
  for (let i = start; i < end; i++) {
    const row = i * dims;
    let z = bias;
    for (let j = 0; j < dims; j++) z += w[j]! * x[row + j]!;
    const label = y[i]!;
    // softplus(z) − y·z is the log-loss, written so that neither exp overflows for large |z|.
    const softplus = z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
    loss += softplus - label * z;
    const p = z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
    if ((z >= 0 ? 1 : 0) === label) correct++;
    const err = p - label;
    for (let j = 0; j < dims; j++) grad[j] += err * x[row + j]!;
    grad[dims] += err;
  }
  return { loss, correct };
}

// @ts-nocheck -- AssemblyScript, compiled by `asc` into the modules built from kernels.ts (npm run build:wasm), not by tsc.
/*
 * The multinomial (softmax) logistic-regression kernels: the gradient and loss pass, the probabilities and
 * the Hessian-vector product, all on blocks of rows widened to float64.
 */

import { madd64 } from './simd';

/** Rows per block of the softmax kernels: `tmp` holds them in float64, and their logits. */
export const SOFTMAX_BLOCK: i32 = 8;

/** Bytes of `tmp` the softmax kernels need for `dims` columns and `classes` outputs. */
export function softmaxScratchBytes(dims: i32, classes: i32): i32 {
  return SOFTMAX_BLOCK * ((dims + 2) * 8) + 4 * SOFTMAX_BLOCK * classes * 8 + classes * 8 + 64;
}

/** Rows [i, i + m) of float32 `x` into float64 `dst`, one row every `stride` bytes. */
function widenRows(x: usize, rowBytes: usize, i: i32, m: i32, dims: i32, dst: usize, stride: usize): void {
  for (let b = 0; b < m; b++) {
    const row = x + <usize>(i + b) * rowBytes;
    const out = dst + <usize>b * stride;
    let j = 0;
    for (; j + 4 <= dims; j += 4) {
      const v = v128.load(row + (<usize>j << 2));
      v128.store(out + (<usize>j << 3), f64x2.promote_low_f32x4(v));
      v128.store(out + (<usize>j << 3) + 16, f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3)));
    }
    for (; j < dims; j++) store<f64>(out + (<usize>j << 3), <f64>load<f32>(row + (<usize>j << 2)));
  }
}

/**
 * z[b·classes + k] = W_k·x_b + bias_k for the m rows of a widened block (`w`: classes rows of dims
 * weights, then the biases). Two rows × four classes per pass: eight float64x2 chains that share each
 * load of a row pair and of four weight rows. Every row's logit is summed in the same order (pairs of
 * columns into one vector, its two lanes added, then the bias) whichever tile computes it, so a row's
 * logits do not depend on where a thread's range starts (nor on the block a row falls in).
 */
function blockLogits(rows: usize, stride: usize, m: i32, dims: i32, classes: i32, w: usize, z: usize): void {
  const rowW = <usize>dims << 3;
  const biases = w + <usize>classes * rowW;
  const odd = dims & 1;
  const zero = f64x2.splat(0);
  let b = 0;
  for (; b + 1 < m; b += 2) {
    const ra = rows + <usize>b * stride, rb = ra + stride;
    const za = z + <usize>(b * classes) * 8, zb = za + (<usize>classes << 3);
    let k = 0;
    for (; k + 3 < classes; k += 4) {
      const w0 = w + <usize>k * rowW, w1 = w0 + rowW, w2 = w1 + rowW, w3 = w2 + rowW;
      let a0 = zero, a1 = zero, a2 = zero, a3 = zero, c0 = zero, c1 = zero, c2 = zero, c3 = zero;
      const full = dims & ~1;
      for (let j = 0; j < full; j += 2) {
        const o = <usize>j << 3;
        const xa = v128.load(ra + o), xb = v128.load(rb + o);
        const v0 = v128.load(w0 + o), v1 = v128.load(w1 + o), v2 = v128.load(w2 + o), v3 = v128.load(w3 + o);
        a0 = madd64(xa, v0, a0); c0 = madd64(xb, v0, c0);
        a1 = madd64(xa, v1, a1); c1 = madd64(xb, v1, c1);
        a2 = madd64(xa, v2, a2); c2 = madd64(xb, v2, c2);
        a3 = madd64(xa, v3, a3); c3 = madd64(xb, v3, c3);
      }
      if (odd) {
        const o = <usize>(dims - 1) << 3;
        const xa = f64x2.replace_lane(zero, 0, load<f64>(ra + o)), xb = f64x2.replace_lane(zero, 0, load<f64>(rb + o));
        const v0 = f64x2.splat(load<f64>(w0 + o)), v1 = f64x2.splat(load<f64>(w1 + o)), v2 = f64x2.splat(load<f64>(w2 + o)), v3 = f64x2.splat(load<f64>(w3 + o));
        a0 = madd64(xa, v0, a0); c0 = madd64(xb, v0, c0);
        a1 = madd64(xa, v1, a1); c1 = madd64(xb, v1, c1);
        a2 = madd64(xa, v2, a2); c2 = madd64(xb, v2, c2);
        a3 = madd64(xa, v3, a3); c3 = madd64(xb, v3, c3);
      }
      const bk = biases + (<usize>k << 3);
      const o = <usize>k << 3;
      store<f64>(za + o, f64x2.extract_lane(a0, 0) + f64x2.extract_lane(a0, 1) + load<f64>(bk));
      store<f64>(za + o + 8, f64x2.extract_lane(a1, 0) + f64x2.extract_lane(a1, 1) + load<f64>(bk, 8));
      store<f64>(za + o + 16, f64x2.extract_lane(a2, 0) + f64x2.extract_lane(a2, 1) + load<f64>(bk, 16));
      store<f64>(za + o + 24, f64x2.extract_lane(a3, 0) + f64x2.extract_lane(a3, 1) + load<f64>(bk, 24));
      store<f64>(zb + o, f64x2.extract_lane(c0, 0) + f64x2.extract_lane(c0, 1) + load<f64>(bk));
      store<f64>(zb + o + 8, f64x2.extract_lane(c1, 0) + f64x2.extract_lane(c1, 1) + load<f64>(bk, 8));
      store<f64>(zb + o + 16, f64x2.extract_lane(c2, 0) + f64x2.extract_lane(c2, 1) + load<f64>(bk, 16));
      store<f64>(zb + o + 24, f64x2.extract_lane(c3, 0) + f64x2.extract_lane(c3, 1) + load<f64>(bk, 24));
    }
    // Two classes left (10 = 4 + 4 + 2): two rows × two classes, four chains, rather than one chain
    // at a time (latency-bound); the same order of sums per logit.
    for (; k + 1 < classes; k += 2) {
      const w0 = w + <usize>k * rowW, w1 = w0 + rowW;
      let a0 = zero, a1 = zero, c0 = zero, c1 = zero;
      const full = dims & ~1;
      for (let j = 0; j < full; j += 2) {
        const o = <usize>j << 3;
        const xa = v128.load(ra + o), xb = v128.load(rb + o);
        const v0 = v128.load(w0 + o), v1 = v128.load(w1 + o);
        a0 = madd64(xa, v0, a0); c0 = madd64(xb, v0, c0);
        a1 = madd64(xa, v1, a1); c1 = madd64(xb, v1, c1);
      }
      if (odd) {
        const o = <usize>(dims - 1) << 3;
        const xa = f64x2.replace_lane(zero, 0, load<f64>(ra + o)), xb = f64x2.replace_lane(zero, 0, load<f64>(rb + o));
        const v0 = f64x2.splat(load<f64>(w0 + o)), v1 = f64x2.splat(load<f64>(w1 + o));
        a0 = madd64(xa, v0, a0); c0 = madd64(xb, v0, c0);
        a1 = madd64(xa, v1, a1); c1 = madd64(xb, v1, c1);
      }
      const bk = biases + (<usize>k << 3);
      const o = <usize>k << 3;
      store<f64>(za + o, f64x2.extract_lane(a0, 0) + f64x2.extract_lane(a0, 1) + load<f64>(bk));
      store<f64>(za + o + 8, f64x2.extract_lane(a1, 0) + f64x2.extract_lane(a1, 1) + load<f64>(bk, 8));
      store<f64>(zb + o, f64x2.extract_lane(c0, 0) + f64x2.extract_lane(c0, 1) + load<f64>(bk));
      store<f64>(zb + o + 8, f64x2.extract_lane(c1, 0) + f64x2.extract_lane(c1, 1) + load<f64>(bk, 8));
    }
    for (; k < classes; k++) {
      store<f64>(za + (<usize>k << 3), rowLogit(ra, w + <usize>k * rowW, dims) + load<f64>(biases + (<usize>k << 3)));
      store<f64>(zb + (<usize>k << 3), rowLogit(rb, w + <usize>k * rowW, dims) + load<f64>(biases + (<usize>k << 3)));
    }
  }
  for (; b < m; b++) {
    const ra = rows + <usize>b * stride;
    const za = z + <usize>(b * classes) * 8;
    for (let k = 0; k < classes; k++) {
      store<f64>(za + (<usize>k << 3), rowLogit(ra, w + <usize>k * rowW, dims) + load<f64>(biases + (<usize>k << 3)));
    }
  }
}

/** One widened row's W_k·x in blockLogits' order: one float64x2 chain over column pairs, then its lanes. */
function rowLogit(row: usize, wk: usize, dims: i32): f64 {
  let a = f64x2.splat(0);
  const full = dims & ~1;
  for (let j = 0; j < full; j += 2) {
    const o = <usize>j << 3;
    a = madd64(v128.load(row + o), v128.load(wk + o), a);
  }
  if (full < dims) {
    const o = <usize>full << 3;
    a = madd64(f64x2.replace_lane(f64x2.splat(0), 0, load<f64>(row + o)), f64x2.splat(load<f64>(wk + o)), a);
  }
  return f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1);
}

/**
 * grad[k·dims + j] += Σ_b e[b·classes + k]·x_bj and grad[classes·dims + k] += Σ_b e[b·classes + k]
 * over the m rows of a widened block: four rows × two classes per pass (their eight factors splatted
 * outside the column loop), so each pair of gradient entries is loaded and stored once per four rows.
 */
function blockAccumulate(rows: usize, stride: usize, m: i32, dims: i32, classes: i32, e: usize, grad: usize): void {
  const rowW = <usize>dims << 3;
  const full = dims & ~1;
  let b = 0;
  for (; b + 3 < m; b += 4) {
    const r0 = rows + <usize>b * stride, r1 = r0 + stride, r2 = r1 + stride, r3 = r2 + stride;
    const e0 = e + <usize>(b * classes) * 8, e1 = e0 + (<usize>classes << 3), e2 = e1 + (<usize>classes << 3), e3 = e2 + (<usize>classes << 3);
    let k = 0;
    for (; k + 1 < classes; k += 2) {
      const o = <usize>k << 3;
      const p0 = v128.load64_splat(e0 + o), p1 = v128.load64_splat(e1 + o), p2 = v128.load64_splat(e2 + o), p3 = v128.load64_splat(e3 + o);
      const q0 = v128.load64_splat(e0 + o + 8), q1 = v128.load64_splat(e1 + o + 8), q2 = v128.load64_splat(e2 + o + 8), q3 = v128.load64_splat(e3 + o + 8);
      const g0 = grad + <usize>k * rowW, g1 = g0 + rowW;
      for (let j = 0; j < full; j += 2) {
        const oj = <usize>j << 3;
        const x0 = v128.load(r0 + oj), x1 = v128.load(r1 + oj), x2 = v128.load(r2 + oj), x3 = v128.load(r3 + oj);
        let s = madd64(p0, x0, v128.load(g0 + oj));
        let t = madd64(q0, x0, v128.load(g1 + oj));
        s = madd64(p1, x1, s); t = madd64(q1, x1, t);
        s = madd64(p2, x2, s); t = madd64(q2, x2, t);
        v128.store(g0 + oj, madd64(p3, x3, s));
        v128.store(g1 + oj, madd64(q3, x3, t));
      }
      if (full < dims) {
        const oj = <usize>full << 3;
        const x0 = load<f64>(r0 + oj), x1 = load<f64>(r1 + oj), x2 = load<f64>(r2 + oj), x3 = load<f64>(r3 + oj);
        store<f64>(g0 + oj, load<f64>(g0 + oj) + f64x2.extract_lane(p0, 0) * x0 + f64x2.extract_lane(p1, 0) * x1 + f64x2.extract_lane(p2, 0) * x2 + f64x2.extract_lane(p3, 0) * x3);
        store<f64>(g1 + oj, load<f64>(g1 + oj) + f64x2.extract_lane(q0, 0) * x0 + f64x2.extract_lane(q1, 0) * x1 + f64x2.extract_lane(q2, 0) * x2 + f64x2.extract_lane(q3, 0) * x3);
      }
    }
    for (; k < classes; k++) {
      const o = <usize>k << 3;
      addWide(r0, grad + <usize>k * rowW, dims, load<f64>(e0 + o));
      addWide(r1, grad + <usize>k * rowW, dims, load<f64>(e1 + o));
      addWide(r2, grad + <usize>k * rowW, dims, load<f64>(e2 + o));
      addWide(r3, grad + <usize>k * rowW, dims, load<f64>(e3 + o));
    }
  }
  for (; b < m; b++) {
    const r0 = rows + <usize>b * stride;
    const e0 = e + <usize>(b * classes) * 8;
    for (let k = 0; k < classes; k++) addWide(r0, grad + <usize>k * rowW, dims, load<f64>(e0 + (<usize>k << 3)));
  }
  const biasGrad = grad + <usize>classes * rowW;
  for (let k = 0; k < classes; k++) {
    let sum = load<f64>(biasGrad + (<usize>k << 3));
    for (let c = 0; c < m; c++) sum += load<f64>(e + <usize>(c * classes + k) * 8);
    store<f64>(biasGrad + (<usize>k << 3), sum);
  }
}

/** out[j] += scale · x[j] for a widened (float64) row. */
function addWide(row: usize, out: usize, dims: i32, scale: f64): void {
  const sv = f64x2.splat(scale);
  let j = 0;
  for (; j + 2 <= dims; j += 2) {
    const p = out + (<usize>j << 3);
    v128.store(p, madd64(sv, v128.load(row + (<usize>j << 3)), v128.load(p)));
  }
  if (j < dims) {
    const p = out + (<usize>j << 3);
    store<f64>(p, load<f64>(p) + scale * load<f64>(row + (<usize>j << 3)));
  }
}

/** log Σ exp(z[0..classes)) (float64), shifted by the largest so that no exp overflows. */
function logSumExp(z: usize, classes: i32): f64 {
  let top = -Infinity;
  for (let k = 0; k < classes; k++) top = max(top, load<f64>(z + (<usize>k << 3)));
  if (!isFinite(top)) return top;
  let sum = 0.0;
  for (let k = 0; k < classes; k++) sum += Math.exp(load<f64>(z + (<usize>k << 3)) - top);
  return top + Math.log(sum);
}

/**
 * Multinomial logistic regression over rows [start, end) (the plain loop: softmaxAccumulateJs in
 * src/kernels/softmax.ts): logits z of `classes` outputs, the log-loss logsumexp(z) − z_y summed into
 * out[0], rows whose largest logit (the first, on ties) is the label's into out[1], and
 * (softmax(z) − onehot(y))·x added to grad (classes × dims, then classes bias sums); with `trials` > 0,
 * the log-loss at logits z − backs[t]·z′ (z′: the row's logits under `dir`) added to trialLoss[t].
 *
 * Blocked: SOFTMAX_BLOCK rows are widened to float64 once (`tmp`), their logits computed two rows ×
 * four classes at a time against the weights (blockLogits), the softmax taken row by row (scalar exp
 * and log), and the errors added to the gradient four rows × two classes at a time (blockAccumulate).
 * `tmp`: softmaxScratchBytes(dims, classes) bytes.
 */
export function softmaxAccumulate(
  x: usize, y: usize, dims: i32, classes: i32, start: i32, end: i32,
  w: usize, dir: usize, grad: usize, tmp: usize, backs: usize, trials: i32, trialLoss: usize, out: usize,
): void {
  const rowBytes = <usize>dims << 2;
  const stride = <usize>(dims + 2) << 3;
  const block = <usize>SOFTMAX_BLOCK * <usize>classes * 8;
  const z = tmp + <usize>SOFTMAX_BLOCK * stride;
  const along = z + block;
  const e = along + block;
  const trial = e + block + block;
  let loss = 0.0, correct = 0.0;
  for (let i = start; i < end; i += SOFTMAX_BLOCK) {
    const m = min(SOFTMAX_BLOCK, end - i);
    widenRows(x, rowBytes, i, m, dims, tmp, stride);
    blockLogits(tmp, stride, m, dims, classes, w, z);
    if (trials > 0) blockLogits(tmp, stride, m, dims, classes, dir, along);
    for (let b = 0; b < m; b++) {
      const zb = z + <usize>(b * classes) * 8;
      const eb = e + <usize>(b * classes) * 8;
      const label = <i32>load<f32>(y + (<usize>(i + b) << 2));
      const lse = logSumExp(zb, classes);
      loss += lse - load<f64>(zb + (<usize>label << 3));
      let best = 0;
      for (let k = 1; k < classes; k++) if (load<f64>(zb + (<usize>k << 3)) > load<f64>(zb + (<usize>best << 3))) best = k;
      if (best == label) correct += 1;
      for (let k = 0; k < classes; k++) {
        store<f64>(eb + (<usize>k << 3), Math.exp(load<f64>(zb + (<usize>k << 3)) - lse) - (k == label ? 1.0 : 0.0));
      }
      if (trials == 0) continue;
      const ab = along + <usize>(b * classes) * 8;
      for (let t = 0; t < trials; t++) {
        const back = load<f64>(backs + (<usize>t << 3));
        for (let k = 0; k < classes; k++) {
          store<f64>(trial + (<usize>k << 3), load<f64>(zb + (<usize>k << 3)) - back * load<f64>(ab + (<usize>k << 3)));
        }
        const tp = trialLoss + (<usize>t << 3);
        store<f64>(tp, load<f64>(tp) + logSumExp(trial, classes) - load<f64>(trial + (<usize>label << 3)));
      }
    }
    blockAccumulate(tmp, stride, m, dims, classes, e, grad);
  }
  store<f64>(out, loss);
  store<f64>(out + 8, correct);
}

/**
 * The softmax probabilities of rows [start, end) under `w` into probs[(i − start)·classes + k]
 * (float64): what the Hessian-vector products below weigh each row by. `tmp` as softmaxAccumulate's.
 */
export function softmaxProbabilities(x: usize, dims: i32, classes: i32, start: i32, end: i32, w: usize, probs: usize, tmp: usize): void {
  const rowBytes = <usize>dims << 2;
  const stride = <usize>(dims + 2) << 3;
  for (let i = start; i < end; i += SOFTMAX_BLOCK) {
    const m = min(SOFTMAX_BLOCK, end - i);
    const z = probs + <usize>((i - start) * classes) * 8;
    widenRows(x, rowBytes, i, m, dims, tmp, stride);
    blockLogits(tmp, stride, m, dims, classes, w, z);
    for (let b = 0; b < m; b++) {
      const zb = z + <usize>(b * classes) * 8;
      const lse = logSumExp(zb, classes);
      for (let k = 0; k < classes; k++) store<f64>(zb + (<usize>k << 3), Math.exp(load<f64>(zb + (<usize>k << 3)) - lse));
    }
  }
}

/**
 * The Hessian of the summed log-loss times a direction, over rows [start, end): with u = V·x + c (the
 * direction's logits, `v` laid out as the weights) and p the row's probabilities (from
 * softmaxProbabilities), r_k = p_k·(u_k − pᵀu), and out += r ⊗ (x, 1) (classes × dims, then the
 * classes bias sums). `tmp` as softmaxAccumulate's.
 */
export function softmaxHessianProduct(x: usize, dims: i32, classes: i32, start: i32, end: i32, v: usize, probs: usize, out: usize, tmp: usize): void {
  const rowBytes = <usize>dims << 2;
  const stride = <usize>(dims + 2) << 3;
  const block = <usize>SOFTMAX_BLOCK * <usize>classes * 8;
  const u = tmp + <usize>SOFTMAX_BLOCK * stride;
  const r = u + block;
  for (let i = start; i < end; i += SOFTMAX_BLOCK) {
    const m = min(SOFTMAX_BLOCK, end - i);
    widenRows(x, rowBytes, i, m, dims, tmp, stride);
    blockLogits(tmp, stride, m, dims, classes, v, u);
    for (let b = 0; b < m; b++) {
      const ub = u + <usize>(b * classes) * 8;
      const rb = r + <usize>(b * classes) * 8;
      const pb = probs + <usize>((i - start + b) * classes) * 8;
      let pu = 0.0;
      for (let k = 0; k < classes; k++) pu += load<f64>(pb + (<usize>k << 3)) * load<f64>(ub + (<usize>k << 3));
      for (let k = 0; k < classes; k++) {
        store<f64>(rb + (<usize>k << 3), load<f64>(pb + (<usize>k << 3)) * (load<f64>(ub + (<usize>k << 3)) - pu));
      }
    }
    blockAccumulate(tmp, stride, m, dims, classes, r, out);
  }
}

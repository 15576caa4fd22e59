// @ts-nocheck -- AssemblyScript, compiled by `asc` into the modules built from kernels.ts (npm run build:wasm), not by tsc.
/*
 * The Newton pass's curvature kernel for binary logistic regression (hessianAccumulate).
 */

import { madd64 } from './simd';

/** Rows per block of hessianAccumulate: `tmp` holds HESSIAN_BLOCK standardised rows and their weights. */
export const HESSIAN_BLOCK: i32 = 8;

/**
 * The Newton pass's curvature: H += Σᵢ s[i − start] · x̃ᵢ x̃ᵢᵀ over rows [start, end), where
 * x̃ᵢ = ((xᵢ − mean) · invStd, 1) is the standardised row with the bias's constant 1, and H is the upper
 * triangle of the (dims + 1)² matrix packed row by row (row j holds columns j..dims).
 *
 * That is (dims + 1)(dims + 2)/2 multiply-adds a row, so it is blocked: HESSIAN_BLOCK rows are
 * standardised into `tmp` (float64), then each row of H is loaded and stored once per block while the
 * block's rows are added to it two columns to a vector, their weights s·x̃ⱼ splatted outside the
 * column loop. A short last block is padded with zero rows of zero weight (adding +0 changes nothing).
 * Per entry the additions run in row order, as the plain loop's do. `tmp`: HESSIAN_BLOCK·(dims + 2)·8 bytes.
 */
export function hessianAccumulate(x: usize, dims: i32, start: i32, end: i32, s: usize, mean: usize, invStd: usize, h: usize, tmp: usize): void {
  const n = dims + 1;
  const rowBytes = <usize>dims << 2;
  const stride = <usize>n << 3;
  const weights = tmp + <usize>HESSIAN_BLOCK * stride;
  let i = start;
  while (i < end) {
    const m = min(HESSIAN_BLOCK, end - i);
    for (let b = 0; b < HESSIAN_BLOCK; b++) {
      const dst = tmp + <usize>b * stride;
      if (b < m) {
        const row = x + <usize>(i + b) * rowBytes;
        for (let j = 0; j < dims; j++) {
          store<f64>(dst + (<usize>j << 3), (<f64>load<f32>(row + (<usize>j << 2)) - load<f64>(mean + (<usize>j << 3))) * load<f64>(invStd + (<usize>j << 3)));
        }
        store<f64>(dst + (<usize>dims << 3), 1.0);
        store<f64>(weights + (<usize>b << 3), load<f64>(s + (<usize>(i + b - start) << 3)));
      } else {
        memory.fill(dst, 0, stride);
        store<f64>(weights + (<usize>b << 3), 0.0);
      }
    }
    let hp = h;
    for (let j = 0; j < n; j++) {
      const col = <usize>j << 3;
      // u_b = s_b · x̃_bj, the plain loop's first product.
      const u0 = load<f64>(weights) * load<f64>(tmp + col);
      const u1 = load<f64>(weights, 8) * load<f64>(tmp + stride + col);
      const u2 = load<f64>(weights, 16) * load<f64>(tmp + 2 * stride + col);
      const u3 = load<f64>(weights, 24) * load<f64>(tmp + 3 * stride + col);
      const u4 = load<f64>(weights, 32) * load<f64>(tmp + 4 * stride + col);
      const u5 = load<f64>(weights, 40) * load<f64>(tmp + 5 * stride + col);
      const u6 = load<f64>(weights, 48) * load<f64>(tmp + 6 * stride + col);
      const u7 = load<f64>(weights, 56) * load<f64>(tmp + 7 * stride + col);
      const v0 = f64x2.splat(u0), v1 = f64x2.splat(u1), v2 = f64x2.splat(u2), v3 = f64x2.splat(u3);
      const v4 = f64x2.splat(u4), v5 = f64x2.splat(u5), v6 = f64x2.splat(u6), v7 = f64x2.splat(u7);
      const len = n - j;
      const r0 = tmp + col;
      let k = 0;
      for (; k + 2 <= len; k += 2) {
        const o = <usize>k << 3;
        const p = hp + o;
        const r = r0 + o;
        let acc = madd64(v0, v128.load(r), v128.load(p));
        acc = madd64(v1, v128.load(r + stride), acc);
        acc = madd64(v2, v128.load(r + 2 * stride), acc);
        acc = madd64(v3, v128.load(r + 3 * stride), acc);
        acc = madd64(v4, v128.load(r + 4 * stride), acc);
        acc = madd64(v5, v128.load(r + 5 * stride), acc);
        acc = madd64(v6, v128.load(r + 6 * stride), acc);
        v128.store(p, madd64(v7, v128.load(r + 7 * stride), acc));
      }
      if (k < len) {
        const o = <usize>k << 3;
        const p = hp + o;
        const r = r0 + o;
        let acc = load<f64>(p);
        acc += u0 * load<f64>(r);
        acc += u1 * load<f64>(r + stride);
        acc += u2 * load<f64>(r + 2 * stride);
        acc += u3 * load<f64>(r + 3 * stride);
        acc += u4 * load<f64>(r + 4 * stride);
        acc += u5 * load<f64>(r + 5 * stride);
        acc += u6 * load<f64>(r + 6 * stride);
        acc += u7 * load<f64>(r + 7 * stride);
        store<f64>(p, acc);
      }
      hp += <usize>len << 3;
    }
    i += m;
  }
}

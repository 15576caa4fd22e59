/*
 * Numbers written as ASCII bytes straight into a Uint8Array, with exactly the text String(x) gives
 * (ECMAScript's Number::toString: the fewest significant digits that read back as the same double,
 * the closest such digits to x where several have that many). Writing a part of predictions is
 * mostly this; String(x) per number and the joins cost more than loading the rows did. Only the
 * format pool's threads, the parts and local `bspml predict` use it: the endpoint answers JSON,
 * whose numbers JSON.stringify writes.
 *
 * How the digits are found (the idea of Ryu and Schubfach, done in float64 arithmetic):
 * x = m·2^e (m a 53-bit integer) is scaled to V = x·10^k ∈ [10^16, 10^17), with 10^k held as a
 * 53-bit integer plus a correction (a table built once with BigInt) and m times it computed exactly
 * (Dekker's two-product); V is then an integer part A·10^8 + B (exact) plus a fraction f (to about
 * 2^-45). The doubles that read back as x lie within V − Δ− and V + Δ+ (half the gaps to x's
 * neighbours, scaled the same way; Δ ≈ 0.28–11). The shortest digits are the multiple of the
 * largest power of ten inside that interval; as it is narrower than 100, above the 16-digit level at
 * most one multiple is there, and it is one of the 16-digit candidates (the multiples of 10 from
 * V − 20 to V + 20), so only those are tried, then the chosen one's trailing zeros are counted; with
 * none inside, V rounded to 17 digits. Where a decision (in the interval or not, which of two
 * candidates is closer) falls within 2^-30 of its boundary, where the arithmetic's error could
 * decide it, and for subnormals, NaN and infinities, the text is String(x)'s own: the fallback.
 * test/serve/number-text.test.ts holds the output to String(x) over random doubles, probabilities,
 * integers, extremes and such ties. (U. Adams, "Ryū: fast float-to-string conversion", PLDI 2018;
 * R. Giulietti, "The Schubfach way to render doubles", 2020; T. J. Dekker, "A floating-point
 * technique for extending the available precision", Numer. Math. 18, 1971.)
 *
 * createNumberText is self-contained (no imports, nothing from its closure): the format pool's
 * threads evaluate its source text (src/serve/formatPool.ts) and the threads that parse a data set for batch predictions (src/inner/thread.ts).
 */

export interface NumberText {
  /** Writes String(x) at `at` (room for 25 bytes needed); answers the position after it. */
  writeDouble(out: Uint8Array, at: number, x: number): number;
  /** Writes an integer of at most 15 digits (String(n)); answers the position after it. */
  writeInteger(out: Uint8Array, at: number, n: number): number;
  /** The most bytes writeDouble writes: "-1.2345678901234567e-308". */
  readonly maxBytes: number;
  /** How many numbers took the fallback (String(x)), for the tests. */
  fallbacks(): number;
}

export function createNumberText(): NumberText {
  const K_MIN = -300;
  const K_MAX = 330;
  const size = K_MAX - K_MIN + 1;
  // 10^k = (hi + lo)·2^shift, hi ∈ [2^52, 2^53) an integer (split in two halves for the exact product), lo ∈ [0, 1).
  const hiHalf = new Float64Array(size);
  const loHalf = new Float64Array(size);
  const hi = new Float64Array(size);
  const lo = new Float64Array(size);
  const shift = new Int32Array(size);
  const SPLIT = 134217729; // 2^27 + 1: Dekker's split into two 26-bit halves
  const TWO64 = 18446744073709551616;
  for (let k = K_MIN; k <= K_MAX; k++) {
    const i = k - K_MIN;
    let h: bigint;
    let l: number;
    if (k >= 0) {
      const n = 10n ** BigInt(k);
      const bits = n.toString(2).length;
      const s = bits - 53;
      if (s <= 0) {
        h = n << BigInt(-s);
        l = 0;
      } else {
        h = n >> BigInt(s);
        l = Number(((n - (h << BigInt(s))) << 64n) >> BigInt(s)) / TWO64;
      }
      shift[i] = s;
    } else {
      const d = 10n ** BigInt(-k);
      const t = d.toString(2).length + 52;
      h = (1n << BigInt(t)) / d;
      l = Number((((1n << BigInt(t)) - h * d) << 64n) / d) / TWO64;
      shift[i] = -t;
    }
    const v = Number(h);
    const c = SPLIT * v;
    hiHalf[i] = c - (c - v);
    loHalf[i] = v - hiHalf[i]!;
    hi[i] = v;
    lo[i] = l;
  }
  // 2^s for the scale after the product (s within about −60…−40); 10^j as doubles, to pick k.
  const pow2 = new Float64Array(128);
  for (let s = 0; s < 128; s++) pow2[s] = 2 ** (s - 100);
  const pow10 = new Float64Array(700);
  for (let j = 0; j < pow10.length; j++) pow10[j] = Number(`1e${j - 330}`);
  const LOG10_2 = 0.30102999566398114;
  const TOL = 2 ** -30;
  const E8 = 100000000;
  // "00", "01", … "99" as ASCII pairs.
  const PAIRS = new Uint8Array(200);
  for (let d = 0; d < 100; d++) {
    PAIRS[2 * d] = 48 + ((d / 10) | 0);
    PAIRS[2 * d + 1] = 48 + (d % 10);
  }
  const bits = new Float64Array(1);
  const words = new Uint32Array(bits.buffer);
  let fallbackCount = 0;

  function fallback(out: Uint8Array, at: number, x: number): number {
    fallbackCount++;
    const text = String(x);
    for (let i = 0; i < text.length; i++) out[at++] = text.charCodeAt(i);
    return at;
  }

  function writeDouble(out: Uint8Array, at: number, x: number): number {
    if (x === 0) {
      out[at] = 48;
      return at + 1;
    }
    bits[0] = x;
    const high = words[1]!;
    const biased = (high >>> 20) & 0x7ff;
    // NaN, ±Infinity and subnormals (whose interval is not as narrow as the method needs).
    if (biased === 0x7ff || biased === 0) return fallback(out, at, x);
    const start = at;
    if (x < 0) {
      out[at++] = 45;
      x = -x;
    }
    const m = (high & 0xfffff) * 4294967296 + words[0]! + 4503599627370496;
    const e = biased - 1075;
    // n: the decimal exponent of x's first digit (x ∈ [10^n, 10^(n+1))); V = x·10^k ∈ [10^16, 10^17).
    let n = Math.floor((e + 52) * LOG10_2);
    if (x >= pow10[n + 1 + 330]!) n++;
    let k = 16 - n;
    let A = 0;
    let B = 0;
    let f = 0;
    let scale = 0;
    for (let attempt = 0; ; attempt++) {
      if (attempt === 2 || k < K_MIN || k > K_MAX) return fallback(out, start, start === at ? x : -x);
      const i = k - K_MIN;
      const s = e + shift[i]! + 100;
      if (s < 0 || s >= 128) return fallback(out, start, start === at ? x : -x);
      scale = pow2[s]!;
      // m·hi exactly as p + err (Dekker), plus m·lo.
      const Ph = hiHalf[i]!;
      const Pl = loHalf[i]!;
      const P = hi[i]!;
      const p = m * P;
      const c = SPLIT * m;
      const mh = c - (c - m);
      const ml = m - mh;
      const err = mh * Ph - p + mh * Pl + ml * Ph + ml * Pl;
      const ps = p * scale; // an integer below 2^57: p has 53 bits, scaled by a power of two
      const g = (err + m * lo[i]!) * scale;
      A = Math.floor(ps / E8);
      B = ps - A * E8; // exact: A·10^8 = A·5^8·2^8 has fewer than 53 bits
      if (B < 0) {
        B += E8;
        A--;
      } else if (B >= E8) {
        B -= E8;
        A++;
      }
      const gi = Math.floor(g);
      f = g - gi;
      B += gi;
      if (B < 0) {
        B += E8;
        A--;
      } else if (B >= E8) {
        B -= E8;
        A++;
      }
      if (A < E8) k++;
      else if (A >= 1000000000) k--;
      else break;
    }
    // Half the gaps to the neighbours, scaled: Δ+ = 2^(e−1)·10^k; below a power of two the gap is half.
    const up = hi[k - K_MIN]! * scale * 0.5;
    const down = m === 4503599627370496 && biased > 1 ? up * 0.5 : up;
    // The 16-digit candidates: the multiples of 10 around V, at T − 10, T, T + 10 and T + 20 (T: V rounded
    // down to one). Any of them inside that is a multiple of 100 is the shorter answer (then the only one).
    const r1 = (B | 0) % 10;
    const R = r1 + f;
    let T = B - r1; // the chosen candidate's low 8 digits (A holds the high 9)
    // Inside: below V within Δ− (T − 10 and T), above V within Δ+ (T + 10 and T + 20); T − 10 and T + 20 only where Δ is about 10 or more.
    if (Math.abs(R - down) < TOL || Math.abs(10 - R - up) < TOL) return fallback(out, start, start === at ? x : -x);
    const downIn = R < down;
    const upIn = 10 - R < up;
    const t = T | 0;
    let shorter = 1; // the offset of an inside multiple of 100, if any
    if (downIn && t % 100 === 0) shorter = 0;
    else if (upIn && (t + 10) % 100 === 0) shorter = 10;
    else if (down + TOL > 10 && t % 100 === 10) {
      if (Math.abs(R + 10 - down) < TOL) return fallback(out, start, start === at ? x : -x);
      if (R + 10 < down) shorter = -10;
    } else if (up + TOL > 10 && (t + 20) % 100 === 0) {
      if (Math.abs(20 - R - up) < TOL) return fallback(out, start, start === at ? x : -x);
      if (20 - R < up) shorter = 20;
    }
    if (shorter !== 1) T += shorter;
    else if (downIn && upIn) {
      if (Math.abs(R - 5) < TOL) return fallback(out, start, start === at ? x : -x);
      if (R > 5) T += 10;
    } else if (upIn) T += 10;
    else if (!downIn) {
      // 17 digits: V rounded to an integer, down (distance f) or up (1 − f), whichever is inside and closer.
      if (Math.abs(f - down) < TOL || Math.abs(1 - f - up) < TOL || Math.abs(f - 0.5) < TOL) return fallback(out, start, start === at ? x : -x);
      const d0 = f < down;
      const d1 = 1 - f < up;
      if (d0 && (!d1 || f < 0.5)) T = B;
      else if (d1) T = B + 1;
      else return fallback(out, start, start === at ? x : -x);
    }
    // (T − 10 is taken only as a multiple of 100, which B − r1 − 10 is not when negative: no borrow.)
    if (T >= E8) {
      T -= E8;
      A++;
    }
    // The digits, trailing zeros dropped: `lead` (hc of them) then `low` (lc, zero-padded), from A (9) and T (8).
    let point = 17 - k;
    let lead = A | 0;
    let low = T | 0;
    let hc = 9;
    let lc = 8;
    if (lead === 1000000000) {
      lead = 1;
      hc = 1;
      lc = 0;
      point++;
    } else if (low === 0) {
      lc = 0;
      while (lead % 10 === 0) {
        lead = (lead / 10) | 0;
        hc--;
      }
    } else {
      while (low % 10 === 0) {
        low = (low / 10) | 0;
        lc--;
      }
    }
    const len = hc + lc;
    // Laid out as Number::toString lays them out; the digits are written where they go (`first`), those
    // before a decimal point then moved one byte to the left.
    let first: number;
    let cut = 0;
    let end: number;
    if (len <= point && point <= 21) {
      first = at;
      end = at + point;
      for (let z = at + len; z < end; z++) out[z] = 48;
    } else if (0 < point && point <= 21) {
      first = at + 1;
      cut = point;
      end = at + len + 1;
    } else if (-6 < point && point <= 0) {
      out[at] = 48;
      out[at + 1] = 46;
      for (let z = at + 2; z < at + 2 - point; z++) out[z] = 48;
      first = at + 2 - point;
      end = first + len;
    } else {
      first = len > 1 ? at + 1 : at;
      cut = len > 1 ? 1 : 0;
      end = first + len;
    }
    // Two digits a division, from the right.
    let w = first + len - 1;
    let c = lc;
    for (; c > 1; c -= 2) {
      const q = (low / 100) | 0;
      const r = (low - q * 100) << 1;
      out[w] = PAIRS[r + 1]!;
      out[w - 1] = PAIRS[r]!;
      w -= 2;
      low = q;
    }
    if (c === 1) out[w--] = 48 + low;
    for (c = hc; c > 1; c -= 2) {
      const q = (lead / 100) | 0;
      const r = (lead - q * 100) << 1;
      out[w] = PAIRS[r + 1]!;
      out[w - 1] = PAIRS[r]!;
      w -= 2;
      lead = q;
    }
    if (c === 1) out[w] = 48 + lead;
    if (cut > 0) {
      for (let z = at; z < at + cut; z++) out[z] = out[z + 1]!;
      out[at + cut] = 46;
    }
    at = end;
    if (!(point <= 21 && point > -6)) {
      out[at++] = 101;
      let exp = point - 1;
      out[at++] = exp < 0 ? 45 : 43;
      if (exp < 0) exp = -exp;
      if (exp >= 100) {
        out[at++] = 48 + ((exp / 100) | 0);
        exp %= 100;
        out[at++] = 48 + ((exp / 10) | 0);
      } else if (exp >= 10) out[at++] = 48 + ((exp / 10) | 0);
      out[at++] = 48 + (exp % 10);
    }
    return at;
  }

  function writeInteger(out: Uint8Array, at: number, n: number): number {
    if (n < 0) {
      out[at++] = 45;
      n = -n;
    }
    let len = 1;
    for (let v = n; v >= 10; v = Math.floor(v / 10)) len++;
    for (let j = at + len - 1; j >= at; j--) {
      const q = Math.floor(n / 10);
      out[j] = 48 + n - q * 10;
      n = q;
    }
    return at + len;
  }

  return { writeDouble, writeInteger, maxBytes: 25, fallbacks: () => fallbackCount };
}

let shared: NumberText | undefined;
let scratch = Buffer.alloc(0);

/** values[from..to) as `Array.from(values.subarray(from, to)).join(',')` writes them: one string, none per number. */
export function numbersCsv(values: Float64Array, from: number, to: number): string {
  shared ??= createNumberText();
  const room = (to - from) * (shared.maxBytes + 1);
  if (scratch.length < room) scratch = Buffer.alloc(Math.max(room, 1024));
  let at = 0;
  for (let i = from; i < to; i++) {
    if (i > from) scratch[at++] = 44;
    at = shared.writeDouble(scratch, at, values[i]!);
  }
  return scratch.toString('latin1', 0, at);
}

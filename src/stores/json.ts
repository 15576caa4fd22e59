/**
 * JSON that keeps NaN and ±Infinity (plain JSON turns them into null): a diverging objective must
 * read back as what it was, as it does from the memory store.
 */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? { $nonFinite: String(v) } : v));
}

export function fromJson(text: string): unknown {
  return JSON.parse(text, (_key, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const keys = Object.keys(v);
      const tag = (v as { $nonFinite?: unknown }).$nonFinite;
      if (keys.length === 1 && typeof tag === 'string') return Number(tag);
    }
    return v;
  });
}

/** A fresh, 0-offset copy: adapters hand out bytes that callers may view as Float64Array. */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.byteLength);
  out.set(bytes);
  return out;
}

/**
 * A minimal Protocol Buffers writer: the wire format of https://protobuf.dev/programming-guides/encoding/
 * for the field kinds ONNX's messages use (varints, length-delimited bytes and messages, packed
 * repeated scalars). Only writing: bspml never reads protobuf back.
 */

const VARINT = 0;
const LENGTH_DELIMITED = 2;

/** A message under construction: fields appended in the order written. */
export class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  private key(field: number, wireType: number): void {
    this.push(varint(BigInt((field << 3) | wireType)));
  }

  /** An int32/int64/enum/bool field; negative values take ten bytes (two's complement), as protobuf says. */
  int(field: number, value: number | bigint): this {
    this.key(field, VARINT);
    this.push(varint(BigInt(value)));
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.key(field, LENGTH_DELIMITED);
    this.push(varint(BigInt(value.length)));
    this.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, value: ProtoWriter): this {
    return this.bytes(field, value.finish());
  }

  /** A packed repeated int64 field (proto3 packs repeated scalars by default). */
  packedInts(field: number, values: readonly (number | bigint)[]): this {
    if (values.length === 0) return this;
    const body = new ProtoWriter();
    for (const v of values) body.push(varint(BigInt(v)));
    return this.bytes(field, body.finish());
  }

  /** A packed repeated float (32-bit little-endian) field. */
  packedFloats(field: number, values: readonly number[]): this {
    if (values.length === 0) return this;
    const body = new Uint8Array(values.length * 4);
    const view = new DataView(body.buffer);
    values.forEach((v, i) => view.setFloat32(i * 4, v, true));
    return this.bytes(field, body);
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }
}

/** Base-128 varint, least significant group first; a negative value as its 64-bit two's complement. */
export function varint(value: bigint): Uint8Array {
  let v = BigInt.asUintN(64, value);
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Uint8Array.from(out);
}

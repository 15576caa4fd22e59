import { ProtoWriter } from './protobuf.js';

/*
 * The few ONNX messages an exported bspml model needs, encoded by their field numbers in
 * onnx/onnx.proto (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto): ModelProto, GraphProto,
 * NodeProto, AttributeProto, TensorProto, ValueInfoProto (with TypeProto and TensorShapeProto).
 */

/** TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, INT64: 7, STRING: 8, BOOL: 9, DOUBLE: 11 } as const;
export type ElementType = (typeof DataType)[keyof typeof DataType];

/** AttributeProto.AttributeType values used here. */
const AttributeType = { INT: 2, INTS: 7 } as const;

/** A constant tensor, stored in the graph as an initializer. */
export type Tensor =
  | { name: string; type: typeof DataType.DOUBLE; dims: number[]; values: readonly number[] }
  | { name: string; type: typeof DataType.INT64; dims: number[]; values: readonly (number | bigint)[] }
  | { name: string; type: typeof DataType.STRING; dims: number[]; values: readonly string[] };

/** A graph input or output: its element type and shape, a dimension a number or a symbolic name. */
export interface ValueInfo {
  name: string;
  type: ElementType;
  shape: (number | string)[];
  doc?: string;
}

export interface Node {
  op: string;
  inputs: string[];
  outputs: string[];
  /** Integer and integer-list attributes (all this exporter needs). */
  attributes?: Record<string, number | number[]>;
  domain?: string;
}

export interface Model {
  graphName: string;
  nodes: Node[];
  initializers: Tensor[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  /** ONNX IR version and the default domain's opset. */
  irVersion: number;
  opset: number;
  producerName: string;
  producerVersion: string;
  doc: string;
  metadata: Record<string, string>;
}

function tensor(t: Tensor): ProtoWriter {
  const w = new ProtoWriter().packedInts(1, t.dims).int(2, t.type);
  if (t.type === DataType.STRING) {
    for (const s of t.values) w.string(6, s);
  } else if (t.type === DataType.DOUBLE) {
    // raw_data: fixed-width little-endian, as onnx.proto specifies for raw_data.
    const raw = new Uint8Array(t.values.length * 8);
    const view = new DataView(raw.buffer);
    t.values.forEach((v, i) => view.setFloat64(i * 8, v, true));
    w.bytes(9, raw);
  } else {
    const raw = new Uint8Array(t.values.length * 8);
    const view = new DataView(raw.buffer);
    t.values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
    w.bytes(9, raw);
  }
  return w.string(8, t.name);
}

function valueInfo(v: ValueInfo): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.shape) shape.message(1, typeof d === 'number' ? new ProtoWriter().int(1, d) : new ProtoWriter().string(2, d));
  const tensorType = new ProtoWriter().int(1, v.type).message(2, shape);
  const w = new ProtoWriter().string(1, v.name).message(2, new ProtoWriter().message(1, tensorType));
  return v.doc !== undefined ? w.string(3, v.doc) : w;
}

function attribute(name: string, value: number | number[]): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  return Array.isArray(value) ? w.packedInts(8, value).int(20, AttributeType.INTS) : w.int(3, value).int(20, AttributeType.INT);
}

function node(n: Node, index: number): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, `${n.op}_${index}`).string(4, n.op);
  for (const [name, value] of Object.entries(n.attributes ?? {})) w.message(5, attribute(name, value));
  if (n.domain !== undefined) w.string(7, n.domain);
  return w;
}

/** The serialised ModelProto. */
export function encodeModel(m: Model): Uint8Array {
  const graph = new ProtoWriter();
  m.nodes.forEach((n, i) => graph.message(1, node(n, i)));
  graph.string(2, m.graphName);
  for (const t of m.initializers) graph.message(5, tensor(t));
  for (const v of m.inputs) graph.message(11, valueInfo(v));
  for (const v of m.outputs) graph.message(12, valueInfo(v));

  const model = new ProtoWriter().int(1, m.irVersion).string(2, m.producerName).string(3, m.producerVersion).string(6, m.doc).message(7, graph);
  model.message(8, new ProtoWriter().string(1, '').int(2, m.opset));
  for (const [key, value] of Object.entries(m.metadata)) model.message(14, new ProtoWriter().string(1, key).string(2, value));
  return model.finish();
}

import { classLabelsOf, isMultinomial, type KmeansResult, type ModelResult } from '../domain/results.js';
import { VERSION } from '../version.js';
import { DataType, encodeModel, type Model, type Node, type Tensor, type ValueInfo } from './onnxProto.js';

/*
 * A bspml model as an ONNX graph that computes what `bspml predict` writes (docs/export.md).
 *
 * - One input `X`, float32 [N, d], its columns the model's features in order (their names in the
 *   metadata as `feature_names`): the layout of scikit-learn's ONNX converters, and it keeps a
 *   caller to one tensor whatever d is.
 * - The arithmetic is in double: `X` is cast once, and the weights are stored as doubles, as
 *   `bspml predict` computes (float32 features, float64 model). A float graph would disagree with
 *   predict on the label of rows within ~1e-7 of a boundary.
 * - Labels are the model's own classes, strings or numbers, taken by index from a constant tensor
 *   with the core `Gather` operator: no ai.onnx.ml operator (LabelEncoder, ZipMap), so any ONNX
 *   runtime runs it, onnxruntime-node's CPU build and onnxruntime-web included.
 */

/** ONNX opset 17 and the IR version that goes with it (onnx/docs/Versioning.md). */
const OPSET = 17;
const IR_VERSION = 8;

export function toOnnx(model: ModelResult): Uint8Array {
  const graph = new GraphBuilder();
  const input: ValueInfo = { name: 'X', type: DataType.FLOAT, shape: ['N', model.dims], doc: `features in this order: ${model.featureNames.join(', ')}` };
  graph.node('Cast', ['X'], ['X_double'], { to: DataType.DOUBLE });

  const metadata: Record<string, string> = { algorithm: model.algorithm, feature_names: JSON.stringify(model.featureNames) };
  let outputs: ValueInfo[];
  if (model.algorithm === 'kmeans') {
    outputs = kmeans(graph, model);
  } else {
    const classes = classLabelsOf(model);
    metadata.classes = JSON.stringify(classes);
    metadata.label_name = model.labelName;
    const classTensor = graph.constant('classes', classTensorOf(classes), [classes.length]);
    const labelType = classTensor.type;
    const C = classes.length;
    if (isMultinomial(model)) {
      // logits = X·Wᵀ + b; the class of the largest logit (the first on ties, as predict); softmax.
      const W = graph.constant('W', transpose(model.weights), [model.dims, C]);
      graph.node('MatMul', ['X_double', W.name], ['XW']);
      graph.node('Add', ['XW', graph.constant('B', model.bias, [C]).name], ['logits']);
      graph.node('Softmax', ['logits'], ['probabilities'], { axis: 1 });
      graph.node('ArgMax', ['logits'], ['class_index'], { axis: 1, keepdims: 0, select_last_index: 0 });
      graph.node('Gather', [classTensor.name, 'class_index'], ['label'], { axis: 0 });
      outputs = [
        { name: 'label', type: labelType, shape: ['N'], doc: 'the most probable class, as the training data wrote it' },
        { name: 'probabilities', type: DataType.DOUBLE, shape: ['N', C], doc: 'P(class) in the order of the metadata\'s classes' },
      ];
    } else {
      // z = X·w + b, one column.
      graph.node('MatMul', ['X_double', graph.constant('W', model.weights, [model.dims, 1]).name], ['XW']);
      graph.node('Add', ['XW', graph.constant('B', [model.bias], [1]).name], ['z']);
      const flat = graph.constant('flat', [-1n], [1], DataType.INT64).name;
      if (model.algorithm === 'svm') {
        // Class 1 where the decision value is ≥ 0.
        graph.node('Reshape', ['z', flat], ['decision']);
        graph.node('GreaterOrEqual', ['decision', graph.constant('zero', [0], [1]).name], ['positive']);
        outputs = [{ name: 'decision', type: DataType.DOUBLE, shape: ['N'], doc: 'w·x + b: the second class where ≥ 0' }];
      } else {
        // P(class 1) = σ(z), class 1 where it is ≥ 0.5 (predict's rule, on the same probability).
        graph.node('Sigmoid', ['z'], ['p1']);
        graph.node('Sub', [graph.constant('one', [1], [1]).name, 'p1'], ['p0']);
        graph.node('Concat', ['p0', 'p1'], ['probabilities'], { axis: 1 });
        graph.node('Reshape', ['p1', flat], ['p1_flat']);
        graph.node('GreaterOrEqual', ['p1_flat', graph.constant('half', [0.5], [1]).name], ['positive']);
        outputs = [{ name: 'probabilities', type: DataType.DOUBLE, shape: ['N', 2], doc: "[P(class 0), P(class 1)]; predict's `probability` is the second" }];
      }
      graph.node('Cast', ['positive'], ['class_index'], { to: DataType.INT64 });
      graph.node('Gather', [classTensor.name, 'class_index'], ['label'], { axis: 0 });
      outputs.unshift({ name: 'label', type: labelType, shape: ['N'], doc: 'the predicted class, as the training data wrote it' });
    }
  }
  metadata.outputs = outputs.map((o) => o.name).join(',');
  const onnx: Model = {
    graphName: `bspml_${model.algorithm}`,
    ...graph.parts(),
    inputs: [input],
    outputs,
    irVersion: IR_VERSION,
    opset: OPSET,
    producerName: 'bspml',
    producerVersion: VERSION,
    doc: `bspml ${model.algorithm} model: input X (float32, N × ${model.dims}); outputs ${outputs.map((o) => o.name).join(', ')}`,
    metadata,
  };
  return encodeModel(onnx);
}

/** Nearest centroid (ties to the lower index, as predict), its distance, and the distance to each centroid. */
function kmeans(graph: GraphBuilder, model: KmeansResult): ValueInfo[] {
  const { k, dims } = model;
  // Differences by broadcasting, [N, 1, d] − [1, k, d], not ‖x‖² − 2x·c + ‖c‖²: that form loses
  // digits to cancellation for rows near a centroid.
  const C = graph.constant('centroids', model.centroids.flat(), [1, k, dims]);
  graph.node('Unsqueeze', ['X_double', graph.constant('axis1', [1n], [1], DataType.INT64).name], ['X3']);
  graph.node('Sub', ['X3', C.name], ['diff']);
  graph.node('Mul', ['diff', 'diff'], ['squares']);
  graph.node('ReduceSum', ['squares', graph.constant('axis2', [2n], [1], DataType.INT64).name], ['d2'], { keepdims: 0 });
  graph.node('ArgMin', ['d2'], ['cluster'], { axis: 1, keepdims: 0, select_last_index: 0 });
  graph.node('ReduceMin', ['d2'], ['d2_min'], { axes: [1], keepdims: 0 });
  graph.node('Sqrt', ['d2_min'], ['distance']);
  graph.node('Sqrt', ['d2'], ['distances']);
  return [
    { name: 'cluster', type: DataType.INT64, shape: ['N'], doc: 'the nearest centroid, 0..k−1' },
    { name: 'distance', type: DataType.DOUBLE, shape: ['N'], doc: 'Euclidean distance to the nearest centroid' },
    { name: 'distances', type: DataType.DOUBLE, shape: ['N', k], doc: 'Euclidean distance to each centroid' },
  ];
}

/**
 * The classes as a constant tensor of the type they have: strings (booleans' text too) as STRING,
 * integers as INT64, other numbers as DOUBLE.
 */
function classTensorOf(classes: (string | number)[]): { type: typeof DataType.STRING; values: string[] } | { type: typeof DataType.INT64; values: bigint[] } | { type: typeof DataType.DOUBLE; values: number[] } {
  if (classes.some((c) => typeof c === 'string')) return { type: DataType.STRING, values: classes.map(String) };
  const numbers = classes as number[];
  if (numbers.every(Number.isSafeInteger)) return { type: DataType.INT64, values: numbers.map(BigInt) };
  return { type: DataType.DOUBLE, values: numbers };
}

function transpose(rows: number[][]): number[] {
  const out: number[] = [];
  for (let j = 0; j < rows[0]!.length; j++) for (const row of rows) out.push(row[j]!);
  return out;
}

/** Nodes and constants, in the order added (ONNX wants nodes topologically sorted: they are). */
class GraphBuilder {
  private readonly nodes: Node[] = [];
  private readonly initializers: Tensor[] = [];

  node(op: string, inputs: string[], outputs: string[], attributes?: Record<string, number | number[]>): void {
    this.nodes.push({ op, inputs, outputs, ...(attributes ? { attributes } : {}) });
  }

  /** A constant: numbers as DOUBLE unless told, or a typed list from classTensorOf. */
  constant(name: string, values: number[] | bigint[] | ReturnType<typeof classTensorOf>, dims: number[], type?: typeof DataType.INT64): Tensor {
    let t: Tensor;
    if (!Array.isArray(values)) t = { name, dims, ...values } as Tensor;
    else if (type === DataType.INT64) t = { name, type, dims, values: values as bigint[] };
    else t = { name, type: DataType.DOUBLE, dims, values: values as number[] };
    this.initializers.push(t);
    return t;
  }

  parts(): { nodes: Node[]; initializers: Tensor[] } {
    return { nodes: this.nodes, initializers: this.initializers };
  }
}

import type { TrainingData } from '../src/data/types.js';
import { Rng } from '../src/util/random.js';

/*
 * A generated many-class wide problem shaped like a small-image data set (the 28 × 28 digits'
 * shape: 784 columns, 10 classes), for the multinomial time-to-accuracy bench. Each class has a
 * prototype image (a few Gaussian strokes); a row is its class's prototype plus LATENT shared smooth
 * deformation images with random weights (so neighbouring pixels are strongly correlated), plus
 * pixel noise, clipped to [0, 255] and rounded to integers as pixel values are. Pixels near the
 * border stay 0 on almost every row (near-constant columns, a handful of rows nonzero), as in
 * scanned digits. Classes overlap (training accuracy below 100 %): the optimum is finite.
 */

const SIDE = 28;
const LATENT = 16;

/** A smooth blob image: Gaussian bumps at random places inside the central area. */
function strokes(rng: Rng, count: number, width: number, margin: number): Float64Array {
  const image = new Float64Array(SIDE * SIDE);
  for (let s = 0; s < count; s++) {
    const cx = margin + rng.next() * (SIDE - 2 * margin);
    const cy = margin + rng.next() * (SIDE - 2 * margin);
    const sign = rng.next() < 0.8 ? 1 : -1;
    for (let y = 0; y < SIDE; y++) {
      for (let x = 0; x < SIDE; x++) image[y * SIDE + x] += sign * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * width * width));
    }
  }
  return image;
}

export function imageLike(rows: number, classes = 10, seed = 7): TrainingData {
  const rng = new Rng(seed);
  const dims = SIDE * SIDE;
  const prototypes = Array.from({ length: classes }, () => strokes(rng, 6, 2.2, 6).map((v) => 90 * v));
  const deformations = Array.from({ length: LATENT }, () => strokes(rng, 3, 3, 5).map((v) => 70 * v));
  const features = new Float32Array(rows * dims);
  const labels = new Float32Array(rows);
  const image = new Float64Array(dims);
  for (let i = 0; i < rows; i++) {
    const label = Math.floor(rng.next() * classes);
    labels[i] = label;
    image.set(prototypes[label]!);
    for (const deformation of deformations) {
      const a = rng.normal();
      for (let j = 0; j < dims; j++) image[j] += a * deformation[j]!;
    }
    for (let j = 0; j < dims; j++) {
      const y = Math.floor(j / SIDE);
      const x = j % SIDE;
      const border = Math.min(x, y, SIDE - 1 - x, SIDE - 1 - y);
      // Border pixels: 0, but for a rare speck (near-constant columns).
      const v = border < 3 ? (rng.next() < 0.002 ? 40 * rng.next() : 0) : image[j]! + 60 * (rng.next() - 0.5);
      features[i * dims + j] = Math.round(Math.min(255, Math.max(0, v)));
    }
  }
  return { source: 'image-like', rows, dims, features, labels, labelName: 'label', featureNames: Array.from({ length: dims }, (_, j) => `p${j}`) };
}

/*
 * One cold start, run as its own process by `bspml bench predict` (src/serve/bench.ts): the time
 * from the process's start to the first answer, in its parts: Node's own start, loading the serving
 * modules, parsing and checking the model file, compiling it into typed arrays, the first 1-row
 * prediction. Prints one JSON line.
 */
const nodeMs = performance.now();
const modelFile = process.argv[2]!;
const { readFileSync } = await import('node:fs');
const text = readFileSync(modelFile, 'utf8');
const t0 = performance.now();
const [{ checkModel }, { compilePredictor, present }, { parseRows }] = await Promise.all([import('./modelCheck.js'), import('./predictor.js'), import('./request.js')]);
const t1 = performance.now();
const model = checkModel(JSON.parse(text), modelFile);
const t2 = performance.now();
const predictor = compilePredictor(model);
const t3 = performance.now();
const row = JSON.stringify({ rows: [Array.from({ length: model.dims }, (_, j) => j % 3)] });
const { rows, features } = parseRows(row, 'application/json', predictor);
const answer = JSON.stringify(present(predictor, predictor.run(features, rows), rows));
const t4 = performance.now();
process.stdout.write(`${JSON.stringify({ nodeMs, loadMs: t1 - t0, parseMs: t2 - t1, compileMs: t3 - t2, firstPredictMs: t4 - t3, totalMs: t4, answerBytes: answer.length })}\n`);

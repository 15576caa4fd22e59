import { bytes, int, ms, num } from '../util/format.js';
import { costChart, objectiveChart, objectiveName, timeChart } from './charts.js';
import { renderSvg } from './render.js';
import type { RunReport } from './schema.js';

/*
 * The HTML run report: one self-contained page (inline SVG charts and CSS, no script, nothing
 * fetched) that opens from a file, a mail attachment or a CI artifact.
 */

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function title(report: RunReport): string {
  const spec = report.spec as { algorithm?: string; k?: number; lr?: number; l2?: number; C?: number; solver?: string };
  if (spec.algorithm === 'kmeans') return `k-means, k = ${spec.k}`;
  // The settings a user gave: the solver when named (lr only where it steps), C when given as C.
  const weights = (spec as { classWeight?: unknown }).classWeight;
  const penalty = `${spec.C !== undefined ? `C = ${spec.C}` : `l2 = ${spec.l2 ?? 0}`}${weights !== undefined ? `, class weights ${typeof weights === 'string' ? weights : JSON.stringify(weights)}` : ''}`;
  const lr = spec.solver === 'gd' || spec.solver === 'local-sgd' ? `, lr = ${spec.lr ?? 0.5}` : '';
  // A multinomial model has a bias per class (a binary one names its two classes too).
  const result = report.result as { classes?: unknown[]; bias?: unknown } | null;
  const classes = Array.isArray(result?.bias) ? result.classes?.length : undefined;
  if (spec.algorithm === 'logreg' && classes !== undefined) return `multinomial logistic regression (${classes} classes, lbfgs), ${penalty}`;
  if (spec.algorithm === 'logreg') return `logistic regression${spec.solver ? ` (${spec.solver}${lr})` : ''}, ${penalty}`;
  if (spec.algorithm === 'svm') return `linear SVM (${spec.solver === 'local-sgd' ? `hinge, local-sgd${lr}` : `squared hinge, newton${classes !== undefined ? `, one-vs-rest on ${classes} classes` : ''}`}), ${penalty}`;
  return 'unknown algorithm';
}

function outcome(report: RunReport): string {
  const r = report.result as { algorithm?: string; rounds?: number; converged?: boolean; inertia?: number; loss?: number; accuracy?: number } | null;
  if (report.job.status === 'FAILED') return `FAILED: ${report.job.error ?? 'no reason recorded'}`;
  if (!r) return `${report.job.status}, ${report.totals.rounds} rounds so far`;
  const how = `${r.rounds} rounds, ${r.converged ? 'converged' : 'stopped at max rounds'}`;
  return r.algorithm === 'kmeans' ? `${how}; inertia ${num(r.inertia ?? Number.NaN)}` : `${how}; loss ${num(r.loss ?? Number.NaN)}, training accuracy ${((r.accuracy ?? 0) * 100).toFixed(2)}%`;
}

function summaryRows(report: RunReport): [string, string][] {
  const t = report.totals;
  const spec = report.spec as { workers?: number; threads?: number };
  const rows: [string, string][] = [
    ['job', `${report.job.jobId} (${report.source === 'local' ? 'local run' : 'stack job'}, backend ${report.job.backend})`],
    ['data', report.data ? `${report.data.uri ?? ''} (${int(report.data.rows)} rows × ${report.data.dims} features)` : 'not read'],
    ['workers', `${spec.workers ?? '?'} × ${spec.threads ?? 'auto'} threads`],
    ['outcome', outcome(report)],
    ['wall', `${ms(t.wallMs)} = preparation ${ms(t.prepareMs)} + compute ${ms(t.computeMs)} + load ${ms(t.loadMs)} + synchronisation ${ms(t.syncMs)} + other ${ms(t.otherMs)}`],
    ['preparation', report.prepare ? `round 0: ${report.prepare.workers} workers loaded and summarised their shards (slowest load ${ms(report.prepare.loadMs)})` : 'no record'],
    ['shards', `cache hits in training rounds ${t.cacheHits}/${t.workerInvocations}`],
  ];
  if (t.requests !== null) rows.push(['store', `${int(t.requests)} requests, ${bytes(t.bytesWritten ?? 0)} written, ${bytes(t.bytesRead ?? 0)} read`]);
  rows.push(['AWS cost', `≈ $${report.cost.usd.total.toFixed(6)} (${report.cost.backend} data plane, ${report.cost.workerMemoryMb} MB ${report.cost.architecture} workers; prices of ${report.cost.pricesAsOf})`]);
  return rows;
}

/** The held-out figures (train --validation), with the confusion matrix as a table. */
function validationHtml(report: RunReport): string {
  const v = report.validation as
    | { uri?: string; rows?: number; inertia?: number; accuracy?: number; logLoss?: number; auc?: number; precision?: number; recall?: number; f1?: number; average?: string; classes?: unknown[]; confusion?: number[][] }
    | null
    | undefined;
  if (!v) return '';
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  if (v.inertia !== undefined) return `<h2>Validation</h2>\n<p>${escape(v.uri ?? '')}: ${int(v.rows ?? 0)} rows; held-out inertia ${num(v.inertia)}</p>`;
  const figures = [
    `accuracy ${pct(v.accuracy ?? NaN)}`,
    ...(v.logLoss !== undefined ? [`log-loss ${v.logLoss.toPrecision(6)}`] : []),
    ...(v.auc !== undefined ? [`AUC ${v.auc.toFixed(4)}`] : []),
    `precision ${(v.precision ?? NaN).toFixed(4)}, recall ${(v.recall ?? NaN).toFixed(4)}, F1 ${(v.f1 ?? NaN).toFixed(4)} (${v.average === 'binary' ? `of ${String(v.classes?.[1])}` : 'macro'})`,
  ];
  const classes = (v.classes ?? []).map((c) => escape(String(c)));
  const rows = (v.confusion ?? []).map((r, t) => `<tr><th>${classes[t]}</th>${r.map((n) => `<td>${int(n)}</td>`).join('')}</tr>`).join('\n');
  return `<h2>Validation</h2>
<p>${escape(v.uri ?? '')}: ${int(v.rows ?? 0)} rows; ${escape(figures.join(', '))}</p>
<table class="rounds"><tr><th>truth \\ prediction</th>${classes.map((c) => `<th>${c}</th>`).join('')}</tr>
${rows}
</table>`;
}

export async function renderHtml(report: RunReport): Promise<string> {
  const [objective, time, cost] = await Promise.all([renderSvg(objectiveChart(report)), renderSvg(timeChart(report)), renderSvg(costChart(report))]);
  const name = objectiveName(report);
  const roundRows = report.rounds.round
    .map(
      (round, i) =>
        `<tr><td>${round}</td><td>${num(report.rounds.objective[i]!)}</td><td>${ms(report.rounds.wallMs[i]!)}</td><td>${ms(report.rounds.computeMs[i]!)}</td><td>${ms(report.rounds.loadMs[i]!)}</td><td>${ms(report.rounds.syncMs[i]!)}</td><td>${report.rounds.cacheHits[i]}/${report.rounds.workers[i]}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>bspml report: ${escape(report.job.jobId)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 24px auto; max-width: 760px; color: #222; }
h1 { font-size: 1.4em; margin-bottom: 4px; }
.sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; font-size: 0.9em; }
td, th { padding: 2px 10px 2px 0; text-align: left; vertical-align: top; }
table.rounds td, table.rounds th { text-align: right; padding: 1px 8px; }
figure { margin: 18px 0; }
.note { color: #666; font-size: 0.85em; }
details { margin-top: 16px; }
</style>
</head>
<body>
<h1>${escape(title(report))}</h1>
<p class="sub">bspml ${escape(report.bspmlVersion)} · ${escape(report.generatedAt)}</p>
<table class="summary">
${summaryRows(report)
  .map(([k, v]) => `<tr><th>${escape(k)}</th><td>${escape(v)}</td></tr>`)
  .join('\n')}
</table>
${validationHtml(report)}
<figure>${objective}</figure>
<figure>${time}</figure>
<figure>${cost}</figure>
<p class="note">${escape(report.cost.note)}. Prices and assumptions: src/costs/prices.ts and src/costs/estimate.ts. Sync = a round's wall time less its slowest worker's load and compute: messages, store calls, barrier and aggregation.</p>
<details><summary>rounds (${report.rounds.round.length})</summary>
<table class="rounds">
<tr><th>round</th><th>${escape(name)}</th><th>wall</th><th>compute</th><th>load</th><th>sync</th><th>cache</th></tr>
${roundRows}
</table>
</details>
</body>
</html>
`;
}

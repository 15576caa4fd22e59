import type { TopLevelSpec } from 'vega-lite';
import { renderSvg } from '../report/render.js';
import type { Strategy, TunePredictResult } from './tune.js';

/*
 * `bspml tune predict --out tune.html`: one self-contained page (inline SVG, no script) with the
 * cost per million rows over memory for each batch size, the recommendations marked.
 */

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const STRATEGIES: Strategy[] = ['cost', 'speed', 'balanced'];

export function costChart(result: TunePredictResult): TopLevelSpec {
  const values = result.configurations.map((c) => ({ memoryMb: c.memoryMb, batch: `${c.batchRows.toLocaleString('en-US')} rows`, rows: c.batchRows, usd: c.usdPerMillionRows, ms: c.p50Ms }));
  // Strategies that pick the same configuration share one mark and one label.
  const picks: { strategy: string; memoryMb: number; usd: number }[] = [];
  for (const s of STRATEGIES) {
    const r = result.recommendations[s];
    const same = picks.find((p) => p.memoryMb === r.memoryMb && p.usd === r.usdPerMillionRows);
    if (same) same.strategy += `, ${s}`;
    else picks.push({ strategy: s, memoryMb: r.memoryMb, usd: r.usdPerMillionRows });
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `$ per million rows, by memory and rows per request (${result.kind}, ${result.dims} features)`,
    width: 640,
    height: 320,
    layer: [
      {
        data: { values },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'memoryMb', type: 'quantitative', scale: { type: 'log' }, title: 'memory (MB, log scale)', axis: { values: [128, 256, 512, 1024, 2048, 4096, 10240] } },
          y: { field: 'usd', type: 'quantitative', scale: { type: 'log' }, title: '$ per million rows (log scale)' },
          color: { field: 'batch', type: 'nominal', sort: { field: 'rows' }, title: 'rows per request' },
        },
      },
      {
        data: { values: picks },
        mark: { type: 'point', shape: 'diamond', size: 160, filled: true, color: 'black' },
        encoding: { x: { field: 'memoryMb', type: 'quantitative' }, y: { field: 'usd', type: 'quantitative' } },
      },
      {
        data: { values: picks },
        mark: { type: 'text', dx: 8, dy: -10, align: 'left', fontSize: 12 },
        encoding: { x: { field: 'memoryMb', type: 'quantitative' }, y: { field: 'usd', type: 'quantitative' }, text: { field: 'strategy' } },
      },
    ],
  };
}

export async function renderTunePage(result: TunePredictResult): Promise<string> {
  const chart = await renderSvg(costChart(result));
  const rows = STRATEGIES.map((s) => {
    const r = result.recommendations[s];
    return `<tr><td>${s}</td><td>${r.memoryMb}</td><td>${r.batchRows.toLocaleString('en-US')}</td><td>${r.p50Ms.toFixed(2)} ms</td><td>$${r.usdPerMillionRows.toFixed(4)}</td><td>${r.secondsPerMillionRows.toFixed(1)} s</td></tr>`;
  }).join('\n');
  const c = result.calibration;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>bspml tune predict: ${escape(result.model)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}th{background:#f4f4f4}td:first-child{text-align:left}li{margin:.2em 0}</style></head>
<body>
<h1>Serving ${escape(result.model)} on Lambda</h1>
<p>${escape(result.kind)} model, ${result.dims} features. Calibrated on this machine: a request takes ${c.fixedMs.toFixed(3)} ms + ${(c.perRowMs * 1000).toFixed(2)} µs per row (one core, load average ${c.loadAverage.map((l) => l.toFixed(1)).join(' / ')} while measured). Prices: $${(result.prices.requestUsd * 1e6).toFixed(2)} per million requests, $${result.prices.gbSecondUsd} per GB-s (${result.prices.architecture}, as of ${result.prices.asOf}).</p>
<table><tr><th>strategy</th><th>memory (MB)</th><th>rows per request</th><th>duration</th><th>$ per million rows</th><th>10⁶ rows at concurrency 10</th></tr>
${rows}
</table>
${chart}
<h2>Assumptions</h2>
<ul>${result.assumptions.map((a) => `<li>${escape(a)}</li>`).join('')}</ul>
</body></html>
`;
}

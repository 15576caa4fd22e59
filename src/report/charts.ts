import type { TopLevelSpec } from 'vega-lite';
import { COST_SERVICES } from '../costs/estimate.js';
import type { RunReport } from './schema.js';

/*
 * The report's charts as Vega-Lite specifications (vega.github.io/vega-lite): data in, a picture
 * out, rendered to SVG by src/report/render.ts. Nothing here draws.
 */

const WIDTH = 560;
const HEIGHT = 220;
const SERVICE_LABELS: Record<(typeof COST_SERVICES)[number], string> = {
  lambda: 'Lambda',
  dynamodb: 'DynamoDB',
  sns: 'SNS',
  sqs: 'SQS FIFO',
  s3: 'S3',
  elasticache: 'ElastiCache',
};

export function objectiveName(report: RunReport): string {
  return report.spec.algorithm === 'kmeans' ? 'inertia' : 'loss';
}

/** The objective of the model entering each round: the curve a run converges along. */
export function objectiveChart(report: RunReport): TopLevelSpec {
  const name = objectiveName(report);
  const values = report.rounds.round.map((round, i) => ({ round, [name]: report.rounds.objective[i] }));
  const positive = values.every((v) => (v[name] ?? 0) > 0);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `${name} per round`,
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'round', type: 'quantitative', axis: { tickMinStep: 1, format: 'd' } },
      y: { field: name, type: 'quantitative', scale: positive ? { type: 'log' } : { zero: false }, title: `${name}${positive ? ' (log scale)' : ''}` },
    },
  };
}

/**
 * Each round's wall time split into the slowest worker's load and compute, and the rest:
 * synchronisation. The first round usually loads every shard and can dwarf the others: then the
 * axis stops at the tallest later round and that bar is cut, its total written on it.
 */
export function timeChart(report: RunReport): TopLevelSpec {
  const phases = [
    { phase: 'compute', key: 'computeMs' },
    { phase: 'load', key: 'loadMs' },
    { phase: 'sync', key: 'syncMs' },
  ] as const;
  const { round: rounds } = report.rounds;
  const values = rounds.flatMap((round, i) => phases.map(({ phase, key }, order) => ({ round, phase, order, ms: report.rounds[key][i] })));
  const totals = rounds.map((_, i) => report.rounds.computeMs[i]! + report.rounds.loadMs[i]! + report.rounds.syncMs[i]!);
  const later = Math.max(0, ...totals.slice(1));
  const cap = later > 0 && totals[0]! > 3 * later ? later * 1.5 : undefined;
  const cut = cap === undefined ? [] : rounds.flatMap((round, i) => (totals[i]! > cap ? [{ round, label: `${Math.round(totals[i]!).toLocaleString('en-US')} ms (cut)`, y: cap }] : []));
  const x = { field: 'round', type: 'ordinal', axis: { labelOverlap: true, labelAngle: 0 } } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `time per round (ms)${cap === undefined ? '' : ', axis cut above the later rounds'}`,
    width: WIDTH,
    height: HEIGHT,
    layer: [
      {
        data: { values },
        mark: { type: 'bar', clip: true },
        encoding: {
          x,
          y: { field: 'ms', type: 'quantitative', stack: 'zero', title: 'ms', ...(cap === undefined ? {} : { scale: { domain: [0, cap] } }) },
          color: { field: 'phase', type: 'nominal', sort: phases.map((p) => p.phase), scale: { range: ['#4c78a8', '#f58518', '#e45756'] }, title: null },
          order: { field: 'order' },
        },
      },
      {
        data: { values: cut },
        mark: { type: 'text', align: 'left', baseline: 'top', dx: 2, dy: 4, fontWeight: 'bold' },
        encoding: { x: { ...x, band: 0 } as never, y: { field: 'y', type: 'quantitative' }, text: { field: 'label' } },
      },
    ],
  };
}

/** The projected AWS bill of the job by service. */
export function costChart(report: RunReport): TopLevelSpec {
  const values = COST_SERVICES.map((service) => ({ service: SERVICE_LABELS[service], usd: report.cost.usd[service] }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `projected AWS cost by service (USD, total $${report.cost.usd.total.toFixed(6)})`,
    width: WIDTH,
    height: 24 * values.length,
    data: { values },
    layer: [
      { mark: 'bar', encoding: { y: { field: 'service', type: 'nominal', sort: null, title: null }, x: { field: 'usd', type: 'quantitative', title: 'USD', axis: { format: '$.2~r' } } } },
      {
        mark: { type: 'text', align: 'left', dx: 4 },
        encoding: { y: { field: 'service', type: 'nominal', sort: null }, x: { field: 'usd', type: 'quantitative' }, text: { field: 'usd', type: 'quantitative', format: '$.3~r' } },
      },
    ],
  };
}

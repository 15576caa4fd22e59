import type { Candidate, Strategy, TuneResult } from './tune.js';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Cost against time of every configuration `tune` simulated, on log axes, one colour per memory
 * size, the recommendation of each strategy ringed and labelled; configurations that cannot run
 * are listed under the chart. A standalone HTML page with the SVG inline.
 */
export function tuneChartHtml(result: TuneResult, strategy: Strategy): string {
  const points = result.candidates.filter((c) => c.wallSeconds !== undefined);
  const W = 760;
  const H = 460;
  const m = { l: 80, r: 170, t: 40, b: 56 };
  const xs = points.map((p) => p.wallSeconds!);
  const ys = points.map((p) => p.costUsd!);
  const lx = logScale(Math.min(...xs), Math.max(...xs), m.l, W - m.r);
  const ly = logScale(Math.min(...ys), Math.max(...ys), H - m.b, m.t);
  const memories = [...new Set(points.map((p) => p.memoryMb))].sort((a, b) => a - b);
  const palette = ['#1b9e77', '#d95f02', '#7570b3', '#e7298a', '#66a61e', '#e6ab02', '#a6761d'];
  const colour = (mb: number) => palette[memories.indexOf(mb) % palette.length]!;
  const svg: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`];
  svg.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  svg.push(`<text x="${m.l}" y="22" font-size="14" font-weight="bold">${esc(`${result.job.algorithm}, ${result.job.rows.toLocaleString('en-US')} rows × ${result.job.dims}, ${result.job.rounds} rounds: cost against time (simulated)`)}</text>`);
  for (const t of lx.ticks) svg.push(`<line x1="${t.at}" x2="${t.at}" y1="${m.t}" y2="${H - m.b}" stroke="#eee"/><text x="${t.at}" y="${H - m.b + 16}" text-anchor="middle">${t.label}</text>`);
  for (const t of ly.ticks) svg.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${t.at}" y2="${t.at}" stroke="#eee"/><text x="${m.l - 6}" y="${t.at + 4}" text-anchor="end">$${t.label}</text>`);
  svg.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 16}" text-anchor="middle">wall time (s, log scale)</text>`);
  svg.push(`<text x="18" y="${(m.t + H - m.b) / 2}" text-anchor="middle" transform="rotate(-90 18 ${(m.t + H - m.b) / 2})">cost per job (USD, log scale)</text>`);
  for (const p of points) {
    svg.push(marker(p, lx.at(p.wallSeconds!), ly.at(p.costUsd!), colour(p.memoryMb), `${esc(label(p))}${p.considered ? '' : ' (shown, not recommended)'}`));
  }
  const marked = new Map<Candidate, Strategy[]>();
  for (const [s, c] of Object.entries(result.recommended) as [Strategy, Candidate | undefined][]) if (c) marked.set(c, [...(marked.get(c) ?? []), s]);
  for (const [c, strategies] of marked) {
    const x = lx.at(c.wallSeconds!);
    const y = ly.at(c.costUsd!);
    const main = strategies.includes(strategy);
    svg.push(`<circle cx="${x}" cy="${y}" r="${main ? 10 : 8}" fill="none" stroke="${main ? '#c00' : '#333'}" stroke-width="${main ? 3 : 1.5}"/>`);
    svg.push(`<text x="${x + 12}" y="${y - 10}" fill="${main ? '#c00' : '#333'}" font-weight="${main ? 'bold' : 'normal'}">${esc(`${strategies.join(', ')}: ${c.workers} × ${c.threads}, ${c.memoryMb} MB, ${c.sync}`)}</text>`);
  }
  memories.forEach((mb, i) => {
    const y = m.t + 10 + i * 18;
    svg.push(`<circle cx="${W - m.r + 20}" cy="${y}" r="5" fill="${colour(mb)}"/><text x="${W - m.r + 30}" y="${y + 4}">${mb.toLocaleString('en-US')} MB</text>`);
  });
  // One marker per sync mode: filled for the modes considered, hollow for those only shown.
  const modes = [...new Set(points.map((p) => `${p.sync}|${p.considered}`))].map((k) => ({ sync: k.split('|')[0]!, considered: k.endsWith('true') }));
  modes.forEach((mode, i) => {
    const y = m.t + 10 + memories.length * 18 + 8 + i * 18;
    svg.push(marker({ ...mode } as Pick<Candidate, 'sync' | 'considered'>, W - m.r + 20, y, '#888', mode.sync));
    svg.push(`<text x="${W - m.r + 30}" y="${y + 4}">${esc(mode.sync)}${mode.considered ? '' : ' (shown)'}</text>`);
  });
  svg.push('</svg>');
  const unfit = result.candidates.filter((c) => c.unfit);
  return [
    '<!doctype html><html><head><meta charset="utf-8"><title>bspml tune</title>',
    '<style>body{font-family:sans-serif;margin:24px;color:#222}td,th{padding:2px 8px;text-align:left}</style></head><body>',
    svg.join('\n'),
    `<p>Recommended (${strategy}): ${result.recommended[strategy] ? esc(label(result.recommended[strategy]!)) : esc(result.none[strategy] ?? 'none')}</p>`,
    unfit.length ? `<h3>Cannot run (${unfit.length})</h3><table><tr><th>memory</th><th>workers × threads</th><th>sync</th><th>why</th></tr>${unfit.map((c) => `<tr><td>${c.memoryMb} MB</td><td>${c.workers} × ${c.threads}</td><td>${c.sync}</td><td>${esc(c.unfit!)}</td></tr>`).join('')}</table>` : '',
    '</body></html>\n',
  ].join('\n');
}

/** A point of the chart: event a circle, linger a diamond, a mode shown only (barrier-wait) a hollow square. */
function marker(p: Pick<Candidate, 'sync' | 'considered'>, x: number, y: number, fill: string, title: string): string {
  const tip = `<title>${title}</title>`;
  if (!p.considered) return `<rect x="${x - 4}" y="${y - 4}" width="8" height="8" fill="none" stroke="${fill}" stroke-width="1.5">${tip}</rect>`;
  if (p.sync === 'linger') return `<path d="M ${x} ${y - 5.5} L ${x + 5.5} ${y} L ${x} ${y + 5.5} L ${x - 5.5} ${y} Z" fill="${fill}" fill-opacity="0.8">${tip}</path>`;
  return `<circle cx="${x}" cy="${y}" r="4" fill="${fill}" fill-opacity="0.8">${tip}</circle>`;
}

function label(c: Candidate): string {
  return `${c.workers} workers × ${c.threads} threads, ${c.memoryMb} MB, ${c.sync}: ${c.wallSeconds!.toFixed(2)} s, $${c.costUsd!.toPrecision(3)}`;
}

function logScale(min: number, max: number, from: number, to: number) {
  const lo = Math.log10(min > 0 ? min : 1e-9) - 0.05;
  const hi = Math.log10(max > 0 ? max : 1e-9) + 0.05;
  const span = Math.max(hi - lo, 0.1);
  const at = (v: number) => from + ((Math.log10(Math.max(v, 1e-12)) - lo) / span) * (to - from);
  const ticks: { at: number; label: string }[] = [];
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
    for (const mult of [1, 2, 5]) {
      const v = mult * 10 ** e;
      const l = Math.log10(v);
      if (l >= lo && l <= hi) ticks.push({ at: at(v), label: v >= 1 ? v.toLocaleString('en-US') : v.toPrecision(1) });
    }
  }
  return { at, ticks };
}

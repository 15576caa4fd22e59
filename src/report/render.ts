import type { TopLevelSpec } from 'vega-lite';

/**
 * A Vega-Lite chart as an SVG string, rendered headless in Node (no browser, no canvas: Vega
 * estimates text widths). Vega loads on first use: only an HTML report needs it.
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  // Errors only: a warning about a chart belongs in a test, not in the output of a run.
  const logger = vega.logger(vega.Error);
  const view = new vega.View(vega.parse(compile(spec, { logger }).spec), { renderer: 'none', logLevel: vega.Error });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

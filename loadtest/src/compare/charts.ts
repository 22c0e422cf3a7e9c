import * as vega from 'vega';
import type { TopLevelSpec } from 'vega-lite';
import { compile } from 'vega-lite';

/** Renders a Vega-Lite spec to an SVG string (no browser, no canvas). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

type Row = Record<string, string | number>;

export function barChart(
  title: string,
  rows: Row[],
  x: string,
  y: string,
  yTitle: string,
  color?: string,
): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 420,
    height: 240,
    background: 'white',
    data: { values: rows },
    mark: 'bar',
    encoding: {
      x: { field: x, type: 'nominal', sort: null, axis: { labelAngle: -30 }, title: null },
      y: { field: y, type: 'quantitative', title: yTitle },
      ...(color
        ? { xOffset: { field: color }, color: { field: color, type: 'nominal', title: null } }
        : { color: { value: '#4c78a8' } }),
    },
  } as TopLevelSpec;
}

export function lineChart(
  title: string,
  rows: Row[],
  x: string,
  y: string,
  xTitle: string,
  yTitle: string,
  series: string,
): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 420,
    height: 260,
    background: 'white',
    data: { values: rows },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: x, type: 'quantitative', title: xTitle },
      y: { field: y, type: 'quantitative', title: yTitle, scale: { type: 'log' } },
      color: { field: series, type: 'nominal', title: null },
    },
  } as TopLevelSpec;
}

import * as vega from 'vega';
import * as vl from 'vega-lite';

it('vega-lite renders SVG in node (ESM test mode works)', async () => {
  const spec = vl.compile({
    data: { values: [{ x: 1, y: 2 }, { x: 2, y: 3 }] },
    mark: 'line',
    encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
  }).spec;
  const svg = await new vega.View(vega.parse(spec), { renderer: 'none' }).toSVG();
  expect(svg.startsWith('<svg')).toBe(true);
  expect(svg).toContain('<path');
});

import t from 'tap';
import { barChartsSvg, lineChartsSvg } from '../../src/bench/plot.js';

t.test('bar charts: one bar per value, p95 whiskers, labels escaped, missing bars left out', async (t) => {
  const svg = barChartsSvg(
    [
      {
        title: 'latency <ms> & more',
        unit: 'ms',
        series: [
          { name: 'a', color: '#111' },
          { name: 'b', color: '#222' },
        ],
        groups: [
          { label: 'detect', bars: [{ value: 10, whisker: 20 }, { value: 5 }] },
          { label: 'infer', bars: [{ value: 1 }, undefined] },
        ],
      },
    ],
    'footnote',
  );
  t.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  t.match(svg, /latency &lt;ms&gt; &amp; more/);
  t.equal(svg.match(/<rect x="150" y="[\d.]+" width="[\d.]+" height="11"/g)?.length, 3, 'three bars');
  t.equal(svg.match(/<line x1="(?!150")/g)?.length, 1, 'one whisker');
  t.match(svg, /10.0 ms \(20.0\)/);
  t.match(svg, /footnote<\/text>\n<\/svg>/);
  // The longest whisker spans the plot: bars are drawn to one scale.
  t.match(svg, /x2="670.0"/);
});

t.test('line charts: a polyline per series, scaled from zero', async (t) => {
  const svg = lineChartsSvg([{ title: 'RSS', xLabel: 'min', yLabel: 'MB', series: [{ name: 'rss', color: '#111', points: [[0, 100], [10, 110]] }] }]);
  t.match(svg, /<polyline fill="none" stroke="#111" stroke-width="2" points="150.0,[\d.]+ 670.0,[\d.]+"\/>/);
  t.match(svg, /10.0 min/);
});

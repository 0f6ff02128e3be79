/*
 * chart.js - the confirmations-per-hour bar chart of the fleet page, drawn
 * as SVG here (no chart library). The numbers are also in the chart's
 * accessible description and in a <title> per bar (hover, screen readers).
 */
import {h, svg} from './dom.js';

/* buckets: [{hour: ISO, count: n}] oldest first */
export function confirmationsChart(buckets) {
  const W = 1000, H = 190, L = 36, B = 28, T = 10, R = 8;
  const max = Math.max(1, ...buckets.map((b) => b.count));
  const step = Math.max(1, Math.ceil(max / 4));
  const top = step * Math.ceil(max / step);
  const bw = (W - L - R) / Math.max(1, buckets.length);
  const y = (v) => T + (H - T - B) * (1 - v / top);
  const total = buckets.reduce((s, b) => s + b.count, 0);
  const desc = `${total} confirmation${total === 1 ? '' : 's'} in the last ${buckets.length} hours` +
    (total ? `; most in one hour: ${max}` : '');
  const parts = [];
  for (let v = 0; v <= top; v += step) {
    parts.push(svg('line', {x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid'}));
    parts.push(svg('text', {x: L - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis'}, v));
  }
  buckets.forEach((b, i) => {
    const hour = new Date(b.hour);
    const label = `${String(hour.getHours()).padStart(2, '0')}:00`;
    if (b.count > 0) {
      parts.push(svg('rect', {x: L + i * bw + 1, y: y(b.count), width: Math.max(1, bw - 2),
                              height: y(0) - y(b.count), class: 'col'},
        svg('title', {}, `${label}: ${b.count} confirmed`)));
    }
    if (i % 3 === 0 || i === buckets.length - 1) {
      parts.push(svg('text', {x: L + i * bw + bw / 2, y: H - 8, 'text-anchor': 'middle',
                              class: 'axis'}, label));
    }
  });
  return h('figure', {class: 'chart'},
    svg('svg', {viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': desc,
}, parts),
    h('figcaption', {}, desc));
}

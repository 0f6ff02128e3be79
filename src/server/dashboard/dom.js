/*
 * dom.js - building elements without HTML strings. Every piece of text
 * (device ids, versions, reasons: anything from the server) becomes a text
 * node, so nothing the fleet reports can turn into markup or script.
 */
const SVG_NS = 'http://www.w3.org/2000/svg';

function fill(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.setAttribute('class', v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/* h('td', {class: 'x'}, 'text', childNode, [more]) */
export function h(tag, attrs, ...children) {
  return fill(document.createElement(tag), attrs, children);
}

export function svg(tag, attrs, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), attrs, children);
}

/* Replace el's children. */
export function put(el, ...children) {
  el.replaceChildren();
  return fill(el, {}, children);
}

/* "2026-11-29T20:00:00Z" -> local "2026-11-29 21:00:00", null -> "never" */
export function when(iso) {
  if (!iso) return 'never';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
         `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/* A <time> element: the local time, the ISO string as its datetime. */
export function time(iso) {
  return h('time', {datetime: iso || undefined}, when(iso));
}

export function bytes(n) {
  if (n >= 1048576) return `${(n / 1048576).toFixed(2)} MiB (${n.toLocaleString('en')} bytes)`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB (${n.toLocaleString('en')} bytes)`;
  return `${n} bytes`;
}

/* A horizontal bar: value of total, labelled (role meter for screen readers). */
export function bar(label, value, total, kind) {
  const pct = total > 0 ? Math.min(100, (100 * value) / total) : 0;
  const fillEl = h('span', {class: 'fill'});
  fillEl.style.width = `${pct}%`; /* CSSOM: allowed by the CSP, unlike style="" */
  return h('div', {class: `bar-row ${kind || ''}`},
    h('span', {class: 'bar-label'}, label),
    h('span', {class: 'bar', role: 'meter', 'aria-label': label, 'aria-valuemin': 0,
               'aria-valuemax': total, 'aria-valuenow': value}, fillEl),
    h('span', {class: 'bar-value'}, `${value} / ${total}`));
}

// Time-series charts as hand-written SVG: lines, or stacked bars. Each comes with its numbers
// as a table in a <details>, for screen readers and for anyone who wants the exact values.
import { h } from "./dom.js";

const NS = "http://www.w3.org/2000/svg";
const W = 640;
const H = 200;
const M = { left: 68, right: 10, top: 10, bottom: 24 };
export const COLORS = ["var(--c1)", "var(--c2)", "var(--c3)", "var(--c4)", "var(--c5)"];
const colorOf = (line, j) => line.color || COLORS[j % COLORS.length];

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
  for (const child of children) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return el;
}

function niceMax(value) {
  if (!(value > 0)) return 1;
  const step = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * step >= value) return m * step;
  return 10 * step;
}

function timeLabel(grain) {
  return (t) => {
    const d = new Date(t * 1000);
    return grain >= 86400
      ? d.toLocaleDateString(undefined, { month: "short", day: "numeric" })
      : d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  };
}

/**
 * series: [{name, values: [number|null per x]}]; xs: bucket starts (Unix seconds).
 * kind: "line" or "bars" (stacked).
 */
export function chart({ title, xs, series, grain, format = String, kind = "line" }) {
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const totals = xs.map((_, i) =>
    kind === "bars"
      ? series.reduce((sum, line) => sum + (line.values[i] || 0), 0)
      : Math.max(0, ...series.map((line) => line.values[i] || 0)),
  );
  const top = niceMax(Math.max(0, ...totals));
  const x = (i) => M.left + (xs.length <= 1 ? plotW / 2 : (i * plotW) / (xs.length - 1));
  const y = (v) => M.top + plotH - (v / top) * plotH;
  const label = timeLabel(grain);
  const svg = s("svg", {
    class: "chart",
    viewBox: `0 0 ${W} ${H}`,
    role: "img",
    "aria-label": `${title}: ${series.map((l) => l.name).join(", ")}, ${xs.length} points; the table below has the values`,
  });
  for (let k = 0; k <= 4; k++) {
    const v = (top * k) / 4;
    svg.append(
      s("line", { class: "grid-line", x1: M.left, x2: W - M.right, y1: y(v), y2: y(v) }),
      s("text", { x: M.left - 6, y: y(v) + 4, "text-anchor": "end" }, format(v)),
    );
  }
  svg.append(s("line", { class: "axis", x1: M.left, x2: W - M.right, y1: y(0), y2: y(0) }));
  const every = Math.max(1, Math.ceil(xs.length / 6));
  xs.forEach((t, i) => {
    if (i % every === 0) svg.append(s("text", { x: x(i), y: H - 6, "text-anchor": "middle" }, label(t)));
  });
  if (kind === "bars") {
    const width = Math.max(1, (plotW / Math.max(1, xs.length)) * 0.8);
    xs.forEach((t, i) => {
      let base = 0;
      series.forEach((line, j) => {
        const v = line.values[i] || 0;
        if (!v) return;
        const rect = s("rect", {
          x: x(i) - width / 2, y: y(base + v), width, height: Math.max(0.5, y(base) - y(base + v)),
          fill: colorOf(line, j),
        });
        rect.append(s("title", {}, `${label(t)} ${line.name}: ${format(v)}`));
        svg.append(rect);
        base += v;
      });
    });
  } else {
    const known = (v) => v !== null && v !== undefined;
    series.forEach((line, j) => {
      const points = line.values.map((v, i) => (known(v) ? `${x(i).toFixed(1)},${y(v).toFixed(1)}` : null)).filter(Boolean);
      if (points.length > 1) {
        svg.append(s("polyline", { points: points.join(" "), fill: "none", stroke: colorOf(line, j), "stroke-width": 2 }));
      }
      // A point with no neighbour would draw no line: a dot shows it.
      line.values.forEach((v, i) => {
        if (known(v) && !known(line.values[i - 1]) && !known(line.values[i + 1])) {
          const dot = s("circle", { cx: x(i), cy: y(v), r: 3, fill: colorOf(line, j) });
          dot.append(s("title", {}, `${label(xs[i])} ${line.name}: ${format(v)}`));
          svg.append(dot);
        }
      });
    });
  }
  const legend = h(
    "div",
    { class: "legend" },
    series.map((line, j) => h("span", {}, h("i", { style: { background: colorOf(line, j) } }), line.name)),
  );
  const data = h(
    "details",
    {},
    h("summary", {}, "Values"),
    h(
      "div",
      { class: "scroll" },
      h(
        "table",
        {},
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Time"), series.map((l) => h("th", { scope: "col", class: "num" }, l.name)))),
        h(
          "tbody",
          {},
          xs.map((t, i) =>
            h("tr", {}, h("td", {}, label(t)), series.map((l) => h("td", { class: "num" }, l.values[i] === null || l.values[i] === undefined ? "–" : format(l.values[i])))),
          ),
        ),
      ),
    ),
  );
  return h("figure", { class: "panel" }, h("figcaption", {}, title), svg, legend, data);
}

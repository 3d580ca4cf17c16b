// Overview: traffic, errors by class, latency percentiles, tokens and cost over time; the top
// models, apps and consumer keys; the health of the node serving the console. All from the analytics endpoints, scoped to
// the tenant shown.
import { get } from "../api.js";
import { chart } from "../chart.js";
import { badge, compact, h, int, ms, panel, pct, replace, select, table, usd } from "../dom.js";

const RANGES = { "1h": ["1h", "minute", 60], "24h": ["24h", "hour", 3600], "7d": ["7d", "day", 86400] };
// Status classes in the order they stack, each in the colour of its meaning.
const CLASSES = [
  ["2xx", "var(--ok)"],
  ["4xx", "var(--c5)"],
  ["429", "var(--c2)"],
  ["5xx", "var(--bad)"],
];

function statusClass(status) {
  if (status === 429) return "429";
  if (status < 400) return "2xx"; // the few 1xx/3xx answers count with the successes
  return `${Math.floor(status / 100)}xx`;
}

export async function render(root, ctx) {
  const range = RANGES[ctx.query.range] ? ctx.query.range : "24h";
  const [since, grain, step] = RANGES[range];
  const scope = { since, grain, tenant: ctx.tenant || undefined };
  const picker = select("range", Object.keys(RANGES).map((r) => [r, `last ${r}`]), range);
  picker.id = "range";
  picker.addEventListener("change", () => (location.hash = ctx.hashFor("overview", [], { range: picker.value })));

  const [summary, byStatus, series, topModels, topApps, topKeys, ready, keys] = await Promise.all([
    get("/admin/stats/summary", scope),
    get("/admin/stats/series", { ...scope, group_by: "status" }),
    get("/admin/stats/series", scope),
    get("/admin/stats/top", { ...scope, by: "model", n: 5 }),
    get("/admin/stats/top", { ...scope, by: "app", n: 5 }),
    get("/admin/stats/top", { ...scope, by: "key_id", n: 5 }),
    fetch("/ready", { cache: "no-store" }).then((r) => r.json()).catch(() => null),
    ctx.who.isOperator ? get("/admin/upstream-keys") : Promise.resolve(null),
  ]);

  const t = summary.totals;
  const cards = h(
    "div",
    { class: "cards" },
    [
      ["Requests", int(t.calls)],
      ["Error rate", pct(t.error_rate)],
      ["p50 / p99 latency", `${ms(t.latency_ms_p50)} / ${ms(t.latency_ms_p99)}`],
      ["Tokens", compact(t.total_tokens)],
      ["Cost", usd(t.cost)],
    ].map(([label, value]) => h("div", { class: "card" }, h("div", { class: "label" }, label), h("div", { class: "value" }, value))),
  );

  const xs = (series.lines[0] || { points: [] }).points.map((p) => p.bucket);
  const points = (series.lines[0] || { points: [] }).points;
  const classes = new Map(CLASSES.map(([name, color]) => [name, { name, color, values: xs.map(() => 0) }]));
  for (const line of byStatus.lines) {
    const cls = classes.get(statusClass(Number(line.group.status)));
    line.points.forEach((p, i) => (cls.values[i] += p.calls));
  }
  const charts = h(
    "div",
    { class: "grid" },
    chart({
      title: `Requests by status class (per ${grain})`,
      kind: "bars",
      xs,
      grain: step,
      format: compact,
      series: [...classes.values()],
    }),
    chart({
      title: "Latency percentiles",
      xs,
      grain: step,
      format: (v) => `${Math.round(v)} ms`,
      series: [
        { name: "p50", values: points.map((p) => p.latency_ms_p50) },
        { name: "p95", values: points.map((p) => p.latency_ms_p95) },
        { name: "p99", values: points.map((p) => p.latency_ms_p99) },
      ],
    }),
    chart({
      title: `Tokens (per ${grain})`,
      kind: "bars",
      xs,
      grain: step,
      format: compact,
      series: [
        { name: "prompt", values: points.map((p) => p.prompt_tokens) },
        { name: "completion", values: points.map((p) => p.completion_tokens) },
      ],
    }),
    chart({
      title: `Cost (USD per ${grain})`,
      xs,
      grain: step,
      format: (v) => `$${v.toPrecision(2)}`,
      series: [{ name: "cost", values: points.map((p) => p.cost) }],
    }),
  );

  const top = (title, rows, dim) =>
    panel(
      title,
      table(
        [
          { label: dim, cell: (r) => String(r.group[dim] || "(none)") },
          { label: "Requests", num: true, cell: (r) => int(r.calls) },
          { label: "Errors", num: true, cell: (r) => pct(r.error_rate) },
          { label: "Tokens", num: true, cell: (r) => compact(r.total_tokens) },
          { label: "Cost", num: true, cell: (r) => usd(r.cost) },
        ],
        rows.rows,
        { caption: title, empty: "No calls in this range." },
      ),
    );

  const health = panel(
    "Health of this node",
    // The admin API answers for its own node; a cluster's other nodes answer on their listeners.
    h("p", { class: "muted" }, "This node only: each node of a cluster reports its own health on its admin listener."),
    ready
      ? h(
          "dl",
          { class: "fields" },
          h("dt", {}, "Ready"), h("dd", {}, badge(ready.ready ? "ok" : "error")),
          h("dt", {}, "Store"), h("dd", {}, badge(ready.store ? "ok" : "error")),
          h("dt", {}, "Data plane"), h("dd", {}, badge(ready.dataplane ? "ok" : "error")),
          h("dt", {}, "Config generation"), h("dd", {}, String(ready.generation ?? "–")),
          keys ? [h("dt", {}, "Provider keys"), h("dd", {}, keyCounts(keys))] : null,
        )
      : h("p", { class: "error" }, "The node does not answer /ready."),
  );

  replace(
    root,
    h("div", { class: "spread" }, h("p", { class: "muted" }, ctx.tenant ? `Tenant ${ctx.tenant}` : "All tenants"), h("label", { class: "inline", for: "range" }, "Range", picker)),
    cards,
    charts,
    h("div", { class: "grid", style: { marginTop: "1rem" } }, top("Top models", topModels, "model"), top("Top apps", topApps, "app"), top("Top consumer keys", topKeys, "key_id"), health),
  );
}

function keyCounts(keys) {
  const counts = {};
  for (const k of keys) counts[k.state] = (counts[k.state] || 0) + 1;
  return h("span", { class: "actions" }, Object.entries(counts).map(([state, n]) => badge(`${n} ${state}`, badgeTone(state))));
}

function badgeTone(state) {
  return { healthy: "ok", cooling: "warn", disabled: "off" }[state] || "bad";
}

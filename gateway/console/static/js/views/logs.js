// Logs: the call log with its filters (kept in the URL, so a view can be shared), and one call's
// detail: every attempt with the key it used, what came back and what aigw did about it.
import { get } from "../api.js";
import { field, h, int, ms, panel, replace, select, statusBadge, table, timeTag, usd } from "../dom.js";

// `q`: words, each found in some field of the call (its request id, app, key, model, error …).
const FILTERS = ["since", "app", "key_id", "model", "status", "provider", "upstream_key", "q"];
const SINCE = [["15m", "last 15 min"], ["1h", "last hour"], ["6h", "last 6 h"], ["24h", "last 24 h"], ["7d", "last 7 days"], ["30d", "last 30 days"]];
const PAGE = 50;

// What the key pool did with an attempt's answer (docs/key-pools.md#classification).
const OUTCOMES = {
  ok: "answered",
  rate_limited: "rate-limited (429): the key cools until the provider's reset",
  quota: "out of quota: the key is exhausted and probed until it recovers",
  invalid: "key refused (401/403): the key is invalid and probed until it recovers",
  server: "server error: counts towards the key's and the provider's breakers",
  client: "the caller's own error: answered as the provider gave it",
};

export async function render(root, ctx) {
  if (ctx.params[0]) return detail(root, ctx, ctx.params[0]);
  const query = Object.fromEntries(FILTERS.map((f) => [f, ctx.query[f] || ""]));
  query.since ||= "24h";
  const filters = h(
    "form",
    { class: "panel", role: "search", "aria-label": "Filter calls" },
    h(
      "div",
      { class: "row" },
      field("Time", select("since", SINCE, query.since)),
      field("App", h("input", { name: "app", value: query.app, size: 10 })),
      field("Consumer key id", h("input", { name: "key_id", value: query.key_id, size: 14 })),
      field("Model", h("input", { name: "model", value: query.model, size: 12 })),
      field("Status", h("input", { name: "status", value: query.status, size: 6, placeholder: "429, 5xx, error" })),
      field("Provider", h("input", { name: "provider", value: query.provider, size: 8 })),
      field("Provider key", h("input", { name: "upstream_key", value: query.upstream_key, size: 10 })),
      field("Search", h("input", {
        name: "q", value: query.q, size: 24, type: "search", maxlength: "200",
        placeholder: "request id, model, app, key, error", title: "Every word must be part of the call's request id, tenant, app, consumer key, model, deployment, provider key or error",
      })),
      h("button", { type: "submit" }, "Search"),
    ),
  );
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = ctx.hashFor("logs", [], Object.fromEntries(new FormData(filters)));
  });
  const results = h("div");
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Older calls");
  const rows = [];
  let cursor = null;

  async function load() {
    const page = await get("/admin/calls", { ...query, tenant: ctx.tenant || undefined, limit: PAGE, cursor: cursor || undefined });
    rows.push(...page.calls);
    cursor = page.next_cursor;
    more.hidden = !cursor;
    replace(results, callTable(rows, ctx, query));
  }
  more.addEventListener("click", () => load());
  await load();
  replace(root, filters, panel(`Calls${ctx.tenant ? ` of ${ctx.tenant}` : ""}`, results, more));
}

function callTable(rows, ctx, query) {
  return table(
    [
      { label: "Time", cell: (c) => timeTag(c.ts) },
      { label: "Status", cell: (c) => [statusBadge(c.status), c.error_code ? h("div", { class: "muted" }, c.error_code) : null] },
      { label: "Model", cell: (c) => c.model || "–" },
      { label: "App", cell: (c) => (c.app ? `${c.tenant}/${c.app}` : "–") },
      { label: "Consumer key", cell: (c) => h("span", { class: "mono" }, c.key_id || "–") },
      { label: "Attempts", cell: (c) => (c.attempts.length ? c.attempts.map((a) => `${a.key_id} ${a.status || "–"}`).join(" → ") : "none") },
      { label: "Latency", num: true, cell: (c) => ms(c.latency_ms) },
      { label: "Tokens", num: true, cell: (c) => int(c.total_tokens) },
      { label: "Cost", num: true, cell: (c) => usd(c.cost) },
      {
        label: "Detail",
        cell: (c) => h("a", { href: ctx.hashFor("logs", [c.request_id], query), "aria-label": `Detail of ${c.request_id}` }, c.request_id),
      },
    ],
    rows,
    { caption: "Calls, newest first", empty: "No call matches these filters." },
  );
}

async function detail(root, ctx, requestId) {
  const page = await get("/admin/calls", { request_id: requestId, tenant: ctx.tenant || undefined, limit: 1 });
  const back = h("a", { href: ctx.hashFor("logs", [], ctx.query) }, "← Back to the calls");
  const c = page.calls[0];
  if (!c) {
    replace(root, back, h("p", { class: "error", role: "alert" }, `No call ${requestId} here.`));
    return;
  }
  const upstream = c.upstream_ms ?? 0;
  const facts = [
    ["Request id", h("span", { class: "mono" }, c.request_id)],
    ["Time", timeTag(c.ts)],
    ["Status", [statusBadge(c.status), c.error_type ? ` ${c.error_type} / ${c.error_code}` : ""]],
    ["Refused by the limit of", c.limit_scope || null],
    ["Tenant / app", c.app ? `${c.tenant}/${c.app}` : "–"],
    ["Consumer key", h("span", { class: "mono" }, c.key_id || "–")],
    ["Route", c.route || "–"],
    ["Model asked / served", `${c.model || "–"} / ${c.served_model || "–"}`],
    ["Deployment", c.deployment || "–"],
    ["Streamed", c.streamed ? "yes" : "no"],
    ["Client", `${c.client || "–"} ${c.user_agent || ""}`],
  ].filter(([, v]) => v !== null);
  const latency = [
    ["Total", ms(c.latency_ms)],
    ["First byte to the caller", ms(c.ttfb_ms)],
    ["Waiting on providers (all attempts)", c.upstream_ms === null ? "no provider called" : ms(upstream)],
    ["In aigw", ms(Math.max(0, c.latency_ms - upstream))],
  ];
  const attempts = table(
    [
      { label: "#", num: true, cell: (a) => String(c.attempts.indexOf(a) + 1) },
      { label: "Provider key", cell: (a) => h("span", { class: "mono" }, `${a.provider}/${a.key_id}`) },
      { label: "Status", cell: (a) => (a.status ? statusBadge(a.status) : "no answer") },
      { label: "Latency", num: true, cell: (a) => ms(a.latency_ms) },
      {
        label: "What aigw did",
        cell: (a) => {
          const moved = c.attempts.indexOf(a) < c.attempts.length - 1;
          const what = OUTCOMES[a.outcome] || `no answer (${a.outcome.replaceAll("_", " ")})`;
          return [h("strong", {}, a.outcome), ` — ${what}`, moved ? "; moved on to the next key" : ""];
        },
      },
    ],
    c.attempts,
    { caption: "Attempts, in order", empty: "No provider was called (refused before, or answered by aigw itself)." },
  );
  const usage = [
    ["Prompt tokens", int(c.prompt_tokens)],
    ["of which cached", int(c.cached_tokens)],
    ["Completion tokens", int(c.completion_tokens)],
    ["Total tokens", int(c.total_tokens)],
    ["Cost", usd(c.cost)],
  ];
  const dl = (pairs) => h("dl", { class: "fields" }, pairs.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
  replace(
    root,
    back,
    h("div", { class: "grid", style: { marginTop: ".75rem" } }, panel("Call", dl(facts)), h("div", {}, panel("Latency", dl(latency)), panel("Tokens and cost", dl(usage)))),
    panel(`Attempts (${c.attempts.length})`, attempts),
    panel(
      "Captured bodies",
      c.request_body || c.response_body
        ? [h("h3", {}, "Request"), h("pre", {}, pretty(c.request_body)), h("h3", {}, "Response"), h("pre", {}, pretty(c.response_body))]
        : h("p", { class: "muted" }, "Not captured: body capture is off for this model group (calllog.capture)."),
    ),
  );
}

function pretty(body) {
  if (!body) return "(empty)";
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

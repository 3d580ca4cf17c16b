// Budgets and rate limits: what each allows, what has been used against it, and an editor that
// replaces a subject's rules (as PUT /admin/budgets|limits/{scope}/{subject} does).
import { get, put, seg } from "../api.js";
import { actionButton, field, form, h, int, meter, panel, replace, select, table, usd } from "../dom.js";

const BUDGET_FIELDS = [
  { name: "kind", options: ["requests", "tokens", "cost"] },
  { name: "amount", type: "number", label: "Amount (cost: micro-USD)" },
  { name: "period", options: ["day", "month", "lifetime"] },
];
const LIMIT_FIELDS = [
  { name: "kind", options: ["requests", "tokens"] },
  { name: "amount", type: "number", label: "Amount" },
  { name: "period_s", type: "number", label: "Per (seconds)" },
  { name: "burst", type: "number", label: "Burst (optional)", optional: true },
];

export async function render(root, ctx) {
  const tenant = ctx.tenant || undefined;
  const [budgets, limits, keys] = await Promise.all([
    get("/admin/budgets"),
    get("/admin/limits"),
    get("/admin/keys", { tenant }),
  ]);
  // An operator looking at one tenant sees that tenant's (a tenant token gets only its own anyway).
  const keyTenant = Object.fromEntries(keys.map((k) => [k.id, k.tenant]));
  const ofTenant = (r) =>
    !tenant ||
    (r.scope === "tenant" && r.subject === tenant) ||
    (r.scope === "app" && r.subject.startsWith(`${tenant}/`)) ||
    (r.scope === "key" && keyTenant[r.subject] === tenant);
  const shownBudgets = budgets.filter(ofTenant);
  const shownLimits = limits.filter((r) => r.scope === "model" ? !tenant : ofTenant(r));
  const uses = await Promise.all(shownLimits.map((r) => limitUse(r, ctx)));
  const subjectTenant = (scope, subject) =>
    scope === "tenant" ? subject : scope === "app" ? subject.split("/")[0] : scope === "key" ? keyTenant[subject] : null;
  const manage = (scope, subject) => ctx.can("admin", subjectTenant(scope, subject));

  const budgetEditor = editor("budgets", ["tenant", "app", "key"], BUDGET_FIELDS, ctx, () => render(root, ctx));
  const limitEditor = editor("limits", ["tenant", "app", "key", "model"], LIMIT_FIELDS, ctx, () => render(root, ctx));
  const editButton = (which, scope, subject, rules) =>
    manage(scope, subject)
      ? actionButton("Edit", async () => which.load(scope, subject, rules), { title: `Edit the ${scope} ${subject}'s rules` })
      : "";

  const budgetTable = table(
    [
      { label: "Subject", cell: (b) => `${b.scope} ${b.subject}` },
      { label: "Kind", cell: (b) => b.kind },
      { label: "Used of amount", cell: (b) => budgetMeter(b) },
      { label: "Period", cell: (b) => b.period },
      { label: "Resets", cell: (b) => (b.resets_at ? new Date(b.resets_at).toLocaleString() : "never") },
      { label: "", cell: (b) => editButton(budgetEditor, b.scope, b.subject, budgets.filter((o) => o.scope === b.scope && o.subject === b.subject)) },
    ],
    shownBudgets,
    { caption: "Budgets", empty: "No budgets." },
  );
  const limitTable = table(
    [
      { label: "Subject", cell: (r) => `${r.scope} ${r.subject}` },
      { label: "Allows", cell: (r) => `${int(r.amount)} ${r.kind} per ${r.period_s} s (burst ${int(r.burst)})` },
      { label: "Used per period, lately", cell: (r) => uses[shownLimits.indexOf(r)] },
      { label: "", cell: (r) => editButton(limitEditor, r.scope, r.subject, limits.filter((o) => o.scope === r.scope && o.subject === r.subject)) },
    ],
    shownLimits,
    { caption: "Rate limits", empty: "No rate limits." },
  );
  const canEdit = ctx.who.isOperator || ctx.can("admin");
  replace(
    root,
    panel("Budgets", h("p", { class: "muted" }, "Use in the current period, counted by this node."), budgetTable),
    panel("Rate limits", h("p", { class: "muted" }, "Use over the last period (at least a minute, from the analytics rollups), against what the limit allows in one period."), limitTable),
    canEdit ? h("div", { class: "grid" }, budgetEditor.node, limitEditor.node) : null,
  );
}

function budgetMeter(b) {
  if (b.used === null || b.used === undefined) return "unknown on this listener";
  const format = b.kind === "cost" ? (n) => usd(n / 1e6) : int;
  return meter(`Used of the ${b.scope} ${b.subject}'s ${b.kind} budget`, b.used, b.amount, { used: true, format });
}

// Calls or tokens over the limit's period (a minute at least: the rollups' finest grain).
async function limitUse(r, ctx) {
  const filter = { tenant: ctx.tenant || undefined };
  if (r.scope === "tenant") filter.tenant = r.subject;
  else if (r.scope === "app") [filter.tenant, filter.app] = [r.subject.split("/")[0], r.subject.split("/").slice(1).join("/")];
  else if (r.scope === "key") filter.key_id = r.subject;
  else if (r.scope === "model") filter.model = r.subject;
  else return "–";
  const window = Math.max(60, r.period_s);
  const summary = await get("/admin/stats/summary", { ...filter, since: `${window}s`, grain: window >= 86400 ? "hour" : "minute" });
  const used = r.kind === "requests" ? summary.totals.calls : summary.totals.total_tokens;
  const perPeriod = Math.round((used * r.period_s) / window);
  return meter(`Use of the ${r.scope} ${r.subject}'s ${r.kind} limit`, perPeriod, r.amount, { used: true, format: int });
}

// Replaces every rule of one subject: rows of fields, added and removed freely, then saved.
function editor(kind, scopes, fields, ctx, reload) {
  const scope = select("scope", scopes);
  const subject = h("input", { name: "subject", required: true, placeholder: "tenant, tenant/app, key id or model group" });
  const rows = h("tbody");
  const addRow = (rule = {}) => {
    const inputs = fields.map((f) => {
      const input = f.options ? select(f.name, f.options, rule[f.name]) : h("input", { name: f.name, type: f.type, min: "1", value: rule[f.name] ?? "", required: !f.optional });
      input.setAttribute("aria-label", f.label || f.name);
      return input;
    });
    const tr = h("tr", {}, inputs.map((i) => h("td", {}, i)), h("td", {}, h("button", { type: "button", class: "danger", onclick: () => tr.remove() }, "Remove")));
    tr.read = () => Object.fromEntries(
      fields.map((f, i) => [f.name, f.type === "number" ? (inputs[i].value === "" ? null : Number(inputs[i].value)) : inputs[i].value])
        .filter(([, v]) => v !== null),
    );
    rows.append(tr);
  };
  const node = panel(
    kind === "budgets" ? "Set budgets" : "Set rate limits",
    form(
      { "aria-label": kind === "budgets" ? "Set budgets" : "Set rate limits" },
      [
        h("div", { class: "row" }, field("Scope", scope), field("Subject", subject)),
        h("div", { class: "scroll" }, h("table", {}, h("thead", {}, h("tr", {}, fields.map((f) => h("th", { scope: "col" }, f.label || f.name)), h("th"))), rows)),
        h("div", { class: "actions", style: { margin: ".5rem 0" } }, h("button", { type: "button", class: "secondary", onclick: () => addRow() }, "Add rule")),
        h("p", { class: "muted" }, "Saving replaces every rule of this subject; no rules removes them all. Every worker applies them within a second."),
      ],
      async () => {
        await put(`/admin/${kind}/${seg(scope.value)}/${seg(subject.value)}`, [...rows.children].map((tr) => tr.read()));
        await reload();
      },
      "Save",
    ),
  );
  addRow();
  return {
    node,
    load(s, subj, rules) {
      scope.value = s;
      subject.value = subj;
      rows.replaceChildren();
      rules.forEach(addRow);
      node.scrollIntoView();
      subject.focus();
    },
  };
}

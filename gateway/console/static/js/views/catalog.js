// The catalog (published services of every tenant), subscribing an app to one, and the approval
// queue of the services this tenant owns.
import { get, post } from "../api.js";
import { actionButton, badge, field, form, h, panel, replace, select, table, timeTag } from "../dom.js";

export async function render(root, ctx) {
  const tenant = ctx.tenant || undefined;
  const [catalog, subscriptions, apps] = await Promise.all([
    get("/admin/catalog"),
    get("/admin/subscriptions", { tenant }),
    get("/admin/apps", { tenant }),
  ]);
  const reload = () => render(root, ctx);
  const myApps = apps.filter((a) => ctx.can("developer", a.tenant));
  const queue = subscriptions.filter((s) => s.state === "pending" && ctx.can("admin", s.service_tenant));

  const decide = (s) => {
    const reason = h("input", { name: "reason", placeholder: "Reason (shown to the subscriber)", "aria-label": `Reason for ${s.tenant}/${s.app}`, size: 24 });
    const send = (action) => async () => {
      await post(`/admin/subscriptions/${s.id}/${action}`, { reason: reason.value });
      await reload();
    };
    return h("div", { class: "actions" }, reason,
      actionButton("Approve", send("approve"), { kind: "", done: `Approved ${s.tenant}/${s.app} → ${s.service}.` }),
      actionButton("Reject", send("reject"), { kind: "danger", done: `Rejected ${s.tenant}/${s.app} → ${s.service}.` }));
  };

  const approvals = panel(
    "Approval queue",
    table(
      [
        { label: "Service", cell: (s) => s.service },
        { label: "App", cell: (s) => `${s.tenant}/${s.app}` },
        { label: "Asked", cell: (s) => timeTag(s.created_at) },
        { label: "Decision", cell: decide },
      ],
      queue,
      { caption: "Subscriptions waiting for approval", empty: "Nothing waits for your approval." },
    ),
  );

  const all = panel(
    "Subscriptions",
    table(
      [
        { label: "Service", cell: (s) => `${s.service_tenant}/${s.service}` },
        { label: "App", cell: (s) => `${s.tenant}/${s.app}` },
        { label: "State", cell: (s) => badge(s.state) },
        { label: "Reason", cell: (s) => s.reason || "–" },
        { label: "Decided", cell: (s) => (s.decided_at ? [timeTag(s.decided_at), ` by ${s.decided_by}`] : "–") },
        {
          label: "Actions",
          cell: (s) =>
            s.state === "approved" || s.state === "pending"
              ? ctx.can("developer", s.tenant) || ctx.can("admin", s.service_tenant)
                ? actionButton("Revoke", async () => {
                    await post(`/admin/subscriptions/${s.id}/revoke`, {});
                    await reload();
                  }, { kind: "danger", done: "Subscription revoked." })
                : ""
              : "",
        },
      ],
      subscriptions,
      { caption: "Subscriptions", empty: "No subscriptions yet." },
    ),
  );

  const subscribe = (entry) =>
    myApps.length
      ? form(
          { class: "row", "aria-label": `Subscribe to ${entry.name}` },
          [field("App", select("app", myApps.map((a) => [`${a.tenant}/${a.name}`, `${a.tenant}/${a.name}`])))],
          async (values) => {
            const [appTenant, ...name] = values.app.split("/");
            await post("/admin/subscriptions", { service: entry.name, app: name.join("/"), tenant: appTenant });
            await reload();
          },
          "Subscribe",
        )
      : null;

  const catalogPanel = panel(
    "Catalog",
    catalog.length
      ? catalog.map((entry) =>
          h(
            "article",
            { class: "panel", "aria-label": `Service ${entry.name}` },
            h("h3", {}, entry.name, " ", h("span", { class: "muted" }, `by ${entry.tenant}`)),
            h("p", {}, entry.description || h("span", { class: "muted" }, "No description."), " ",
              entry.approval ? badge("approval required", "warn") : badge("open", "ok")),
            h("p", { class: "muted" },
              `Versions: ${entry.versions.map((v) => `v${v.version} (${v.kind}, ${v.state})`).join(", ")}. ` +
              `Limits: ${entry.limits.length ? entry.limits.map((l) => `${l.amount} ${l.kind}/${l.period_s}s`).join(", ") : "none"}.`),
            subscribe(entry),
          ),
        )
      : h("p", { class: "muted" }, "No published services yet."),
  );
  replace(root, queue.length || ctx.can("admin") ? approvals : null, all, catalogPanel);
}

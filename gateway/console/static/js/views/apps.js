// Apps and their consumer keys: long-lived keys, temporary keys (TTL and caps), rotation with an
// overlap, revocation. A new key is shown once, as the API gives it once.
import { get, post, seg } from "../api.js";
import {
  actionButton, badge, confirmDialog, field, form, h, panel, replace, select, shownOnce, table, timeTag,
} from "../dom.js";

export async function render(root, ctx) {
  const tenant = ctx.tenant || undefined;
  const develop = ctx.can("developer");
  const created = h("div", { id: "new-key" });
  const appsBox = h("div");
  const keysBox = h("div");
  let apps = [];

  async function redraw() {
    const [appList, keys] = await Promise.all([get("/admin/apps", { tenant }), get("/admin/keys", { tenant })]);
    apps = appList;
    replace(
      appsBox,
      table(
        [
          { label: "App", cell: (a) => `${a.tenant}/${a.name}` },
          { label: "May call", cell: (a) => (a.models.includes("*") ? "every model group" : a.models.join(", ") || "services it subscribes to") },
          { label: "Created", cell: (a) => timeTag(a.created_at) },
        ],
        apps,
        { caption: "Apps", empty: "No apps yet." },
      ),
    );
    replace(keysBox, keyTable(keys));
  }

  const show = (title, made) => replace(created, shownOnce(title, made.key, `Copy it now: only its hash is stored (${made.record.id}).`));
  const keyTable = (keys) =>
    table(
      [
        { label: "Key", cell: (k) => [h("span", { class: "mono" }, `${k.prefix}…`), h("div", { class: "muted mono" }, k.id)] },
        { label: "App", cell: (k) => `${k.tenant}/${k.app}` },
        { label: "Name", cell: (k) => k.name || "–" },
        { label: "State", cell: (k) => keyState(k) },
        { label: "Caps", cell: (k) => caps(k) },
        { label: "Created", cell: (k) => timeTag(k.created_at) },
        develop
          ? {
              label: "Actions",
              cell: (k) =>
                k.revoked_at
                  ? ""
                  : h(
                      "div",
                      { class: "actions" },
                      k.temporary
                        ? null
                        : actionButton("Rotate", async () => {
                            show(`New key for ${k.tenant}/${k.app} (the old one works one more hour)`, await post(`/admin/keys/${seg(k.id)}/rotate`, { overlap_s: 3600 }));
                            await redraw();
                          }),
                      actionButton("Revoke", async () => {
                        if (await confirmDialog(`Revoke ${k.prefix}…? Every worker refuses it within a second.`, "Revoke")) {
                          await post(`/admin/keys/${seg(k.id)}/revoke`);
                          await redraw();
                        }
                      }, { kind: "danger" }),
                    ),
            }
          : null,
      ].filter(Boolean),
      keys,
      { caption: "Consumer keys", empty: "No consumer keys yet." },
    );

  await redraw();
  const appChoice = () => select("app", apps.map((a) => [`${a.tenant}/${a.name}`, `${a.tenant}/${a.name}`]));
  const appOf = (value) => {
    const [t, ...name] = value.split("/");
    return { tenant: t, app: name.join("/") };
  };
  const forms = develop
    ? [
        panel(
          "New app",
          form(
            { class: "row", "aria-label": "Create an app" },
            [
              ctx.who.isOperator && !ctx.tenant ? field("Tenant", select("tenant", ctx.tenants)) : null,
              field("Name", h("input", { name: "name", required: true })),
              field("Model groups it may call (comma-separated, * for all)", h("input", { name: "models", value: "*" })),
            ],
            async (values) => {
              const models = values.models.split(",").map((m) => m.trim()).filter(Boolean);
              await post("/admin/apps", { tenant: values.tenant || ctx.tenant, name: values.name, models });
              await render(root, ctx); // every app picker lists it
            },
            "Create app",
          ),
        ),
        panel(
          "New consumer key",
          form(
            { class: "row", "aria-label": "Create a consumer key" },
            [field("App", appChoice()), field("Name (optional)", h("input", { name: "name" }))],
            async (values, el) => {
              show(`New key for ${values.app}`, await post("/admin/keys", { ...appOf(values.app), name: values.name || null }));
              el.reset();
              await redraw();
            },
            "Create key",
          ),
          h("h3", {}, "Temporary key"),
          form(
            { class: "row", "aria-label": "Create a temporary key" },
            [
              field("App", appChoice()),
              field("Valid for (minutes)", h("input", { name: "minutes", type: "number", min: "1", value: "60", required: true })),
              field("At most requests", h("input", { name: "max_requests", type: "number", min: "1" })),
              field("At most tokens", h("input", { name: "max_tokens", type: "number", min: "1" })),
              field("Only model groups (comma-separated)", h("input", { name: "models" })),
              field("Only from networks (CIDR, comma-separated)", h("input", { name: "networks" })),
            ],
            async (values, el) => {
              const list = (text) => (text ? text.split(",").map((v) => v.trim()).filter(Boolean) : null);
              const allowed = {};
              if (list(values.models)) allowed.models = list(values.models);
              if (list(values.networks)) allowed.networks = list(values.networks);
              const body = { ...appOf(values.app), ttl_s: Number(values.minutes) * 60 };
              if (values.max_requests) body.max_requests = Number(values.max_requests);
              if (values.max_tokens) body.max_tokens = Number(values.max_tokens);
              if (Object.keys(allowed).length) body.allowed = allowed;
              show(`Temporary key for ${values.app}`, await post("/admin/temporary-keys", body));
              el.reset();
              await redraw();
            },
            "Create temporary key",
          ),
        ),
      ]
    : [];
  replace(root, created, panel("Apps", appsBox), panel("Consumer keys", keysBox), forms);
}

function keyState(k) {
  const now = Date.now() / 1000;
  if (k.revoked_at) return badge("revoked");
  if (k.expires_at && k.expires_at <= now) return badge("expired");
  if (k.expires_at) return [badge(k.temporary ? "temporary" : "expiring", "warn"), h("div", { class: "muted" }, "until ", timeTag(k.expires_at))];
  return badge("active");
}

function caps(k) {
  const parts = [];
  if (k.max_requests) parts.push(`${k.max_requests} requests`);
  if (k.max_tokens) parts.push(`${k.max_tokens} tokens`);
  if (k.allowed?.models) parts.push(`models: ${k.allowed.models.join(", ")}`);
  if (k.allowed?.services) parts.push(`services: ${k.allowed.services.join(", ")}`);
  if (k.allowed?.networks) parts.push(`from ${k.allowed.networks.join(", ")}`);
  return parts.length ? parts.join("; ") : "–";
}

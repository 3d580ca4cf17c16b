// Tenants, their members and roles, admin tokens and the audit log.
import { get, post, put, del, seg } from "../api.js";
import {
  actionButton, badge, confirmDialog, field, form, h, panel, replace, select, shownOnce, table, timeTag,
} from "../dom.js";

const ROLES = ["viewer", "developer", "admin", "owner"];

export async function render(root, ctx) {
  const tenants = await get("/admin/tenants");
  const parts = [];
  if (ctx.who.isOperator) parts.push(tenantsPanel(tenants, ctx));
  if (ctx.tenant) parts.push(...(await tenantPanels(ctx.tenant, ctx)));
  else parts.push(h("p", { class: "muted" }, "Choose a tenant at the top to see its members, tokens and audit log."));
  replace(root, parts);
}

function tenantsPanel(tenants, ctx) {
  return panel(
    "Tenants",
    table(
      [
        { label: "Tenant", cell: (t) => t.name },
        { label: "Created", cell: (t) => timeTag(t.created_at) },
      ],
      tenants,
      { caption: "Tenants", empty: "No tenants yet." },
    ),
    h("h3", {}, "New tenant"),
    form(
      { class: "row", "aria-label": "Create a tenant" },
      [field("Name", h("input", { name: "name", required: true, pattern: "[A-Za-z0-9][A-Za-z0-9._\\-]{0,63}" }))],
      async (values) => {
        await post("/admin/tenants", { name: values.name });
        location.reload(); // the tenant picker at the top lists it from the next load
      },
      "Create tenant",
    ),
  );
}

async function tenantPanels(tenant, ctx) {
  const manage = ctx.can("admin");
  const own = ctx.can("owner");
  const [members, tokens, audit] = await Promise.all([
    get(`/admin/tenants/${seg(tenant)}/members`),
    manage ? get("/admin/tokens", { tenant }) : null,
    manage ? get("/admin/audit", { tenant, limit: 50 }) : null,
  ]);
  const membersBox = h("div");
  const redraw = async () => replace(membersBox, memberTable(await get(`/admin/tenants/${seg(tenant)}/members`)));
  const memberTable = (list) =>
    table(
      [
        { label: "User", cell: (m) => m.user },
        {
          label: "Role",
          cell: (m) => {
            if (!own) return badge(m.role, "off");
            const role = select("role", ROLES, m.role);
            role.setAttribute("aria-label", `Role of ${m.user}`);
            role.addEventListener("change", async () => {
              await put(`/admin/tenants/${seg(tenant)}/members/${seg(m.user)}`, { role: role.value });
              await redraw();
            });
            return role;
          },
        },
        { label: "Member since", cell: (m) => timeTag(m.created_at) },
        own
          ? {
              label: "Actions",
              cell: (m) =>
                actionButton("Remove", async () => {
                  if (await confirmDialog(`Remove ${m.user} from ${tenant}? Their tokens stop working at once.`, "Remove")) {
                    await del(`/admin/tenants/${seg(tenant)}/members/${seg(m.user)}`);
                    await redraw();
                  }
                }, { kind: "danger" }),
            }
          : null,
      ].filter(Boolean),
      list,
      { caption: `Members of ${tenant}` },
    );
  replace(membersBox, memberTable(members));
  const parts = [
    panel(
      `Members of ${tenant}`,
      membersBox,
      own
        ? [
            h("h3", {}, "Add a member or change a role"),
            form(
              { class: "row", "aria-label": "Add a member" },
              [field("User", h("input", { name: "user", required: true })), field("Role", select("role", ROLES, "developer"))],
              async (values, el) => {
                await put(`/admin/tenants/${seg(tenant)}/members/${seg(values.user)}`, { role: values.role });
                el.reset();
                await redraw();
              },
              "Save member",
            ),
          ]
        : null,
    ),
  ];
  if (tokens) parts.push(tokensPanel(tenant, tokens, members, own));
  if (audit) {
    parts.push(
      panel(
        "Audit log (latest 50)",
        table(
          [
            { label: "When", cell: (e) => timeTag(e.ts) },
            { label: "Who", cell: (e) => e.actor },
            { label: "What", cell: (e) => h("span", { class: "mono" }, `${e.method} ${e.path}`) },
            { label: "Status", num: true, cell: (e) => String(e.status) },
            { label: "From", cell: (e) => e.client },
          ],
          audit,
          { caption: "Audit log" },
        ),
      ),
    );
  }
  return parts;
}

function tokensPanel(tenant, tokens, members, own) {
  const box = h("div");
  const created = h("div");
  const redraw = async () => replace(box, tokenTable(await get("/admin/tokens", { tenant })));
  const tokenTable = (list) =>
    table(
      [
        { label: "Token", cell: (t) => h("span", { class: "mono" }, `${t.prefix}…`) },
        { label: "User", cell: (t) => t.user },
        { label: "Created", cell: (t) => timeTag(t.created_at) },
        { label: "Expires", cell: (t) => (t.expires_at ? timeTag(t.expires_at) : "never") },
        { label: "State", cell: (t) => badge(t.revoked_at ? "revoked" : t.expires_at && t.expires_at < Date.now() / 1000 ? "expired" : "active") },
        own
          ? {
              label: "Actions",
              cell: (t) =>
                t.revoked_at
                  ? ""
                  : actionButton("Revoke", async () => {
                      await post(`/admin/tokens/${seg(t.id)}/revoke`);
                      await redraw();
                    }, { kind: "danger", done: "Token revoked." }),
            }
          : null,
      ].filter(Boolean),
      list,
      { caption: "Admin tokens", empty: "No admin tokens for this tenant." },
    );
  replace(box, tokenTable(tokens));
  return panel(
    "Admin tokens",
    box,
    own
      ? [
          h("h3", {}, "New token for a member"),
          form(
            { class: "row", "aria-label": "Create an admin token" },
            [
              field("Member", select("user", members.map((m) => m.user))),
              field("Expires after (hours, optional)", h("input", { name: "hours", type: "number", min: "0.01", step: "any" })),
            ],
            async (values) => {
              const body = { user: values.user, tenant };
              if (values.hours) body.ttl_s = Number(values.hours) * 3600;
              const made = await post("/admin/tokens", body);
              replace(created, shownOnce(`Admin token for ${values.user}`, made.token));
              await redraw();
            },
            "Create token",
          ),
          created,
        ]
      : null,
  );
}

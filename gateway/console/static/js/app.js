// The console's shell: sign-in, the navigation, the tenant the views are scoped to, and the
// router (#/view/param?filters) that loads each view's module when it is first shown.
import { api, get, session, whenUnauthorized } from "./api.js";
import { announce, h, replace } from "./dom.js";

const ROLES = ["viewer", "developer", "admin", "owner"];
const TENANT_KEY = "aigw.console.tenant";

// `operator`: node-wide views, which the admin API gives to operators only.
const VIEWS = [
  { path: "overview", title: "Overview", load: () => import("./views/overview.js") },
  { path: "keys", title: "Key pools", operator: true, load: () => import("./views/keypools.js") },
  { path: "logs", title: "Logs", load: () => import("./views/logs.js") },
  { path: "team", title: "Tenants & members", load: () => import("./views/team.js") },
  { path: "apps", title: "Apps & keys", load: () => import("./views/apps.js") },
  { path: "services", title: "Services", load: () => import("./views/services.js") },
  { path: "catalog", title: "Catalog & subscriptions", load: () => import("./views/catalog.js") },
  { path: "budgets", title: "Budgets & limits", load: () => import("./views/budgets.js") },
];

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const whoBox = document.getElementById("who");
let current = null; // the shown view's handle: {stop()} for views that poll
let ctx = null;
let shown = 0; // counts routes: a view that finishes loading after a newer one started is dropped

// What the signed-in principal may do: the admin API's rule (gateway/admin/access.py), used to
// show only what the API would allow. The API decides; this only spares the user a refusal.
class Principal {
  constructor(who) {
    Object.assign(this, who);
  }
  get isOperator() {
    return this.tenant === null;
  }
  can(least, tenant) {
    if (this.isOperator) return true;
    if (!tenant || tenant !== this.tenant) return false;
    return ROLES.indexOf(this.role) >= ROLES.indexOf(least);
  }
}

function parseHash() {
  const [route, search = ""] = location.hash.replace(/^#\/?/, "").split("?");
  const [path, ...params] = route.split("/").map(decodeURIComponent);
  return { path: path || "overview", params, query: Object.fromEntries(new URLSearchParams(search)) };
}

export function hashFor(path, params = [], query = {}) {
  const given = Object.entries(query).filter(([, v]) => v !== "" && v !== null && v !== undefined);
  const search = given.length ? `?${new URLSearchParams(given)}` : "";
  return `#/${[path, ...params].map(encodeURIComponent).join("/")}${search}`;
}

async function route() {
  if (!ctx) return;
  if (current && current.stop) current.stop();
  current = null;
  const mine = ++shown;
  const { path, params, query } = parseHash();
  const view = VIEWS.find((v) => v.path === path && (!v.operator || ctx.who.isOperator)) || VIEWS[0];
  for (const link of nav.querySelectorAll("a")) {
    if (link.dataset.view === view.path) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${view.title} · aigw console`;
  main.setAttribute("aria-busy", "true");
  const heading = h("h1", { tabindex: "-1" }, view.title);
  const body = h("div");
  replace(main, heading, body);
  let handle = null;
  try {
    const module = await view.load();
    handle = await module.render(body, { ...ctx, params, query });
  } catch (failure) {
    replace(body, h("p", { class: "error", role: "alert" }, failure.message));
  }
  if (mine !== shown) {
    if (handle && handle.stop) handle.stop();
    return;
  }
  current = handle;
  main.dataset.view = view.path;
  main.setAttribute("aria-busy", "false");
  if (document.activeElement === document.body || nav.contains(document.activeElement)) heading.focus();
}

function signIn(message) {
  ctx = null;
  if (current && current.stop) current.stop();
  nav.hidden = true;
  whoBox.hidden = true;
  const input = h("input", { type: "password", name: "token", id: "token", required: true, autocomplete: "off", spellcheck: "false" });
  const error = h("p", { class: "error", role: "alert", hidden: !message }, message || "");
  const form = h(
    "form",
    { class: "panel signin", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in to aigw"),
    h("p", { class: "muted" }, "With an admin token: the operator's, or one a tenant's owner gave you (", h("code", {}, "aigw tokens create"), "). It is kept in this tab only."),
    h("label", { for: "token" }, "Admin token", input),
    h("div", { class: "row" }, h("button", { type: "submit" }, "Sign in")),
    error,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const who = await api("GET", "/admin/whoami", { token: input.value.trim() });
      session.set(input.value.trim());
      await start(who);
    } catch (failure) {
      error.textContent = failure.status === 401 ? "That token is not valid (unknown, revoked or expired)." : failure.message;
      error.hidden = false;
      input.focus();
    }
  });
  replace(main, form);
  main.dataset.view = "signin";
  main.setAttribute("aria-busy", "false");
  document.title = "Sign in · aigw console";
  input.focus();
}

async function start(whoami) {
  const who = new Principal(whoami);
  let tenant = who.tenant;
  let tenants = [];
  if (who.isOperator) {
    tenants = (await get("/admin/tenants")).map((t) => t.name);
    tenant = sessionStorage.getItem(TENANT_KEY) || "";
    if (tenant && !tenants.includes(tenant)) tenant = "";
  }
  ctx = { who, tenant, tenants, can: (least, t = ctx.tenant) => who.can(least, t), hashFor };
  replace(
    nav,
    VIEWS.filter((v) => !v.operator || who.isOperator).map((v) =>
      h("a", { href: hashFor(v.path), dataset: { view: v.path } }, v.title),
    ),
  );
  const scope = who.isOperator
    ? h(
        "label",
        { class: "inline" },
        h("span", { class: "sr-only" }, "Tenant"),
        h(
          "select",
          {
            id: "tenant-scope",
            onchange: (event) => {
              sessionStorage.setItem(TENANT_KEY, event.target.value);
              ctx.tenant = event.target.value;
              route();
            },
          },
          h("option", { value: "", selected: tenant === "" }, "All tenants"),
          tenants.map((t) => h("option", { value: t, selected: t === tenant }, t)),
        ),
      )
    : h("span", {}, "tenant ", h("strong", { id: "tenant-name" }, who.tenant));
  replace(
    whoBox,
    h("span", { id: "whoami" }, h("strong", {}, who.user), ` (${who.isOperator ? "operator" : who.role})`),
    scope,
    h("button", { type: "button", class: "secondary", onclick: signOut }, "Sign out"),
  );
  nav.hidden = false;
  whoBox.hidden = false;
  await route();
}

function signOut() {
  session.clear();
  sessionStorage.removeItem(TENANT_KEY);
  signIn("Signed out.");
}

whenUnauthorized((failure) => {
  session.clear();
  signIn(`Signed out: ${failure.message}`);
});
window.addEventListener("hashchange", route);
window.addEventListener("unhandledrejection", (event) => announce(String(event.reason?.message || event.reason), { error: true }));

if (session.token) {
  api("GET", "/admin/whoami")
    .then(start)
    .catch((failure) => (failure.status === 401 ? null : signIn(failure.message)));
} else {
  signIn();
}

// Building the page: elements are made with h(), and text always goes in as text (never as
// HTML), so nothing the API returns can become markup or script.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    // Through the CSSOM: the CSP forbids style attributes, not style properties.
    else if (name === "style") Object.assign(el.style, value);
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name in el && typeof value !== "string") el[name] = value;
    else el.setAttribute(name, value === true ? "" : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// -- formatting ----------------------------------------------------------------------------------

const intFmt = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
export const int = (n) => (n === null || n === undefined ? "–" : intFmt.format(n));
export const compact = (n) =>
  n === null || n === undefined ? "–" : new Intl.NumberFormat(undefined, { notation: "compact" }).format(n);
export const usd = (n) =>
  n === null || n === undefined ? "–" : `$${n < 1 ? n.toFixed(4) : n.toFixed(2)}`;
export const ms = (n) => (n === null || n === undefined ? "–" : n < 10 ? `${n.toFixed(1)} ms` : `${Math.round(n)} ms`);
export const pct = (n) => (n === null || n === undefined ? "–" : `${(n * 100).toFixed(1)}%`);

export function when(unixSeconds) {
  if (!unixSeconds) return "–";
  return new Date(unixSeconds * 1000).toLocaleString(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
}

export function timeTag(unixSeconds) {
  if (!unixSeconds) return "–";
  return h("time", { datetime: new Date(unixSeconds * 1000).toISOString() }, when(unixSeconds));
}

export function seconds(s) {
  if (s === null || s === undefined) return "–";
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.round((s % 86400) / 3600)} h`;
}

// -- pieces -----------------------------------------------------------------------------------------

const TONES = {
  healthy: "ok", active: "ok", approved: "ok", published: "ok", ok: "ok",
  cooling: "warn", pending: "warn", deprecated: "warn", expiring: "warn", draft: "off",
  exhausted: "bad", invalid: "bad", rejected: "bad", unreachable: "bad", error: "bad",
  disabled: "off", revoked: "off", retired: "off", expired: "off",
};

export function badge(text, tone) {
  return h("span", { class: `badge ${tone || TONES[text] || "off"}` }, text);
}

export function statusBadge(status) {
  const tone = status < 400 ? "ok" : status === 429 || status < 500 ? "warn" : "bad";
  return badge(String(status), tone);
}

// A bar for `value` of `max`, with the numbers beside it for everyone (and as a meter's values
// for screen readers). `used`: the value is what is used (a full bar is bad), else what is left.
export function meter(label, value, max, { used = false, format = compact } = {}) {
  if (value === null || value === undefined || !max) return h("span", { class: "muted" }, "no current report");
  const share = Math.max(0, Math.min(1, value / max));
  const left = used ? 1 - share : share;
  const tone = left < 0.1 ? "low" : left < 0.35 ? "mid" : "";
  return h(
    "div",
    { class: "row", style: { alignItems: "center", flexWrap: "nowrap" } },
    h(
      "div",
      { class: `bar ${tone}`, role: "meter", "aria-label": label, "aria-valuemin": "0",
        "aria-valuemax": String(max), "aria-valuenow": String(value) },
      h("span", { style: { width: `${(share * 100).toFixed(1)}%` } }),
    ),
    h("span", { class: "mono" }, `${format(value)}${used ? " used" : " left"} of ${format(max)}`),
  );
}

export function table(columns, rows, { caption, empty = "Nothing here yet.", rowAttrs } = {}) {
  if (!rows.length) return h("p", { class: "muted" }, empty);
  return h(
    "div",
    { class: "scroll" },
    h(
      "table",
      {},
      caption ? h("caption", { class: "sr-only" }, caption) : null,
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.num ? "num" : null }, c.label)))),
      h(
        "tbody",
        {},
        rows.map((row) =>
          h("tr", rowAttrs ? rowAttrs(row) : {}, columns.map((c) => h("td", { class: c.num ? "num" : null }, c.cell(row)))),
        ),
      ),
    ),
  );
}

export function field(label, input) {
  return h("label", {}, label, input);
}

export function select(name, options, value) {
  return h(
    "select",
    { name },
    options.map((o) => {
      const [v, text] = Array.isArray(o) ? o : [o, o];
      return h("option", { value: v, selected: v === value }, text);
    }),
  );
}

// A form whose submit runs `action(values)`; the button is disabled while it runs and any API
// error is shown in the form, next to what caused it.
export function form(attrs, children, action, submitLabel) {
  const error = h("p", { class: "error", role: "alert", hidden: true });
  const submit = h("button", { type: "submit" }, submitLabel);
  const el = h("form", attrs, children, h("div", { class: "row" }, submit), error);
  el.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    submit.disabled = true;
    try {
      await action(Object.fromEntries(new FormData(el)), el);
    } catch (failure) {
      error.textContent = failure.message;
      error.hidden = false;
    } finally {
      submit.disabled = false;
    }
  });
  return el;
}

// A secret the API shows once (a consumer key, an admin token): shown here once too.
export function shownOnce(title, secret, note) {
  return h(
    "div",
    { class: "secret", role: "alert" },
    h("strong", {}, title),
    h("code", { "data-secret": "" }, secret),
    h("span", {}, note || "Copy it now: it is not stored and cannot be shown again."),
  );
}

let statusTimer;
export function announce(message, { error = false } = {}) {
  const el = document.getElementById("status");
  el.className = error ? "status error" : "status";
  el.textContent = message;
  clearTimeout(statusTimer);
  statusTimer = setTimeout(() => (el.textContent = ""), error ? 8000 : 4000);
}

// Runs an action from a button: disables it meanwhile, announces the outcome.
export function act(button, action, done) {
  return async () => {
    button.disabled = true;
    try {
      await action();
      if (done) announce(done);
    } catch (failure) {
      announce(failure.message, { error: true });
    } finally {
      button.disabled = false;
    }
  };
}

export function actionButton(label, action, { done, kind, title } = {}) {
  const button = h("button", { type: "button", class: kind || "secondary", title });
  button.textContent = label;
  button.addEventListener("click", act(button, action, done));
  return button;
}

// Asks before something that cannot be undone; resolves true when confirmed.
export function confirmDialog(question, confirmLabel) {
  return new Promise((resolve) => {
    const dialog = h(
      "dialog",
      { "aria-label": "Confirm" },
      h("p", {}, question),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "danger", onclick: () => close(true) }, confirmLabel),
        h("button", { type: "button", class: "secondary", onclick: () => close(false) }, "Cancel"),
      ),
    );
    const close = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    dialog.addEventListener("cancel", () => close(false));
    document.body.append(dialog);
    dialog.showModal();
  });
}

export function panel(title, ...children) {
  return h("section", { class: "panel", "aria-label": title }, h("h2", {}, title), children);
}

// A small modal form: resolves with its values, or null when cancelled.
export function askDialog(title, fields, submitLabel) {
  return new Promise((resolve) => {
    const inputs = fields.map((f) =>
      h("input", { name: f.name, type: f.type || "text", required: f.required !== false, autocomplete: "off" }),
    );
    const dialog = h("dialog", { "aria-label": title });
    const close = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    const body = h(
      "form",
      { method: "dialog" },
      h("h2", {}, title),
      fields.map((f, i) => field(f.label, inputs[i])),
      h(
        "div",
        { class: "actions", style: { marginTop: ".75rem" } },
        h("button", { type: "submit" }, submitLabel),
        h("button", { type: "button", class: "secondary", onclick: () => close(null) }, "Cancel"),
      ),
    );
    body.addEventListener("submit", (event) => {
      event.preventDefault();
      close(Object.fromEntries(new FormData(body)));
    });
    dialog.addEventListener("cancel", () => close(null));
    dialog.append(body);
    document.body.append(dialog);
    dialog.showModal();
  });
}

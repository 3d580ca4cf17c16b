// Key pools: every provider key's state, headroom and cooldown, its recent events, and what an
// operator can do to it. Polls the node each second while the tab is visible; rows are updated in
// place, so a button keeps its focus while the numbers change around it.
import { del, get, post, put, seg } from "../api.js";
import {
  actionButton, askDialog, badge, confirmDialog, field, form, h, meter, panel, replace, seconds, select, when,
} from "../dom.js";

const POLL_MS = 1000;
const EVENTS_KEPT = 10;
const id = (k) => `${k.provider}/${k.key_id}`;

export async function render(root, ctx) {
  let keys = [];
  let last = 0;
  let fetchedAt = 0;
  let stopped = false;
  let timer = null;
  const events = new Map(); // "provider/key" -> newest first
  const rows = new Map(); // "provider/key" -> {row, cells, buttons}
  const tables = h("div");
  const live = h("p", { class: "muted", id: "live" });

  function addEvents(list) {
    for (const e of list) {
      const mine = events.get(`${e.provider}/${e.key_id}`) || [];
      mine.unshift(e);
      events.set(`${e.provider}/${e.key_id}`, mine.slice(0, EVENTS_KEPT));
    }
  }

  async function refresh() {
    const [now, page] = await Promise.all([
      get("/admin/upstream-keys"),
      get("/admin/upstream-key-events", { after: last, limit: 1000 }),
    ]);
    if (page.last < last) events.clear(); // the node restarted: its numbering did too
    addEvents(page.events);
    last = page.last;
    const changed = now.map(id).join() !== keys.map(id).join();
    keys = now;
    fetchedAt = performance.now();
    if (changed) build();
    else keys.forEach(update);
    live.textContent = `Live: updated ${new Date().toLocaleTimeString()}.`;
  }

  function build() {
    rows.clear();
    const providers = [...new Set(keys.map((k) => k.provider))];
    replace(
      tables,
      providers.map((provider) => {
        const mine = keys.filter((k) => k.provider === provider);
        return panel(
          `Provider ${provider}`,
          h(
            "div",
            { class: "scroll" },
            h(
              "table",
              {},
              h("caption", { class: "sr-only" }, `Keys of provider ${provider}`),
              h(
                "thead",
                {},
                h(
                  "tr",
                  {},
                  ["Key", "State", "Requests left", "Tokens left", "In flight", "Back in", "Last event", "Actions"].map((c) =>
                    h("th", { scope: "col" }, c),
                  ),
                ),
              ),
              h("tbody", {}, mine.map(row)),
            ),
          ),
        );
      }),
      keys.length ? null : h("p", { class: "muted" }, "This node has no provider keys."),
    );
    keys.forEach(update);
  }

  function row(k) {
    const key = id(k);
    const cells = {
      state: h("td"), requests: h("td"), tokens: h("td"), inFlight: h("td", { class: "num" }),
      back: h("td", { class: "mono" }), event: h("td"),
    };
    const act = (action) => () => post(`/admin/upstream-keys/${seg(k.provider)}/${seg(k.key_id)}/${action}`).then(refresh);
    const buttons = {
      disable: actionButton("Disable", act("disable"), { kind: "danger", done: `Disabled ${key}.` }),
      enable: actionButton("Enable", act("enable"), { done: `Enabled ${key}.` }),
      reset: actionButton("Reset", act("reset"), { done: `Reset ${key}: healthy now.`, title: "Healthy now, cooldown cleared" }),
      rotate: actionButton("Rotate…", async () => {
        const given = await askDialog(`Rotate ${key}`, [{ name: "secret", label: "New secret", type: "password" }], "Rotate");
        if (given) {
          await put(`/admin/upstream-keys/${seg(k.provider)}/${seg(k.key_id)}`, { secret: given.secret });
          await refresh();
        }
      }, { done: null }),
      remove: actionButton("Remove", async () => {
        if (await confirmDialog(`Remove ${key}? No worker sends with it after a second.`, "Remove")) {
          await del(`/admin/upstream-keys/${seg(k.provider)}/${seg(k.key_id)}`);
          await refresh();
        }
      }, { kind: "danger" }),
    };
    for (const [name, button] of Object.entries(buttons)) button.setAttribute("aria-label", `${button.textContent.replace("…", "")} ${key}`);
    const tr = h(
      "tr",
      { dataset: { key } },
      h("th", { scope: "row" }, h("span", { class: "mono" }, k.key_id), k.added_at_runtime ? h("div", { class: "muted" }, "added at runtime") : null),
      cells.state, cells.requests, cells.tokens, cells.inFlight, cells.back, cells.event,
      h("td", {}, h("div", { class: "actions" }, Object.values(buttons))),
    );
    rows.set(key, { tr, cells, buttons });
    return tr;
  }

  function update(k) {
    const r = rows.get(id(k));
    if (!r) return;
    const { cells, buttons } = r;
    r.tr.dataset.state = k.state;
    replace(cells.state, badge(k.state), k.cause && k.cause !== k.state ? h("div", { class: "muted" }, k.cause.replaceAll("_", " ")) : null);
    replace(cells.requests, meter(`Requests left on ${id(k)}`, k.remaining_requests, k.limit_requests));
    replace(cells.tokens, meter(`Tokens left on ${id(k)}`, k.remaining_tokens, k.limit_tokens));
    cells.inFlight.textContent = String(k.in_flight);
    tick(k, r);
    const mine = events.get(id(k)) || [];
    const failure = mine.find((e) => e.event !== "recovered");
    replace(
      cells.event,
      mine.length
        ? h(
            "details",
            {},
            h("summary", {}, `${mine[0].event} ${new Date(mine[0].at * 1000).toLocaleTimeString()}`),
            failure && failure !== mine[0] ? h("div", { class: "muted" }, `last failure: ${failure.event} ${when(failure.at)}`) : null,
            h("ol", { reversed: true, "aria-label": `Recent events of ${id(k)}` },
              mine.map((e) => h("li", {}, `${when(e.at)} ${e.event}${e.until_s ? ` for ${seconds(e.until_s)}` : ""}`))),
          )
        : h("span", { class: "muted" }, "none yet"),
    );
    buttons.disable.hidden = k.state === "disabled";
    buttons.enable.hidden = k.state !== "disabled";
    buttons.reset.hidden = k.state === "healthy" || k.state === "disabled";
    buttons.rotate.hidden = !k.added_at_runtime;
    buttons.remove.hidden = !k.added_at_runtime;
  }

  // The countdowns move between polls: from the seconds the node gave at fetch time.
  function tick(k, r) {
    const gone = (performance.now() - fetchedAt) / 1000;
    const left = k.cooling_for_s ?? k.next_probe_in_s;
    const label = k.cooling_for_s !== null && k.cooling_for_s !== undefined ? "cooling " : "probe in ";
    r.cells.back.textContent = left === null || left === undefined ? "–" : `${label}${seconds(Math.max(0, left - gone))}`;
  }

  async function poll() {
    if (stopped) return;
    if (document.visibilityState === "visible") {
      try {
        await refresh();
      } catch (failure) {
        live.textContent = `Live updates paused: ${failure.message}`;
      }
    }
    if (!stopped) timer = setTimeout(poll, POLL_MS);
  }

  await refresh();
  const ticker = setInterval(() => keys.forEach((k) => rows.has(id(k)) && tick(k, rows.get(id(k)))), 250);
  timer = setTimeout(poll, POLL_MS);

  const providers = [...new Set(keys.map((k) => k.provider))];
  const adder = panel(
    "Add a key",
    h("p", { class: "muted" }, "Stored encrypted; every worker uses it within a second. The secret is never shown again."),
    form(
      { class: "row", "aria-label": "Add a provider key" },
      [
        field("Provider", select("provider", providers)),
        field("Key id", h("input", { name: "key_id", required: true, pattern: "[A-Za-z0-9][A-Za-z0-9._\\-]{0,63}", autocomplete: "off" })),
        field("Secret", h("input", { name: "secret", type: "password", required: true, autocomplete: "off" })),
      ],
      async (values, el) => {
        await post(`/admin/upstream-keys/${seg(values.provider)}`, { key_id: values.key_id, secret: values.secret });
        el.reset();
        await refresh();
      },
      "Add key",
    ),
  );
  replace(root, live, tables, adder);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      clearInterval(ticker);
    },
  };
}

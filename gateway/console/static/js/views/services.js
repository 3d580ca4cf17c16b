// Services: each version's lifecycle (draft → published → deprecated → retired), new versions,
// the prompt API editor with a preview of what a call becomes, and the try-it panel that calls a
// served version.
import { get, post, seg } from "../api.js";
import { actionButton, badge, field, form, h, panel, replace, select, table, timeTag } from "../dom.js";
import { tryPanel } from "./tryit.js";

const TYPES = ["string", "integer", "number", "boolean"];
// Which transitions each state allows (the store refuses the others).
const NEXT = { draft: ["publish"], published: ["deprecate", "retire"], deprecated: ["retire"], retired: [] };
const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

export async function render(root, ctx) {
  const tenant = ctx.tenant || undefined;
  const [services, apps] = await Promise.all([get("/admin/services", { tenant }), get("/admin/apps", { tenant })]);
  const editor = promptEditor(ctx, services);
  const trying = tryPanel(ctx, services, apps);
  const list = services.map((s) => servicePanel(s, ctx, editor, trying, () => render(root, ctx)));
  const create = ctx.can("developer") && (ctx.tenant || ctx.who.isOperator)
    ? panel(
        "New service",
        form(
          { class: "row", "aria-label": "Create a service" },
          [
            ctx.tenant ? null : field("Tenant", select("tenant", ctx.tenants)),
            field("Name", h("input", { name: "name", required: true, pattern: "[a-z0-9][a-z0-9\\-]{0,62}" })),
            field("Description", h("input", { name: "description", size: 30 })),
            h("label", { class: "inline" }, h("input", { type: "checkbox", name: "approval" }), "Subscriptions need approval"),
          ],
          async (values) => {
            await post("/admin/services", {
              tenant: values.tenant || ctx.tenant, name: values.name, description: values.description, approval: values.approval === "on",
            });
            await render(root, ctx);
          },
          "Create service",
        ),
      )
    : null;
  replace(root, list.length ? list : h("p", { class: "muted" }, "No services yet."), trying.node, ctx.can("developer") && services.length ? editor.node : null, create);
}

function servicePanel(service, ctx, editor, trying, reload) {
  const manage = ctx.can("admin", service.tenant);
  const develop = ctx.can("developer", service.tenant);
  return panel(
    `Service ${service.name}`,
    h("p", {}, service.description || h("span", { class: "muted" }, "No description."), " ",
      service.approval ? badge("approval required", "warn") : badge("open to subscribe", "ok"), " ",
      h("span", { class: "muted" }, `tenant ${service.tenant}`)),
    table(
      [
        { label: "Version", num: true, cell: (v) => `v${v.version}` },
        { label: "Kind", cell: (v) => v.kind },
        { label: "Model group", cell: (v) => v.model_group },
        { label: "State", cell: (v) => [badge(v.state), v.sunset_at ? h("div", { class: "muted" }, "sunset ", timeTag(v.sunset_at)) : null] },
        { label: "Created", cell: (v) => timeTag(v.created_at) },
        {
          label: "Actions",
          cell: (v) =>
            h(
              "div",
              { class: "actions" },
              manage
                ? NEXT[v.state].map((action) =>
                    actionButton(action[0].toUpperCase() + action.slice(1), async () => {
                      await post(`/admin/services/${seg(service.name)}/versions/${v.version}/${action}`);
                      await reload();
                    }, { kind: action === "publish" ? "" : "secondary", done: `v${v.version} of ${service.name}: ${action}ed.` }),
                  )
                : null,
              develop && v.kind === "prompt"
                ? actionButton("Edit as new version", async () => editor.load(service.name, v), {})
                : null,
              trying.offers(service.name, v) ? actionButton("Try it", async () => trying.load(service.name, v), {}) : null,
            ),
        },
      ],
      service.versions,
      { caption: `Versions of ${service.name}`, empty: "No versions yet: add one below." },
    ),
  );
}

// The prompt API editor: a new version (a draft) from a template with {{variables}}, and a
// preview of the chat request a call with given values becomes (a draft is not served, so it is
// shown, not called; the try-it panel calls served versions).
function promptEditor(ctx, services) {
  const mine = services.filter((s) => ctx.can("developer", s.tenant));
  const serviceSel = select("service", mine.map((s) => s.name));
  const kind = select("kind", [["prompt", "prompt API"], ["model", "model route"]], "prompt");
  const group = h("input", { name: "model_group", required: true, placeholder: "gpt-4o-mini" });
  const system = h("textarea", { name: "system", rows: 2 });
  const template = h("textarea", { name: "template", rows: 4, placeholder: "Summarize in {{words}} words: {{text}}" });
  const temperature = h("input", { name: "temperature", type: "number", min: "0", max: "2", step: "0.1" });
  const maxTokens = h("input", { name: "max_tokens", type: "number", min: "1" });
  const streaming = h("input", { type: "checkbox", name: "streaming" });
  const vars = h("tbody");
  const preview = h("pre", { id: "prompt-preview", "aria-live": "polite" });
  const previewInputs = h("div", { class: "row" });
  const promptOnly = h("div");

  function variableRow(v = {}) {
    const name = h("input", { value: v.name || "", "aria-label": "Variable name", required: true, size: 12 });
    const type = select("type", TYPES, v.type || "string");
    type.setAttribute("aria-label", "Variable type");
    const required = h("input", { type: "checkbox", checked: v.required !== false, "aria-label": "Required" });
    const maxLength = h("input", { type: "number", min: "1", value: v.max_length || "", "aria-label": "Max length", size: 6 });
    const remove = h("button", { type: "button", class: "danger", onclick: () => { tr.remove(); refreshPreview(); } }, "Remove");
    const tr = h("tr", {}, h("td", {}, name), h("td", {}, type), h("td", {}, required), h("td", {}, maxLength), h("td", {}, remove));
    tr.read = () => {
      const out = { name: name.value.trim(), type: type.value, required: required.checked };
      if (maxLength.value) out.max_length = Number(maxLength.value);
      return out;
    };
    name.addEventListener("input", refreshPreview);
    type.addEventListener("change", refreshPreview);
    vars.append(tr);
  }

  const variables = () => [...vars.children].map((tr) => tr.read()).filter((v) => v.name);

  function detect() {
    const known = new Set(variables().map((v) => v.name));
    for (const [, name] of `${system.value}\n${template.value}`.matchAll(PLACEHOLDER)) {
      if (!known.has(name)) {
        variableRow({ name });
        known.add(name);
      }
    }
    refreshPreview();
  }

  function refreshPreview() {
    const current = Object.fromEntries([...previewInputs.querySelectorAll("input")].map((i) => [i.name, i.value]));
    replace(previewInputs, variables().map((v) => field(`${v.name} (${v.type})`, h("input", { name: v.name, value: current[v.name] || "" }))));
    for (const input of previewInputs.querySelectorAll("input")) input.addEventListener("input", renderPreview);
    renderPreview();
  }

  // What the data plane sends for these values (gateway/dataplane/prompt.py): each {{name}}
  // replaced by its value, the system prompt first.
  function renderPreview() {
    const values = Object.fromEntries([...previewInputs.querySelectorAll("input")].map((i) => [i.name, i.value]));
    const fill = (text) => text.replace(PLACEHOLDER, (_, name) => (name in values ? values[name] : `{{${name}}}`));
    const messages = [];
    if (system.value) messages.push({ role: "system", content: fill(system.value) });
    messages.push({ role: "user", content: fill(template.value) });
    const request = { model: group.value || "(model group)", messages };
    if (temperature.value) request.temperature = Number(temperature.value);
    if (maxTokens.value) request.max_tokens = Number(maxTokens.value);
    const body = Object.fromEntries(variables().map((v) => [v.name, typed(values[v.name] || "", v.type)]));
    const service = serviceSel.value || "SERVICE";
    preview.textContent =
      `The call\n  POST /apis/${service}/vN\n  ${JSON.stringify(body)}\n\n` +
      `becomes this chat completion on model group ${group.value || "…"}:\n${JSON.stringify(request, null, 2)}`;
  }

  for (const input of [system, template, group, temperature, maxTokens]) input.addEventListener("input", renderPreview);
  template.addEventListener("change", detect);
  serviceSel.addEventListener("change", renderPreview);
  kind.addEventListener("change", () => (promptOnly.hidden = kind.value !== "prompt"));

  replace(
    promptOnly,
    field("System prompt", system),
    field("Template", template),
    h("div", { class: "row" }, field("Temperature", temperature), field("Max tokens", maxTokens),
      h("label", { class: "inline" }, streaming, "Callers may stream")),
    h("h3", {}, "Variables"),
    h("div", { class: "scroll" }, h("table", {}, h("thead", {}, h("tr", {}, ["Name", "Type", "Required", "Max length", ""].map((c) => h("th", { scope: "col" }, c)))), vars)),
    h("div", { class: "actions", style: { margin: ".5rem 0" } },
      h("button", { type: "button", class: "secondary", onclick: () => { variableRow(); refreshPreview(); } }, "Add variable"),
      h("button", { type: "button", class: "secondary", onclick: detect }, "Find variables in the template")),
    h("fieldset", {}, h("legend", {}, "Preview"), previewInputs, preview),
  );

  const node = panel(
    "New version",
    h("p", { class: "muted" }, "Versions are added as drafts; publish one to serve it. Versions never change: to edit one, add a new version from it."),
    form(
      { "aria-label": "Add a version" },
      [h("div", { class: "row" }, field("Service", serviceSel), field("Kind", kind), field("Model group", group)), promptOnly],
      async () => {
        const body = { kind: kind.value, model_group: group.value };
        if (kind.value === "prompt") {
          body.prompt = { template: template.value, system: system.value, variables: variables(), streaming: streaming.checked };
          if (temperature.value) body.prompt.temperature = Number(temperature.value);
          if (maxTokens.value) body.prompt.max_tokens = Number(maxTokens.value);
        }
        const made = await post(`/admin/services/${seg(serviceSel.value)}/versions`, body);
        location.hash = `${location.hash.split("?")[0]}?added=${encodeURIComponent(`${serviceSel.value}-v${made.version}`)}`;
      },
      "Add draft version",
    ),
  );
  refreshPreview();
  return {
    node,
    load(service, version) {
      serviceSel.value = service;
      kind.value = version.kind;
      group.value = version.model_group;
      const p = version.prompt;
      system.value = p.system || "";
      template.value = p.template;
      temperature.value = p.temperature ?? "";
      maxTokens.value = p.max_tokens ?? "";
      streaming.checked = p.streaming;
      vars.replaceChildren();
      p.variables.forEach(variableRow);
      refreshPreview();
      node.scrollIntoView();
      template.focus();
    },
  };
}

function typed(text, type) {
  if (type === "integer" || type === "number") return text === "" ? null : Number(text);
  if (type === "boolean") return text === "true";
  return text;
}

// The try-it panel: call a served prompt API version once as one of the tenant's apps. The admin
// API makes the call through the data plane with a one-use key of that app (POST
// /admin/services/<name>/versions/<n>/try), so what comes back is what the app would get, and the
// call is in the call log like any other.
import { post, seg } from "../api.js";
import { field, form, h, panel, replace, select, statusBadge } from "../dom.js";

const SERVED = new Set(["published", "deprecated"]);

export function tryPanel(ctx, services, apps) {
  const targets = services.flatMap((s) =>
    s.versions.filter((v) => v.kind === "prompt" && SERVED.has(v.state)).map((v) => ({ service: s.name, version: v })),
  );
  // Trying mints a key of the app: only who may create its keys is offered it (the API decides).
  const callers = apps.filter((a) => ctx.can("developer", a.tenant));
  if (!targets.length || !callers.length) return { node: null, offers: () => false, load() {} };

  const id = (t) => `${t.service}/${t.version.version}`;
  const targetSel = select("target", targets.map((t) => [id(t), `${t.service} v${t.version.version} (${t.version.state})`]));
  const appSel = select("app", callers.map((a) => [`${a.tenant}/${a.name}`, `${a.tenant}/${a.name}`]));
  const inputs = h("div", { class: "row" });
  const result = h("div", { id: "try-result", "aria-live": "polite" });
  const chosen = () => targets.find((t) => id(t) === targetSel.value);

  function showInputs() {
    replace(inputs, chosen().version.prompt.variables.map(variableInput));
    replace(result);
  }
  targetSel.addEventListener("change", showInputs);
  showInputs();

  const node = panel(
    "Try it",
    h("p", { class: "muted" }, "Calls the model once, as the app, with a key used for this call only and revoked after it: the app's subscription, limits and budgets apply, and the call is logged."),
    form(
      { "aria-label": "Try a prompt API" },
      [h("div", { class: "row" }, field("Version", targetSel), field("Call as app", appSel)), h("fieldset", {}, h("legend", {}, "Variables"), inputs)],
      async () => {
        const target = chosen();
        const [tenant, app] = appSel.value.split("/");
        const answer = await post(`/admin/services/${seg(target.service)}/versions/${target.version.version}/try`, {
          app, tenant, variables: values(target.version.prompt.variables, inputs),
        });
        replace(result, shown(answer, ctx));
      },
      "Call the model",
    ),
    result,
  );
  return {
    node,
    offers: (service, version) => targets.some((t) => t.service === service && t.version.version === version.version),
    load(service, version) {
      targetSel.value = `${service}/${version.version}`;
      showInputs();
      node.scrollIntoView();
      (inputs.querySelector("input, select") || targetSel).focus();
    },
  };
}

function variableInput(v) {
  const label = `${v.name} (${v.type}${v.required === false ? ", optional" : ""})`;
  if (v.type === "boolean") return field(label, select(v.name, ["true", "false"], "false"));
  const numeric = v.type === "integer" || v.type === "number";
  return field(label, h("input", {
    name: v.name,
    type: numeric ? "number" : "text",
    step: v.type === "number" ? "any" : null,
    maxlength: v.max_length ? String(v.max_length) : null,
    required: v.required !== false,
    size: numeric ? 8 : 30,
  }));
}

// The JSON body a caller would send: each declared variable in its type; an optional one left
// empty is left out (the data plane answers for a wrong or missing one, as it would the app).
function values(variables, inputs) {
  const body = {};
  for (const v of variables) {
    const text = inputs.querySelector(`[name="${CSS.escape(v.name)}"]`).value;
    if (text === "" && v.required === false) continue;
    if (v.type === "boolean") body[v.name] = text === "true";
    else if (v.type === "integer" || v.type === "number") body[v.name] = text === "" ? null : Number(text);
    else body[v.name] = text;
  }
  return body;
}

function shown(answer, ctx) {
  const body = answer.answer;
  const error = body && body.error;
  const deprecated = answer.headers.deprecation;
  return [
    h("p", {}, "The data plane answered ", statusBadge(answer.status), error ? ` ${error.code || error.type}: ${error.message}` : "", "."),
    deprecated ? h("p", { class: "muted" }, `This version is deprecated${answer.headers.sunset ? `; sunset ${answer.headers.sunset}` : ""}.`) : null,
    body && typeof body.output === "string"
      ? [h("h3", {}, "Output"), h("pre", { id: "try-output" }, body.output)]
      : error ? null : h("pre", {}, typeof body === "string" ? body : JSON.stringify(body, null, 2)),
    answer.request_id
      ? h("p", {}, "The call in the log: ", h("a", { href: ctx.hashFor("logs", [answer.request_id]), "aria-label": `Detail of ${answer.request_id}` }, answer.request_id),
          h("span", { class: "muted" }, ` (one-use key ${answer.key_id}, revoked)`))
      : null,
  ];
}

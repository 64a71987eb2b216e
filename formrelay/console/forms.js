// The forms page (#/forms and #/forms/<id>): the tenant's forms, each form's schema versions
// under its compatibility mode, and two versions compared as the registry's checker sees
// it: the verdict, each incompatibility at its JSON pointer with the checker's
// counterexample (a document one version accepts and the other refuses).
// A comparison's choice stays in the fragment (#/forms/<id>?from=1&to=2&mode=FULL), so a
// link to it opens it again.

import { el, errorState, stateMessage } from "./views.js";

export const MODES = [
  "NONE",
  "BACKWARD",
  "BACKWARD_TRANSITIVE",
  "FORWARD",
  "FORWARD_TRANSITIVE",
  "FULL",
  "FULL_TRANSITIVE",
];

const MODE_MEANS = {
  NONE: "nothing is checked: any valid schema becomes the next version",
  BACKWARD: "each new version accepts every document the one before it accepted",
  BACKWARD_TRANSITIVE: "each new version accepts every document any earlier version accepted",
  FORWARD: "the version before accepts every document a new version accepts",
  FORWARD_TRANSITIVE: "every earlier version accepts every document a new version accepts",
  FULL: "BACKWARD and FORWARD: a new version and the one before accept the same documents",
  FULL_TRANSITIVE: "BACKWARD_TRANSITIVE and FORWARD_TRANSITIVE at once",
};

// Reading forms takes the read scope (or admin); the link's scopes say what it holds.
export function canReadForms(scopes) {
  return scopes.has("read") || scopes.has("admin");
}

function missingScope(scopes) {
  const held = [...scopes].sort().join(", ") || "none";
  return stateMessage(
    "scope",
    "This link cannot read forms",
    `Forms and their versions need a link with the read scope (or admin); this one holds ${held}. Ask for a console link with read.`,
  );
}

// #/forms -> {}; #/forms/<id>?from=1&to=2&mode=FULL -> {formId, from, to, mode}.
export function parseFormsRoute(hash) {
  const match = hash.match(/^#\/forms(?:\/([^/?]+))?(?:\?(.*))?$/);
  if (!match) return null;
  if (!match[1]) return {};
  const query = new URLSearchParams(match[2] || "");
  return {
    formId: decodeURIComponent(match[1]),
    from: query.get("from") || "",
    to: query.get("to") || "",
    mode: query.get("mode") || "",
  };
}

function formHref(formId, choice) {
  const base = `#/forms/${encodeURIComponent(formId)}`;
  if (!choice) return base;
  const query = new URLSearchParams({ from: choice.from, to: choice.to });
  if (choice.mode) query.set("mode", choice.mode);
  return `${base}?${query}`;
}

function modeBadge(mode) {
  return el("span", { class: "mode", title: MODE_MEANS[mode] || "", text: mode });
}

// The page for the route: api (signed client), scopes (the link's), show (puts a node on the
// page), isCurrent (false once another route is shown: an answer for this one is dropped).
export async function renderForms({ api, scopes, show, isCurrent, hash = location.hash }) {
  if (!canReadForms(scopes)) {
    show(missingScope(scopes));
    return;
  }
  const route = parseFormsRoute(hash) || {};
  try {
    if (route.formId) await renderForm({ api, show, isCurrent, route });
    else await renderList({ api, show, isCurrent });
  } catch (error) {
    if (isCurrent()) show(errorState(error));
  }
}

async function renderList({ api, show, isCurrent }) {
  const { forms } = await api.get("/v1/forms");
  if (!isCurrent()) return;
  const body = forms.length
    ? el(
        "table",
        { class: "forms" },
        el(
          "thead",
          {},
          el(
            "tr",
            {},
            ["Form", "Current version", "Compatibility mode"].map((h) =>
              el("th", { scope: "col", text: h }),
            ),
          ),
        ),
        el(
          "tbody",
          {},
          forms.map((f) =>
            el(
              "tr",
              { class: "form-row", "data-form": f.form_id },
              el(
                "td",
                { "data-label": "Form" },
                el("a", { href: formHref(f.form_id), class: "mono", text: f.form_id }),
              ),
              el("td", { "data-label": "Current version", text: `v${f.version}` }),
              el("td", { "data-label": "Compatibility mode" }, modeBadge(f.compatibility)),
            ),
          ),
        ),
      )
    : stateMessage(
        "empty",
        "No forms",
        "This tenant has registered no form yet (formrelay forms put, or PUT /v1/forms/{form_id}).",
      );
  show(
    el(
      "div",
      {},
      el("h1", { text: "Forms" }),
      el("p", {
        class: "lead",
        text: "Each form's schema versions, its compatibility mode, and how two versions compare.",
      }),
      body,
    ),
  );
}

function versionItem(api, form, version) {
  const current = version === form.version;
  const schema = el("pre", {
    class: "schema",
    "data-version": String(version),
    text: current ? JSON.stringify(form.schema, null, 2) : "Loading…",
  });
  let loaded = current;
  const details = el(
    "details",
    {
      ontoggle: async () => {
        if (!details.open || loaded) return;
        loaded = true;
        try {
          const answer = await api.get(
            `/v1/forms/${encodeURIComponent(form.form_id)}/versions/${version}`,
          );
          schema.textContent = JSON.stringify(answer.schema, null, 2);
        } catch (error) {
          loaded = false;
          schema.textContent = `${error.title || "Could not read it"}: ${error.detail || error}`;
        }
      },
    },
    el("summary", { text: "Schema" }),
    schema,
  );
  return el(
    "li",
    { class: "version", "data-version": String(version) },
    el(
      "h3",
      {},
      `Version ${version}`,
      current ? el("span", { class: "current", text: "current" }) : null,
    ),
    details,
  );
}

function versionSelect(id, versions, selected) {
  return el(
    "select",
    { id, name: id },
    versions.map((v) =>
      el("option", { value: String(v), text: `Version ${v}`, selected: String(v) === selected }),
    ),
  );
}

function defaultChoice(form, route) {
  const known = (v) => /^[1-9][0-9]*$/.test(v) && Number(v) <= form.versions;
  const from = known(route.from) ? route.from : String(form.versions - 1);
  const to = known(route.to) ? route.to : String(form.versions);
  return { from, to, mode: MODES.includes(route.mode) ? route.mode : "" };
}

async function renderForm({ api, show, isCurrent, route }) {
  const form = await api.get(`/v1/forms/${encodeURIComponent(route.formId)}`);
  if (!isCurrent()) return;
  const versions = Array.from({ length: form.versions }, (_, i) => form.versions - i);
  const result = el("section", { id: "verdict", class: "verdict", "aria-live": "polite" });
  const compare = form.versions > 1 ? compareForm(api, form, route, result, isCurrent) : null;
  show(
    el(
      "div",
      {},
      el("p", {}, el("a", { href: "#/forms", text: "← Forms" })),
      el("h1", {}, "Form ", el("span", { class: "mono", text: form.form_id })),
      el(
        "p",
        { id: "form-mode" },
        "Compatibility mode ",
        modeBadge(form.compatibility),
        `: ${MODE_MEANS[form.compatibility] || ""}. ${form.versions} version${form.versions === 1 ? "" : "s"}, version ${form.version} current.`,
      ),
      el("h2", { text: "Compare two versions" }),
      compare
        ? [compare.node, result]
        : stateMessage(
            "empty",
            "Only one version",
            "There is nothing to compare yet: the form's next version shows here beside this one.",
          ),
      el("h2", { text: "Versions" }),
      el("ul", { class: "versions" }, versions.map((v) => versionItem(api, form, v))),
    ),
  );
  if (compare) compare.run();
}

function compareForm(api, form, route, result, isCurrent) {
  const versions = Array.from({ length: form.versions }, (_, i) => i + 1);
  const choice = defaultChoice(form, route);
  const from = versionSelect("compare-from", versions, choice.from);
  const to = versionSelect("compare-to", versions, choice.to);
  const mode = el(
    "select",
    { id: "compare-mode", name: "mode" },
    el("option", { value: "", text: `the form's own (${form.compatibility})` }),
    MODES.map((m) => el("option", { value: m, text: m, selected: m === choice.mode })),
  );
  const button = el("button", { type: "submit", id: "compare", text: "Compare" });
  let asked = 0;

  async function run() {
    const mine = ++asked;
    const picked = { from: from.value, to: to.value, mode: mode.value };
    // The choice stays in the fragment (no new history entry, no re-render)
    history.replaceState(null, "", location.pathname + location.search + formHref(form.form_id, picked));
    button.disabled = true;
    result.replaceChildren(el("p", { role: "status", text: "Comparing…" }));
    try {
      const verdict = await api.get(
        `/v1/forms/${encodeURIComponent(form.form_id)}/compatibility`,
        [
          ["from", picked.from],
          ["to", picked.to],
          ["mode", picked.mode],
        ],
      );
      if (mine !== asked || !isCurrent()) return;
      result.replaceChildren(verdictView(verdict));
    } catch (error) {
      if (mine !== asked || !isCurrent()) return;
      // A refused comparison is shown where its answer would be; the form stays usable.
      result.replaceChildren(
        error.status === 401 || error.status === 403
          ? errorState(error)
          : stateMessage("error", error.title || "Could not compare", error.detail || String(error)),
      );
    } finally {
      if (mine === asked) button.disabled = false;
    }
  }

  const node = el(
    "form",
    {
      class: "filters compare",
      onsubmit: (event) => {
        event.preventDefault();
        run();
      },
    },
    el("label", { for: "compare-from", text: "From" }),
    from,
    el("label", { for: "compare-to", text: "to" }),
    to,
    el("label", { for: "compare-mode", text: "under" }),
    mode,
    button,
  );
  return { node, run };
}

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

export function verdictView(v) {
  const older = `version ${v.from}`;
  const newer = `Version ${v.to}`;
  let text;
  let kind;
  if (v.compatible === true) {
    kind = "ok";
    text = `${newer} is ${v.mode} compatible with ${older}`;
  } else if (v.compatible === false) {
    kind = "bad";
    text = `${newer} is not ${v.mode} compatible with ${older}: ${plural(v.incompatibilities.length, "incompatibility", "incompatibilities")}`;
  } else {
    kind = "warn";
    text = `Whether ${newer.toLowerCase()} is ${v.mode} compatible with ${older} cannot be decided`;
  }
  const notes = [];
  if (v.mode === "NONE") notes.push("Under NONE nothing is checked.");
  if (v.mode !== v.form_compatibility) {
    notes.push(`Compared under ${v.mode}; the form's own mode is ${v.form_compatibility}.`);
  }
  if (v.mode.endsWith("_TRANSITIVE")) {
    notes.push("Only these two versions are compared (a registration checks every earlier one).");
  }
  return el(
    "div",
    {},
    el("p", {
      id: "verdict-badge",
      class: `badge badge-${kind}`,
      "data-compatible": String(v.compatible),
      text,
    }),
    notes.map((n) => el("p", { class: "note", text: n })),
    v.incompatibilities.length
      ? el(
          "ol",
          { class: "incompatibilities" },
          v.incompatibilities.map((found) => incompatibilityItem(found)),
        )
      : null,
    v.undecided.length
      ? el(
          "div",
          {},
          el("h3", { text: "Not decided" }),
          el(
            "ul",
            { class: "undecided" },
            v.undecided.map((u) =>
              el(
                "li",
                { class: "undecided-item" },
                el("code", { class: "pointer", text: u.pointer || "/" }),
                ` ${u.reason}`,
              ),
            ),
          ),
        )
      : null,
  );
}

function incompatibilityItem(found) {
  const direction =
    found.direction === "backward"
      ? "backward: a document accepted before is refused now"
      : "forward: a document accepted now is refused by the version before";
  return el(
    "li",
    { class: "incompatibility", "data-pointer": found.pointer, "data-direction": found.direction },
    el("h3", {}, el("code", { class: "pointer", text: found.pointer || "/" })),
    el("p", { class: "reason", text: found.reason }),
    el("p", { class: "direction", text: direction }),
    "witness" in found
      ? [
          el("p", {
            class: "witness-label",
            text: `Counterexample: version ${found.accepted_by} accepts this document, version ${found.refused_by} refuses it`,
          }),
          el("pre", { class: "witness", text: JSON.stringify(found.witness, null, 2) }),
        ]
      : el("p", { class: "witness-label", text: "No counterexample was found." }),
  );
}

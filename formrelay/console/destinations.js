// The destinations page (#/destinations, or #/destinations/<form id> for one form): each
// form's destinations with their state (enabled, or disabled after a 410, since when and
// why), their recent success rate and latency, last success and last error; an admin
// link re-enables a disabled one.

import { el, errorState, stateMessage } from "./views.js";

function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

function time(iso) {
  return iso ? el("time", { datetime: iso, text: when(iso) }) : el("span", { text: "never" });
}

function stateCell(destination) {
  const disabled = destination.health.disabled;
  if (destination.enabled) {
    return el("span", { class: "status status-delivered dest-state", "data-state": "enabled", text: "enabled" });
  }
  return el(
    "span",
    {},
    el("span", { class: "status status-dead_lettered dest-state", "data-state": "disabled", text: "disabled" }),
    el(
      "span",
      { class: "dest-reason" },
      ` ${destination.disabled_reason || "disabled"}`,
      disabled ? [", since ", time(disabled.at)] : "",
    ),
  );
}

function rateCell(health) {
  if (!health.recent_attempts) return el("span", { class: "dest-rate", text: "no attempts yet" });
  const percent = Math.round(health.success_rate * 1000) / 10;
  return el("span", {
    class: "dest-rate",
    "data-rate": String(health.success_rate),
    text: `${percent}% of the last ${health.recent_attempts} (${health.recent_succeeded} succeeded)`,
  });
}

function latencyCell(health) {
  const latency = health.latency_ms;
  return el("span", {
    class: "dest-latency",
    text: latency ? `p50 ${latency.p50} ms, p95 ${latency.p95} ms` : "",
  });
}

function errorCell(health) {
  const error = health.last_error;
  if (!error) return el("span", { class: "dest-error", text: "none" });
  const what = error.status_code ? `HTTP ${error.status_code}` : error.error_class || error.outcome;
  return el(
    "div",
    { class: "dest-error" },
    el("strong", { text: what }),
    error.error_class && error.status_code && error.error_class !== `http_${error.status_code}`
      ? ` (${error.error_class})`
      : "",
    ", ",
    time(error.at),
    error.response_excerpt ? el("pre", { class: "excerpt", text: error.response_excerpt }) : null,
  );
}

function enableControl(formId, destination, { canEnable, pending, onEnable }) {
  if (destination.enabled && !pending?.error) {
    return pending?.done ? el("span", { class: "dest-done", role: "status", text: "Enabled again" }) : null;
  }
  if (!canEnable) {
    return el("span", { class: "dest-hint", text: "an admin link can enable it again" });
  }
  return el(
    "span",
    {},
    el("button", {
      type: "button",
      "data-enable": `${formId}/${destination.destination_id}`,
      "aria-label": `Enable ${destination.destination_id} of ${formId} again`,
      disabled: Boolean(pending?.busy),
      text: pending?.busy ? "Enabling…" : "Enable again",
      onclick: () => onEnable(formId, destination.destination_id),
    }),
    pending?.error
      ? el(
          "p",
          { class: "redeliver-error", role: "alert" },
          el("strong", { text: pending.error.title || "Refused" }),
          pending.error.detail ? `: ${pending.error.detail}` : "",
        )
      : null,
  );
}

function formSection(form, listing, options) {
  const rows = listing.destinations.map((d) =>
    el(
      "tr",
      { class: "destination-row", "data-destination": d.destination_id, "data-form": form.form_id },
      el("td", { "data-label": "Destination" }, el("strong", { text: d.destination_id }), el("div", { class: "mono", text: d.url })),
      el("td", { "data-label": "State" }, stateCell(d), " ", enableControl(form.form_id, d, { ...options, pending: options.pending.get(`${form.form_id}/${d.destination_id}`) })),
      el("td", { "data-label": "Recent success" }, rateCell(d.health)),
      el("td", { "data-label": "Latency" }, latencyCell(d.health)),
      el("td", { "data-label": "Last success" }, time(d.health.last_success_at)),
      el("td", { "data-label": "Last error" }, errorCell(d.health)),
    ),
  );
  return el(
    "section",
    { class: "form-destinations", "data-form": form.form_id },
    el("h2", {}, "Form ", el("span", { class: "mono", text: form.form_id })),
    rows.length
      ? el(
          "table",
          { class: "destinations-table" },
          el(
            "thead",
            {},
            el(
              "tr",
              {},
              ["Destination", "State", "Recent success", "Latency", "Last success", "Last error"].map((h) =>
                el("th", { scope: "col", text: h }),
              ),
            ),
          ),
          el("tbody", {}, rows),
        )
      : stateMessage("empty", "No destinations", "Submissions of this form are recorded and delivered nowhere."),
  );
}

// Re-enables asked for on this page: "<form>/<destination>" -> { busy, done, error }.
const pending = new Map();

export async function renderDestinations({ api, scopes, formId, show, current, refresh }) {
  if (!scopes.has("read") && !scopes.has("admin")) {
    show(
      stateMessage(
        "noscope",
        "This link cannot show destinations",
        "Destinations need a link with the read or admin scope.",
      ),
    );
    return;
  }
  try {
    const forms = formId
      ? [{ form_id: formId }]
      : (await api.get("/v1/forms")).forms;
    const listings = await Promise.all(
      forms.map((f) => api.get(`/v1/forms/${encodeURIComponent(f.form_id)}/destinations`)),
    );
    if (!current()) return;
    const onEnable = async (form, destination) => {
      const key = `${form}/${destination}`;
      pending.set(key, { busy: true });
      refresh();
      try {
        await api.post(
          `/v1/forms/${encodeURIComponent(form)}/destinations/${encodeURIComponent(destination)}/enable`,
          {},
        );
        pending.set(key, { done: true });
      } catch (error) {
        pending.set(key, { error });
      }
      refresh();
    };
    const focused = document.activeElement?.dataset?.enable;
    const options = { canEnable: scopes.has("admin"), pending, onEnable };
    show(
      el(
        "div",
        {},
        el("h1", { text: formId ? `Destinations of ${formId}` : "Destinations" }),
        formId ? el("p", {}, el("a", { href: "#/destinations", text: "← Every form's destinations" })) : null,
        forms.length
          ? forms.map((f, n) => formSection(f, listings[n], options))
          : stateMessage("empty", "No forms yet", "Register a form, then its destinations show here."),
      ),
    );
    // A keyboard user's place: the button pressed, or the row's state once it is enabled.
    if (focused) {
      const again = document.querySelector(`button[data-enable="${CSS.escape(focused)}"]`);
      const done = document.querySelector(`tr[data-form="${CSS.escape(focused.split("/")[0])}"][data-destination="${CSS.escape(focused.split("/")[1])}"] .dest-done`);
      if (again) again.focus();
      else if (done) {
        done.setAttribute("tabindex", "-1");
        done.focus();
      }
    }
  } catch (error) {
    if (current()) show(errorState(error));
  }
}

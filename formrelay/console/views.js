// The pages, built with the DOM (textContent only: nothing the API answers is parsed as HTML).

export const STATUSES = ["received", "delivering", "delivered", "failed", "dead_lettered"];
// A submission still moving: the list and the page refresh while one is.
export const IN_FLIGHT = new Set(["received", "delivering", "failed"]);

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value == null) continue;
    if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

function time(iso) {
  return el("time", { datetime: iso, text: when(iso) });
}

function statusBadge(status) {
  return el("span", { class: `status status-${status}`, text: status.replace("_", " ") });
}

export function stateMessage(kind, title, detail) {
  return el(
    "section",
    { class: `state state-${kind}`, role: kind === "empty" ? "status" : "alert", id: `state-${kind}` },
    el("h2", { text: title }),
    detail ? el("p", { text: detail }) : null,
  );
}

export function errorState(error) {
  if (error.status === 401 || error.status === 403) {
    // Every console link holds a read or audit scope: a refusal of a read is the key
    // itself refused (expired, revoked), which the API never tells apart from the rest.
    return stateMessage(
      "expired",
      "This link has expired or was revoked",
      "Ask for a new console link. (The API refused its key.)",
    );
  }
  return stateMessage("error", error.title || "Something went wrong", error.detail || String(error));
}

function timeInput(id, name, value) {
  // step 1: seconds too (datetime-local's default is minutes)
  return el("input", { id, name, type: "datetime-local", step: "1", value });
}

export function submissionsPage({ filters, page, problem, onFilter, onPage, hasPrevious }) {
  const form = el("input", {
    id: "filter-form",
    name: "form_id",
    value: filters.form_id,
    placeholder: "any form",
    autocomplete: "off",
    spellcheck: "false",
  });
  const status = el(
    "select",
    { id: "filter-status", name: "status" },
    el("option", { value: "", text: "any status" }),
    STATUSES.map((s) =>
      el("option", { value: s, text: s.replace("_", " "), selected: s === filters.status }),
    ),
  );
  const since = timeInput("filter-since", "since", filters.since);
  const until = timeInput("filter-until", "until", filters.until);
  const filterForm = el(
    "form",
    {
      class: "filters",
      role: "search",
      onsubmit: (event) => {
        event.preventDefault();
        onFilter({
          form_id: form.value.trim(),
          status: status.value,
          since: since.value,
          until: until.value,
        });
      },
    },
    el("label", { for: "filter-form", text: "Form" }),
    form,
    el("label", { for: "filter-status", text: "Status" }),
    status,
    el("label", { for: "filter-since", text: "Received from" }),
    since,
    el("label", { for: "filter-until", text: "until" }),
    until,
    el("button", { type: "submit", text: "Filter" }),
  );
  const body = problem
    ? stateMessage("error", problem.title || "Bad request", problem.detail || String(problem))
    : page.submissions.length
    ? el(
        "table",
        { class: "submissions" },
        el(
          "thead",
          {},
          el(
            "tr",
            {},
            ["Submission", "Form", "Status", "Received", "Updated"].map((h) =>
              el("th", { scope: "col", text: h }),
            ),
          ),
        ),
        el(
          "tbody",
          {},
          page.submissions.map((s) =>
            el(
              "tr",
              { class: "submission-row", "data-id": s.submission_id },
              el(
                "td",
                { "data-label": "Submission" },
                el("a", {
                  href: `#/submissions/${encodeURIComponent(s.submission_id)}`,
                  class: "mono",
                  text: s.submission_id,
                }),
              ),
              el("td", { "data-label": "Form", text: `${s.form_id} v${s.form_version}` }),
              el("td", { "data-label": "Status" }, statusBadge(s.status)),
              el("td", { "data-label": "Received" }, time(s.received_at)),
              el("td", { "data-label": "Updated" }, time(s.updated_at)),
            ),
          ),
        ),
      )
    : stateMessage("empty", "No submissions", "Nothing matches these filters yet.");
  const paging = el(
    "nav",
    { class: "paging", "aria-label": "Pages" },
    el("button", { type: "button", id: "page-first", disabled: !hasPrevious, onclick: () => onPage("first"), text: "Newest" }),
    el("button", { type: "button", id: "page-next", disabled: !page.next_cursor, onclick: () => onPage("next"), text: "Older" }),
  );
  return el("div", {}, el("h1", { text: "Submissions" }), filterForm, body, paging);
}

function attemptItem(event) {
  const d = event.data;
  const result = d.status_code != null ? `HTTP ${d.status_code}` : d.error_class || "no answer";
  return el(
    "li",
    { class: `event attempt outcome-${d.outcome}`, "data-type": event.type },
    el("h3", {}, `Attempt ${d.attempt} to ${d.destination_id}`, d.round > 1 ? ` (round ${d.round})` : ""),
    el(
      "dl",
      {},
      el("dt", { text: "Started" }),
      el("dd", {}, time(d.started_at || event.occurred_at)),
      el("dt", { text: "Result" }),
      el("dd", { class: "attempt-result", text: `${result}, ${d.outcome}` }),
      el("dt", { text: "Latency" }),
      el("dd", { text: d.duration_ms != null ? `${d.duration_ms} ms` : "" }),
      d.next_attempt_at ? el("dt", { text: "Retry due" }) : null,
      d.next_attempt_at ? el("dd", {}, time(d.next_attempt_at)) : null,
    ),
    d.response_excerpt ? el("pre", { class: "excerpt", text: d.response_excerpt }) : null,
  );
}

function eventItem(event) {
  const d = event.data || {};
  switch (event.type) {
    case "submission.received":
      return el(
        "li",
        { class: "event received", "data-type": event.type },
        el("h3", { text: "Received" }),
        el("p", {}, time(event.occurred_at), ` for ${(d.destinations || []).join(", ") || "no destination"}`),
      );
    case "delivery.attempted":
      return attemptItem(event);
    default:
      return el(
        "li",
        { class: "event", "data-type": event.type },
        el("h3", { text: event.type }),
        el(
          "p",
          {},
          time(event.occurred_at),
          d.destination_id ? ` ${d.destination_id}` : "",
          d.reason ? `: ${d.reason}` : "",
        ),
      );
  }
}

function waitingItems(status) {
  return Object.entries(status.destinations || {})
    .filter(([, s]) => s.next_attempt_at && s.state !== "delivered")
    .map(([id, s]) =>
      el(
        "li",
        { class: "event waiting", "data-type": "waiting" },
        el("h3", { text: `Retry waiting for ${id}` }),
        el("p", {}, "due ", time(s.next_attempt_at)),
      ),
    );
}

export function verdictBadge(verdict, proof) {
  const ok = verdict.verified;
  const anchored = verdict.anchored;
  const text = ok
    ? `Verified: ${verdict.events} events chain` + (anchored ? (anchored.covers_head ? ", head anchored" : ", anchored up to an earlier event") : ", not anchored yet")
    : `Does not verify` + (verdict.first_bad ? `: event ${verdict.first_bad.version}, ${verdict.first_bad.reason}` : "");
  const badge = el("p", {
    id: "badge",
    class: `badge ${ok ? "badge-ok" : "badge-bad"}`,
    "data-verified": String(ok),
    text,
  });
  if (!anchored) return badge;
  return el(
    "div",
    {},
    badge,
    el(
      "details",
      { class: "proof" },
      el("summary", { text: "Anchor and proof" }),
      el("pre", { text: JSON.stringify(proof ? { anchored, head: proof.head, proof: proof.proof } : { anchored }, null, 2) }),
    ),
  );
}

function redeliverControl(id, redelivery, onRedeliver) {
  const busy = Boolean(redelivery?.busy);
  const error = redelivery?.error;
  return el(
    "span",
    { class: "redeliver" },
    el("button", {
      type: "button",
      class: "redeliver-button",
      "data-redeliver": id,
      "aria-label": `Redeliver to ${id}`,
      disabled: busy,
      text: busy ? "Redelivering…" : "Redeliver",
      onclick: (event) => {
        const button = event.currentTarget;
        button.disabled = true;
        button.textContent = "Redelivering…";
        onRedeliver(id);
      },
    }),
    el("span", { class: "redeliver-status", role: "status", text: busy ? "waiting for its first attempt" : "" }),
    error
      ? el(
          "p",
          { class: "redeliver-error", role: "alert" },
          el("strong", { text: error.title || "Redelivery refused" }),
          error.detail ? `: ${error.detail}` : "",
        )
      : null,
  );
}

export function submissionPage({ status, history, verdict, proof, canRedeliver = false, redeliveries = new Map(), onRedeliver = () => {} }) {
  const received = history.events.find((e) => e.type === "submission.received");
  const destinations = Object.entries(status.destinations || {});
  return el(
    "div",
    {},
    el("p", {}, el("a", { href: "#/", text: "← Submissions" })),
    el("h1", {}, "Submission ", el("span", { class: "mono", text: status.submission_id })),
    el("p", {}, statusBadge(status.status), ` ${status.form_id} v${status.form_version}, received `, time(status.received_at)),
    verdictBadge(verdict, proof),
    el("h2", { text: "Destinations" }),
    el("p", {}, el("a", { href: `#/destinations/${encodeURIComponent(status.form_id)}`, text: "Health of this form's destinations" })),
    el(
      "ul",
      { class: "destinations" },
      destinations.map(([id, s]) =>
        el(
          "li",
          { "data-destination": id },
          el("strong", { text: id }),
          ` ${s.state}, ${s.attempts} attempt${s.attempts === 1 ? "" : "s"}`,
          s.last_error ? `, last error ${s.last_error}` : "",
          canRedeliver ? redeliverControl(id, redeliveries.get(id), onRedeliver) : null,
        ),
      ),
    ),
    el("h2", { text: "Timeline" }),
    el("ol", { class: "timeline" }, history.events.map(eventItem), waitingItems(status)),
    el("h2", { text: "Payload" }),
    el("pre", { class: "payload", text: received ? JSON.stringify(received.data.payload, null, 2) : "" }),
  );
}

// The audit page (#/audit): export a time window of the tenant's events as NDJSON, page
// after page (GET /v1/audit/events), and verify the tenant's whole record against its
// anchors, page after page (GET /v1/audit/verify). Both can be cancelled at once; leaving
// the page cancels them too and lets go of the export's download.

import { el, errorState, stateMessage } from "./views.js";

const EXPORT_PAGE_SIZE = 500;
const VERIFY_PAGE_SIZE = 100;
const NEXT_CURSOR = "X-Fr-Next-Cursor";
const HOUR_MS = 3600 * 1000;

// An RFC 3339 time to the second, in UTC: what the inputs show and the API reads.
function iso(date) {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function problem(error) {
  if (error.status === 401 || error.status === 403) return errorState(error);
  return el(
    "section",
    { class: "state state-error", role: "alert", id: "audit-error" },
    el("h2", { text: error.title || "Something went wrong" }),
    error.detail ? el("p", { text: error.detail }) : null,
  );
}

function field(id, label, attributes) {
  return el(
    "p",
    { class: "field" },
    el("label", { for: id, text: label }),
    el("input", { id, name: id, autocomplete: "off", spellcheck: "false", ...attributes }),
  );
}

// The export file's name: tenant and window, without the colons some systems refuse.
function fileName(tenant, since, until) {
  const part = (text) => text.replace(/[^0-9A-Za-z_.-]+/g, "");
  return `formrelay-audit-${part(tenant)}-${part(since)}-${part(until)}.ndjson`;
}

function exportSection({ api, keyId, stopping }) {
  const now = new Date();
  const since = field("export-since", "From", { value: iso(new Date(now - 24 * HOUR_MS)), required: true });
  const until = field("export-until", "Until", { value: iso(now), placeholder: "now" });
  const size = field("export-limit", "Events a page", {
    type: "number",
    min: "1",
    max: "1000",
    value: String(EXPORT_PAGE_SIZE),
    inputmode: "numeric",
  });
  const start = el("button", { type: "submit", id: "export-start", text: "Export" });
  const cancel = el("button", { type: "button", id: "export-cancel", disabled: true, text: "Cancel" });
  const progress = el("progress", { id: "export-progress", max: "1", value: "0", hidden: true, "aria-label": "Export progress" });
  const status = el("p", { id: "export-status", role: "status", "aria-live": "polite" });
  const result = el("div", { id: "export-result" });
  let running = null;
  let url = null;

  function release() {
    if (url) URL.revokeObjectURL(url);
    url = null;
  }

  function finish() {
    running = null;
    start.disabled = false;
    cancel.disabled = true;
  }

  async function run(event) {
    event.preventDefault();
    if (running) return;
    release();
    result.replaceChildren();
    const asked = {
      since: since.querySelector("input").value.trim(),
      until: until.querySelector("input").value.trim(),
      limit: size.querySelector("input").value.trim(),
    };
    const controller = new AbortController();
    running = controller;
    start.disabled = true;
    cancel.disabled = false;
    progress.hidden = false;
    progress.value = 0;
    const chunks = [];
    let pages = 0;
    let events = 0;
    let tenant = null;
    let cursor = "";
    const from = Date.parse(asked.since);
    const to = asked.until ? Date.parse(asked.until) : Date.now();
    const report = (lead) => {
      status.textContent = `${lead}${events} event${events === 1 ? "" : "s"}, ${pages} page${pages === 1 ? "" : "s"}`;
    };
    report("Exporting: ");
    try {
      do {
        const page = await api.getText(
          "/v1/audit/events",
          [
            ["since", asked.since],
            ["until", asked.until],
            ["limit", asked.limit],
            ["cursor", cursor],
          ],
          { signal: controller.signal },
        );
        if (controller.signal.aborted) break;
        pages += 1;
        const lines = page.text.split("\n").filter(Boolean);
        events += lines.length;
        chunks.push(page.text);
        if (lines.length) {
          const last = JSON.parse(lines[lines.length - 1]);
          tenant = tenant || last.tenant_id;
          const at = Date.parse(last.occurred_at);
          if (to > from) progress.value = Math.min(1, Math.max(0, (at - from) / (to - from)));
        }
        cursor = page.headers.get(NEXT_CURSOR) || "";
        report("Exporting: ");
      } while (cursor && !controller.signal.aborted);
    } catch (error) {
      finish();
      progress.hidden = true;
      if (error.name === "AbortError") {
        report("Cancelled after ");
        return;
      }
      status.textContent = "";
      result.replaceChildren(problem(error));
      return;
    }
    finish();
    if (controller.signal.aborted) {
      progress.hidden = true;
      report("Cancelled after ");
      return;
    }
    progress.value = 1;
    report("Exported ");
    const name = fileName(tenant || keyId.split(".")[0], asked.since, asked.until || iso(new Date(to)));
    url = URL.createObjectURL(new Blob(chunks, { type: "application/x-ndjson" }));
    const link = el("a", {
      id: "export-download",
      class: "download",
      href: url,
      download: name,
      "data-events": String(events),
      text: `Download ${name}`,
      onclick: () => {
        // The browser has the file once the click is handled: the Blob's URL goes after.
        const done = url;
        url = null;
        setTimeout(() => {
          URL.revokeObjectURL(done);
          result.replaceChildren(el("p", { id: "export-saved", text: `Saved ${name}. Export again for another copy.` }));
        }, 1000);
      },
    });
    result.replaceChildren(el("p", {}, link));
    link.focus();
  }

  cancel.addEventListener("click", () => running && running.abort());
  stopping.push(() => {
    if (running) running.abort();
    release();
  });
  return el(
    "section",
    { class: "panel", "aria-labelledby": "export-title" },
    el("h2", { id: "export-title", text: "Export events" }),
    el("p", { class: "hint", text: "Every event of the tenant that occurred in the window (RFC 3339 times; until is exclusive), with its hashes, as NDJSON." }),
    el("form", { class: "audit-form", id: "export-form", onsubmit: run }, since, until, size, el("p", { class: "actions" }, start, cancel)),
    progress,
    status,
    result,
  );
}

function findingItem(finding) {
  const where = finding.kind === "stream"
    ? `Stream ${finding.id}${finding.version != null ? `, version ${finding.version}` : ""}`
    : `Anchor ${finding.id}`;
  return el(
    "li",
    { class: "finding", "data-kind": finding.kind, "data-id": finding.id },
    el("strong", { class: "mono", text: where }),
    `: ${finding.reason}`,
  );
}

function verifySection({ api, stopping }) {
  const since = field("verify-since", "Anchors since (optional)", { placeholder: "every anchor" });
  const size = field("verify-limit", "Streams a page", {
    type: "number",
    min: "1",
    max: "500",
    value: String(VERIFY_PAGE_SIZE),
    inputmode: "numeric",
  });
  const start = el("button", { type: "submit", id: "verify-start", text: "Verify" });
  const cancel = el("button", { type: "button", id: "verify-cancel", disabled: true, text: "Cancel" });
  const progress = el("progress", { id: "verify-progress", hidden: true, "aria-label": "Verification progress" });
  const status = el("p", { id: "verify-status", role: "status", "aria-live": "polite" });
  const result = el("div", { id: "verify-result" });
  let running = null;

  async function run(event) {
    event.preventDefault();
    if (running) return;
    const controller = new AbortController();
    running = controller;
    start.disabled = true;
    cancel.disabled = false;
    progress.hidden = false;
    result.replaceChildren();
    const totals = { pages: 0, anchors: 0, anchored: 0, unanchored: 0 };
    const findings = new Map(); // a stream or anchor named once: its first failure
    const report = (lead) => {
      const checks = totals.anchored + totals.unanchored;
      status.textContent = `${lead}${totals.pages} page${totals.pages === 1 ? "" : "s"}, ${checks} stream head${checks === 1 ? "" : "s"} checked (${totals.anchored} anchored, ${totals.unanchored} not anchored yet), ${totals.anchors} anchor${totals.anchors === 1 ? "" : "s"}`;
    };
    let cursor = "";
    report("Verifying: ");
    try {
      do {
        const page = await api.get(
          "/v1/audit/verify",
          [
            ["since", since.querySelector("input").value.trim()],
            ["limit", size.querySelector("input").value.trim()],
            ["cursor", cursor],
          ],
          { signal: controller.signal },
        );
        if (controller.signal.aborted) break;
        totals.pages += 1;
        totals.anchors += page.anchors;
        totals.anchored += page.anchored;
        totals.unanchored += page.unanchored;
        for (const finding of page.findings) {
          const key = `${finding.kind}:${finding.id}`;
          if (!findings.has(key)) findings.set(key, finding);
        }
        cursor = page.next_cursor || "";
        report("Verifying: ");
      } while (cursor && !controller.signal.aborted);
    } catch (error) {
      running = null;
      start.disabled = false;
      cancel.disabled = true;
      progress.hidden = true;
      if (error.name === "AbortError") {
        report("Cancelled after ");
        return;
      }
      status.textContent = "";
      result.replaceChildren(problem(error));
      return;
    }
    running = null;
    start.disabled = false;
    cancel.disabled = true;
    progress.hidden = true;
    if (controller.signal.aborted) {
      report("Cancelled after ");
      return;
    }
    report("Checked ");
    const ok = findings.size === 0;
    const verdict = el("p", {
      id: "verdict",
      class: `badge ${ok ? "badge-ok" : "badge-bad"}`,
      "data-verified": String(ok),
      tabindex: "-1",
      text: ok
        ? "Verified: every stream checks out against its chain and its anchors"
        : `Does not verify: ${findings.size} problem${findings.size === 1 ? "" : "s"} found`,
    });
    result.replaceChildren(
      verdict,
      ok ? null : el("ul", { id: "verify-findings", class: "findings" }, [...findings.values()].map(findingItem)),
    );
    verdict.focus();
  }

  cancel.addEventListener("click", () => running && running.abort());
  stopping.push(() => running && running.abort());
  return el(
    "section",
    { class: "panel", "aria-labelledby": "verify-title" },
    el("h2", { id: "verify-title", text: "Verify the record" }),
    el("p", { class: "hint", text: "Every head every anchor took in is checked against it and along its chain; streams changed since the last anchor, along their chain." }),
    el("form", { class: "audit-form", id: "verify-form", onsubmit: run }, since, size, el("p", { class: "actions" }, start, cancel)),
    progress,
    status,
    result,
  );
}

// The page for a link's api and scopes; keyId names the tenant when an export is empty.
export function auditPage({ api, scopes, keyId }) {
  if (!scopes.has("audit")) {
    return el(
      "div",
      {},
      el("h1", { text: "Audit" }),
      stateMessage(
        "scope",
        "This link cannot audit",
        "Exporting and verifying the record need the audit scope: ask for a console link with --scopes read,audit.",
      ),
    );
  }
  const stopping = [];
  const stop = () => {
    for (const leave of stopping) leave();
  };
  // Another page shown: cancel what runs here and let go of the download.
  window.addEventListener("hashchange", stop, { once: true });
  return el(
    "div",
    { class: "audit" },
    el("h1", { text: "Audit" }),
    exportSection({ api, keyId, stopping }),
    verifySection({ api, stopping }),
  );
}

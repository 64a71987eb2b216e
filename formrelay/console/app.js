// The console: reads its key from the link's fragment (#k=<key id>&s=<secret>&scopes=...),
// drops the fragment from the address bar, keeps the secret in this tab's memory only, and
// routes on the fragment afterwards (#/, #/submissions/<id>, #/forms[/<id>],
// #/destinations[/<form id>] and #/audit).

import { connect } from "./api.js";
import { auditPage } from "./audit.js";
import { renderDestinations } from "./destinations.js";
import { renderForms } from "./forms.js";
import {
  IN_FLIGHT,
  errorState,
  stateMessage,
  submissionPage,
  submissionsPage,
} from "./views.js";

const REFRESH_MS = 3000;
// Waiting for a redelivery's first attempt: sooner than the in-flight refresh.
const REDELIVERY_REFRESH_MS = 1000;
const main = document.getElementById("main");
const keyLabel = document.getElementById("key");
let api = null;
// The link's scopes: a hint for what to offer (the API still checks every request).
let scopes = new Set(["read"]);
// Redeliveries asked for on the submission shown: destination id -> { busy, seen, error }.
const redeliveries = { submissionId: null, byDestination: new Map() };
let timer = null;
let generation = 0; // a page drawn for an earlier route is not shown

function takeKey() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const keyId = fragment.get("k");
  const secret = fragment.get("s");
  if (!keyId || !secret) return null;
  const named = fragment.get("scopes");
  const held = named ? named.split(",").filter(Boolean) : ["read"];
  // The secret leaves the address bar (and the history entry) at once.
  history.replaceState(null, "", location.pathname + location.search + "#/");
  return { keyId, secret, scopes: new Set(held) };
}

function show(node) {
  main.replaceChildren(node);
}

function refreshLater(render, ms = REFRESH_MS) {
  clearTimeout(timer);
  timer = setTimeout(render, ms);
}

const NO_FILTERS = { form_id: "", status: "", since: "", until: "" };
const list = { filters: { ...NO_FILTERS }, cursors: [null] };

// A datetime-local value (the browser's local time, no zone) as the API's RFC 3339 instant.
function instant(local) {
  if (!local) return "";
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? local : date.toISOString();
}

async function renderList() {
  const mine = generation;
  const { filters, cursors } = list;
  try {
    const query = [
      ["form_id", filters.form_id],
      ["status", filters.status],
      ["since", instant(filters.since)],
      ["until", instant(filters.until)],
      ["cursor", cursors[cursors.length - 1] || ""],
    ];
    let page;
    let problem = null;
    try {
      page = await api.get("/v1/submissions", query);
    } catch (error) {
      // A filter the API refuses (a range that ends before it starts) is shown beside the
      // filters, which stay usable; any other refusal is the page's.
      if (error.status !== 400) throw error;
      page = { submissions: [], next_cursor: null };
      problem = error;
    }
    if (mine !== generation) return;
    const focused = document.activeElement && document.activeElement.id;
    show(
      submissionsPage({
        filters,
        page,
        problem,
        hasPrevious: cursors.length > 1,
        onFilter: (next) => {
          list.filters = next;
          list.cursors = [null];
          renderList();
        },
        onPage: (where) => {
          if (where === "next") list.cursors.push(page.next_cursor);
          else list.cursors = [null];
          renderList();
        },
      }),
    );
    if (focused) document.getElementById(focused)?.focus();
    if (page.submissions.some((s) => IN_FLIGHT.has(s.status))) refreshLater(renderList);
  } catch (error) {
    if (mine === generation) show(errorState(error));
  }
}

// The highest round of delivery to a destination the history shows (0: none yet).
// What ends the wait for a redelivery: the new round's first attempt, or its outcome when
// no attempt is made (a destination disabled or deleted meanwhile fails the round at once).
const ROUND_ANSWERS = new Set(["delivery.attempted", "delivery.failed", "delivery.dead_lettered"]);

// Whether a round asked for after the first `seen` events has had its answer.
function roundAnswered(history, destinationId, seen) {
  const mine = (e) => e.data && e.data.destination_id === destinationId;
  const events = history.events.slice(seen);
  const asked = events.findLastIndex((e) => e.type === "delivery.redelivery_requested" && mine(e));
  return asked >= 0 && events.slice(asked + 1).some((e) => ROUND_ANSWERS.has(e.type) && mine(e));
}

function redeliveriesOf(id) {
  if (redeliveries.submissionId !== id) {
    redeliveries.submissionId = id;
    redeliveries.byDestination = new Map();
  }
  return redeliveries.byDestination;
}

function focusRedeliver(destinationId) {
  const button = [...main.querySelectorAll("button[data-redeliver]")].find(
    (b) => b.dataset.redeliver === destinationId,
  );
  if (button && !button.disabled) button.focus();
}

let shown = null; // the submission page's last answers, for the round a redelivery follows

async function redeliver(id, destinationId) {
  const mine = generation;
  const asked = redeliveriesOf(id);
  if (asked.get(destinationId)?.busy) return;
  const seen = shown && shown.id === id ? shown.history.events.length : 0;
  asked.set(destinationId, { busy: true, seen: null, error: null });
  try {
    await api.post(`/v1/submissions/${encodeURIComponent(id)}/redeliveries`, {
      destination_id: destinationId,
      reason: "redelivered from the console",
    });
    // Busy until the new round's first attempt (or its failure) shows on the timeline.
    asked.set(destinationId, { busy: true, seen, error: null });
  } catch (error) {
    asked.set(destinationId, { busy: false, seen: null, error, refocus: true });
  }
  if (mine === generation) renderSubmission(id);
}

async function renderSubmission(id) {
  const mine = generation;
  const path = `/v1/submissions/${encodeURIComponent(id)}`;
  try {
    const [status, history, verdict] = await Promise.all([
      api.get(path),
      api.get(`${path}/events`),
      api.get(`${path}/verify`),
    ]);
    const proof = verdict.anchored ? await api.get(`${path}/proof`) : null;
    if (mine !== generation) return;
    const asked = redeliveriesOf(id);
    const done = [];
    for (const [destinationId, r] of asked) {
      if (r.seen != null && roundAnswered(history, destinationId, r.seen)) {
        asked.delete(destinationId);
        done.push(destinationId);
      } else if (r.refocus) {
        r.refocus = false;
        done.push(destinationId);
      }
    }
    const focused = document.activeElement;
    const open = main.querySelector("details.proof")?.open;
    shown = { id, history };
    show(
      submissionPage({
        status,
        history,
        verdict,
        proof,
        canRedeliver: scopes.has("submit"),
        redeliveries: asked,
        onRedeliver: (destinationId) => redeliver(id, destinationId),
      }),
    );
    if (open) main.querySelector("details.proof").open = true;
    // A keyboard user's place: the button pressed, or the next one, stays focused.
    const lost = !focused || focused === document.body || !main.contains(focused);
    const pressed = focused?.dataset?.redeliver;
    if (pressed) focusRedeliver(pressed);
    else if (lost && done.length) focusRedeliver(done[0]);
    const awaiting = [...asked.values()].some((r) => r.busy);
    if (awaiting) refreshLater(() => renderSubmission(id), REDELIVERY_REFRESH_MS);
    else if (IN_FLIGHT.has(status.status)) refreshLater(() => renderSubmission(id));
  } catch (error) {
    if (mine === generation) show(errorState(error));
  }
}

function route() {
  generation += 1;
  clearTimeout(timer);
  const match = location.hash.match(/^#\/submissions\/([^/]+)$/);
  const destinations = location.hash.match(/^#\/destinations(?:\/([^/]+))?$/);
  if (match) renderSubmission(decodeURIComponent(match[1]));
  else if (location.hash === "#/audit") show(auditPage({ api, scopes, keyId: keyLabel.textContent }));
  else if (destinations) {
    const mine = generation;
    const formId = destinations[1] ? decodeURIComponent(destinations[1]) : null;
    const draw = () =>
      renderDestinations({ api, scopes, formId, show, current: () => mine === generation, refresh: draw });
    draw();
  } else if (/^#\/forms(\/|\?|$)/.test(location.hash)) {
    const mine = generation;
    renderForms({ api, scopes, show, isCurrent: () => mine === generation });
  } else renderList();
}

async function useKey(key) {
  api = await connect(key.keyId, key.secret);
  keyLabel.textContent = key.keyId;
  scopes = key.scopes;
  redeliveries.submissionId = null;
  list.filters = { ...NO_FILTERS };
  list.cursors = [null];
}

async function start() {
  const key = takeKey();
  if (!key) {
    show(
      stateMessage(
        "nokey",
        "Open the console from its link",
        "The console's key travels in its link and is kept in this tab only: ask for a console link.",
      ),
    );
    return;
  }
  await useKey(key);
  window.addEventListener("hashchange", async () => {
    // Another link opened in this tab: its key replaces this one.
    const next = takeKey();
    if (next) await useKey(next);
    route();
  });
  route();
}

start();

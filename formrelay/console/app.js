// The console: reads its key from the link's fragment (#k=<key id>&s=<secret>), drops
// the fragment from the address bar, keeps the secret in this tab's memory only, and
// routes on the fragment afterwards (#/ and #/submissions/<id>).

import { connect } from "./api.js";
import {
  IN_FLIGHT,
  errorState,
  stateMessage,
  submissionPage,
  submissionsPage,
} from "./views.js";

const REFRESH_MS = 3000;
const main = document.getElementById("main");
const keyLabel = document.getElementById("key");
let api = null;
let timer = null;
let generation = 0; // a page drawn for an earlier route is not shown

function takeKey() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const keyId = fragment.get("k");
  const secret = fragment.get("s");
  if (!keyId || !secret) return null;
  // The secret leaves the address bar (and the history entry) at once.
  history.replaceState(null, "", location.pathname + location.search + "#/");
  return { keyId, secret };
}

function show(node) {
  main.replaceChildren(node);
}

function refreshLater(render) {
  clearTimeout(timer);
  timer = setTimeout(render, REFRESH_MS);
}

const list = { filters: { form_id: "", status: "" }, cursors: [null] };

async function renderList() {
  const mine = generation;
  const { filters, cursors } = list;
  try {
    const page = await api.get("/v1/submissions", [
      ["form_id", filters.form_id],
      ["status", filters.status],
      ["cursor", cursors[cursors.length - 1] || ""],
    ]);
    if (mine !== generation) return;
    const focused = document.activeElement && document.activeElement.id;
    show(
      submissionsPage({
        filters,
        page,
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
    const open = main.querySelector("details.proof")?.open;
    show(submissionPage({ status, history, verdict, proof }));
    if (open) main.querySelector("details.proof").open = true;
    if (IN_FLIGHT.has(status.status)) refreshLater(() => renderSubmission(id));
  } catch (error) {
    if (mine === generation) show(errorState(error));
  }
}

function route() {
  generation += 1;
  clearTimeout(timer);
  const match = location.hash.match(/^#\/submissions\/([^/]+)$/);
  if (match) renderSubmission(decodeURIComponent(match[1]));
  else renderList();
}

async function useKey(key) {
  api = await connect(key.keyId, key.secret);
  keyLabel.textContent = key.keyId;
  list.filters = { form_id: "", status: "" };
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

// The signed API client: every request goes to this origin, signed (signing.js).

import { encodeQuery, importSecret, signRequest } from "./signing.js";

export class ApiError extends Error {
  constructor(status, title, detail) {
    super(`${status} ${title}: ${detail}`);
    this.status = status;
    this.title = title;
    this.detail = detail;
  }
}

// The API's base path: where this page sits, less /console/ (a stage prefix on AWS).
function basePath() {
  const at = location.pathname.lastIndexOf("/console/");
  return at < 0 ? "" : location.pathname.slice(0, at);
}

async function refusal(response) {
  let title = response.statusText || "Error";
  let detail = "";
  try {
    const document = await response.json();
    // problem+json has title and detail; API Gateway's own answers only a message.
    title = document.title || document.message || title;
    detail = document.detail || "";
  } catch {
    // not JSON: the status says it
  }
  return new ApiError(response.status, title, detail);
}

export async function connect(keyId, secret) {
  const secretKey = await importSecret(secret);
  const base = basePath();
  const encoder = new TextEncoder();

  async function request(method, path, { query = [], json, signal, text = false } = {}) {
    const { raw, canonical } = encodeQuery(query.filter(([, v]) => v !== "" && v != null));
    const body = json === undefined ? new Uint8Array() : encoder.encode(JSON.stringify(json));
    const contentType = json === undefined ? "" : "application/json";
    const signed = await signRequest({
      keyId,
      secretKey,
      method,
      path: base + path,
      canonicalQuery: canonical,
      body,
      contentType,
    });
    const headers = contentType ? { ...signed, "Content-Type": contentType } : signed;
    const response = await fetch(base + path + (raw ? `?${raw}` : ""), {
      method,
      headers,
      body: json === undefined ? undefined : body,
      credentials: "omit",
      cache: "no-store",
      referrerPolicy: "no-referrer",
      signal,
    });
    if (!response.ok) {
      throw await refusal(response);
    }
    if (text) return { text: await response.text(), headers: response.headers };
    return response.json();
  }

  // options.signal (an AbortSignal) cancels the request; getText answers the body as text
  // with the response's headers (the export's NDJSON and its next cursor).
  return {
    get: (path, query, { signal } = {}) => request("GET", path, { query, signal }),
    getText: (path, query, { signal } = {}) => request("GET", path, { query, signal, text: true }),
    post: (path, json) => request("POST", path, { json }),
  };
}

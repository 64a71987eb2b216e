// FR2-HMAC-SHA256 request signing with WebCrypto, exactly as the README's "Signing"
// section (and formrelay/auth/signing.py) say: 11 lines joined by "\n", signed with
// HMAC-SHA256 under the key's secret, hex.

const ALGORITHM = "FR2-HMAC-SHA256";
const encoder = new TextEncoder();

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function sha256Hex(bytes) {
  return hex(await crypto.subtle.digest("SHA-256", bytes));
}

// RFC 3986 percent-encoding with the unreserved characters kept (Python's
// quote(value, safe="-_.~")): encodeURIComponent keeps !'()* too, so those are encoded.
export function percentEncode(value) {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase(),
  );
}

// [[key, value], ...] -> the query as sent, and as signed (pairs encoded, then sorted).
export function encodeQuery(pairs) {
  const encoded = pairs.map(([k, v]) => [percentEncode(k), percentEncode(v)]);
  const raw = encoded.map(([k, v]) => `${k}=${v}`).join("&");
  const sorted = [...encoded].sort((a, b) =>
    a[0] === b[0] ? (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0) : a[0] < b[0] ? -1 : 1,
  );
  return { raw, canonical: sorted.map(([k, v]) => `${k}=${v}`).join("&") };
}

function nonce() {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

function bound(value) {
  return (value || "").replace(/^[ \t]+|[ \t]+$/g, "");
}

// The five signature headers for one request. `secretKey` is a non-extractable
// WebCrypto HMAC key made from the secret (importSecret).
export async function signRequest({
  keyId,
  secretKey,
  method,
  path,
  canonicalQuery = "",
  body = new Uint8Array(),
  contentType = "",
  idempotencyKey = "",
  correlationId = "",
}) {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const requestNonce = nonce();
  const contentSha256 = await sha256Hex(body);
  const message = [
    ALGORITHM,
    timestamp,
    requestNonce,
    method.toUpperCase(),
    path,
    canonicalQuery,
    keyId,
    contentSha256,
    bound(contentType),
    bound(idempotencyKey),
    bound(correlationId),
  ].join("\n");
  const signature = await crypto.subtle.sign("HMAC", secretKey, encoder.encode(message));
  return {
    "X-Fr-Key-Id": keyId,
    "X-Fr-Timestamp": timestamp,
    "X-Fr-Nonce": requestNonce,
    "X-Fr-Content-Sha256": contentSha256,
    "X-Fr-Signature": hex(signature),
  };
}

// The secret as a WebCrypto key that cannot be read back out of it.
export function importSecret(secret) {
  return crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
}

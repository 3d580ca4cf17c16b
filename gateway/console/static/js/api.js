// The admin API, as the CLI calls it: one bearer token, JSON in and out, errors as
// {"error": {"message", "type", "code"}}. The token lives in sessionStorage: it is sent only in
// the Authorization header (never a cookie, so no other site can make the browser use it) and
// is gone when the tab closes.

const TOKEN_KEY = "aigw.console.token";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
  },
};

// Called when the API says the token is no longer good (revoked, expired, member removed).
let onUnauthorized = () => {};
export function whenUnauthorized(callback) {
  onUnauthorized = callback;
}

export async function api(method, path, { query, body, token } = {}) {
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  const headers = { Authorization: `Bearer ${token ?? session.token ?? ""}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "unreachable", "The admin listener does not answer; is the node running?");
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = data && data.error;
    const failure = new ApiError(
      response.status,
      error ? error.code : "http_error",
      error ? error.message : `${response.status} ${response.statusText}`,
    );
    if (response.status === 401 && token === undefined) onUnauthorized(failure);
    throw failure;
  }
  return data;
}

export const get = (path, query) => api("GET", path, { query });
export const post = (path, body) => api("POST", path, { body });
export const put = (path, body) => api("PUT", path, { body });
export const del = (path) => api("DELETE", path);

// A path segment: a subject like "acme/tools" travels as one segment, as the API expects.
export const seg = (value) => encodeURIComponent(String(value));

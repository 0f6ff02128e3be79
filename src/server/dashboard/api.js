/*
 * api.js - the admin JSON API as the dashboard uses it. The admin token
 * lives in sessionStorage (this tab only, gone when it closes), never in a
 * URL; every request carries it as "Authorization: Bearer", as fota-admin
 * sends it. A refusal becomes an ApiError whose text is the one fota-admin
 * prints for it.
 */
const KEY = 'fota-admin-token';

export const token = {
  get: () => sessionStorage.getItem(KEY),
  set: (t) => sessionStorage.setItem(KEY, t),
  clear: () => sessionStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(status, code, message) {
    super(status >= 400 && status < 500
      ? `refused by the server (HTTP ${status} ${code}): ${message}`
      : `server failure (HTTP ${status} ${code}): ${message}`);
    this.status = status;
    this.code = code;
    this.serverMessage = message;
  }
}

/* Called on a 401 with the stored token (app.js shows the login form). */
let onUnauthorized = () => {};
export function whenUnauthorized(fn) { onUnauthorized = fn; }

function errorOf(status, text) {
  let code = '', message = text || '(no message)';
  try {
    const e = JSON.parse(text);
    code = e.error || '';
    message = e.message || message;
  } catch (_) { /* not JSON: the text as it came */ }
  return new ApiError(status, code, message);
}

/* method, path under /api/admin (or /metrics), optional JSON body. */
export async function api(method, path, body, tok) {
  const headers = {Authorization: `Bearer ${tok || token.get() || ''}`};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path.startsWith('/') ? path : `/api/admin/${path}`, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store', credentials: 'omit',
    });
  } catch (e) {
    throw new ApiError(0, 'network', `cannot reach the server: ${e.message}`);
  }
  const text = await res.text();
  if (!res.ok) {
    const err = errorOf(res.status, text);
    if (res.status === 401 && !tok) onUnauthorized(err);
    throw err;
  }
  return text ? JSON.parse(text) : null;
}

/* POST /api/admin/releases with the file as the body, reporting progress
 * (sent, total) as it goes. Resolves with the release. */
export function uploadRelease(file, query, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const qs = new URLSearchParams(query).toString();
    xhr.open('POST', `/api/admin/releases${qs ? `?${qs}` : ''}`);
    xhr.setRequestHeader('Authorization', `Bearer ${token.get() || ''}`);
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onerror = () => reject(new ApiError(0, 'network',
      'the upload was cut (the server closes the connection when it refuses a body early)'));
    xhr.onload = () => {
      if (xhr.status === 201) {
        onProgress(file.size, file.size);
        resolve(JSON.parse(xhr.responseText));
        return;
      }
      const err = errorOf(xhr.status, xhr.responseText);
      if (xhr.status === 401) onUnauthorized(err);
      reject(err);
    };
    xhr.send(file);
  });
}

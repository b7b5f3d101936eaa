// The one HTTP chokepoint to the API server: every call of the Kube port and every LIST of the
// watcher goes through `request`.
//
// Rules:
// - Credentials, CA and insecure-skip-tls-verify come from client-node's
//   `kc.applyToFetchOptions({})`, called per request (so rotating tokens are re-read), whose
//   https.Agent carries the TLS material. client-node 1.4 itself sends with node-fetch 2 and that
//   agent; Node's global fetch (undici) would silently ignore the agent, so we send with
//   node:http/https, which honour it. We keep one keep-alive copy of a plain https.Agent (a new
//   TLS handshake per write would cost more than the write), rebuilt when the TLS material
//   changes; proxy agents are used as given.
// - Every request has a timeout (default 30 s) and may take the caller's AbortSignal; a
//   command's stop signal (RestOptions.signal) ends every request made through it, so an API
//   server that accepts connections but never answers cannot hold a shutdown.
// - Every failure is a KubeApiError: 404 NotFound, 409 Conflict, 400/422 Invalid, 401/403
//   Forbidden, 429/5xx and no answer (network, timeout) Unavailable, anything else Other. The
//   message is the Status object's `message` when the server sent one.
// - Nothing is logged here: the caller knows what the failure means and logs it.
import * as http from 'node:http';
import * as https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, type KubeErrorKind } from '../../effects/ports.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export type Query = Readonly<Record<string, string | number | boolean | undefined>>;

export interface RequestOptions {
  /** Sent as JSON. */
  readonly body?: unknown;
  /** Default `application/json` (PATCH callers pass `application/merge-patch+json`). */
  readonly contentType?: string;
  /** Appended to the path's own query string; undefined values are skipped. */
  readonly query?: Query;
  /** Overrides the chokepoint's timeout for this request. */
  readonly timeoutMs?: number;
  /** Aborting rejects with an Unavailable KubeApiError whose message says "aborted". */
  readonly signal?: AbortSignal;
}

/** Resolves to the response's JSON (undefined for an empty body) or rejects with a KubeApiError. */
export type Request = (method: HttpMethod, path: string, options?: RequestOptions) => Promise<unknown>;

export interface RestOptions {
  /** Per request; default 30 000. */
  readonly timeoutMs?: number;
  /** The process's stop signal: aborting it ends every request made through this function. */
  readonly signal?: AbortSignal;
}

export const DEFAULT_TIMEOUT_MS = 30_000;

/** The error kind of an HTTP status (0: no answer). */
export function kindOfStatus(status: number): KubeErrorKind {
  if (status === 404) return 'NotFound';
  if (status === 409) return 'Conflict';
  if (status === 400 || status === 422) return 'Invalid';
  if (status === 401 || status === 403) return 'Forbidden';
  if (status === 0 || status === 429 || status >= 500) return 'Unavailable';
  return 'Other';
}

/** The `message` of a metav1.Status, when `body` is one. */
export function statusMessage(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const message = (body as { readonly message?: unknown }).message;
  return typeof message === 'string' && message !== '' ? message : undefined;
}

/** A KubeApiError for an answer with a non-2xx `status`, from its parsed body or its text. */
export function errorFromResponse(operation: string, status: number, body: unknown, text: string): KubeApiError {
  const trimmed = text.trim();
  const message = statusMessage(body) ?? (trimmed !== '' ? trimmed.slice(0, 500) : http.STATUS_CODES[status] ?? 'unknown status');
  return new KubeApiError(kindOfStatus(status), status, operation, message);
}

/** Any thrown value as a KubeApiError (a KubeApiError stays as it is; others are Unavailable, 0). */
export function toKubeApiError(operation: string, err: unknown): KubeApiError {
  if (err instanceof KubeApiError) return err;
  const status = typeof err === 'object' && err !== null ? (err as { readonly statusCode?: unknown }).statusCode : undefined;
  if (typeof status === 'number' && status > 0) return new KubeApiError(kindOfStatus(status), status, operation, errorText(err));
  return new KubeApiError('Unavailable', 0, operation, errorText(err));
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { readonly code?: unknown }).code;
    return typeof code === 'string' && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}

/** The request function bound to `kc`'s current cluster (see the rules above). */
export function makeRest(kc: KubeConfig, options: RestOptions = {}): Request {
  const defaultTimeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const agents = agentCache();
  return async (method, path, req = {}) => {
    const operation = `${method} ${path}`;
    const server = kc.getCurrentCluster()?.server;
    if (server === undefined || server === '') throw new KubeApiError('Other', 0, operation, 'the kubeconfig has no current cluster');
    const url = new URL(server.replace(/\/+$/, '') + path);
    for (const [key, value] of Object.entries(req.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    let init: Awaited<ReturnType<KubeConfig['applyToFetchOptions']>>;
    try {
      init = await kc.applyToFetchOptions({});
    } catch (err) {
      throw new KubeApiError('Forbidden', 0, operation, `credentials: ${errorText(err)}`);
    }
    const headers: Record<string, string> = { ...plainHeaders(init.headers), accept: 'application/json' };
    const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
    if (payload !== undefined) {
      headers['content-type'] = req.contentType ?? 'application/json';
      headers['content-length'] = String(payload.length);
    }
    const timeoutMs = req.timeoutMs ?? defaultTimeout;
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), timeoutMs);
    const callers = [req.signal, options.signal].filter((x): x is AbortSignal => x !== undefined);
    const signal = callers.length === 0 ? timeout.signal : AbortSignal.any([timeout.signal, ...callers]);
    let answer: { readonly status: number; readonly text: string };
    try {
      answer = await send(url, { method, headers, agent: agents.get(init.agent), signal }, payload);
    } catch (err) {
      const why = timeout.signal.aborted ? `no answer within ${timeoutMs} ms` : callers.some((c) => c.aborted) ? 'aborted' : errorText(err);
      throw new KubeApiError('Unavailable', 0, operation, why);
    } finally {
      clearTimeout(timer);
    }
    const body = parseJson(answer.text);
    if (answer.status < 200 || answer.status > 299) throw errorFromResponse(operation, answer.status, body, answer.text);
    if (body === invalidJson) throw new KubeApiError('Other', answer.status, operation, `the answer is not JSON: ${answer.text.slice(0, 200)}`);
    return body;
  };
}

const invalidJson: unique symbol = Symbol('invalid JSON');

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return invalidJson;
  }
}

/** node-fetch Headers, an entry list or a record, as a plain record. */
function plainHeaders(h: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(h)) {
    for (const [k, v] of h as [string, string][]) out[k.toLowerCase()] = v;
  } else if (typeof h === 'object' && h !== null && typeof (h as { forEach?: unknown }).forEach === 'function') {
    (h as { forEach(cb: (value: string, name: string) => void): void }).forEach((value, name) => {
      out[name.toLowerCase()] = value;
    });
  } else if (typeof h === 'object' && h !== null) {
    for (const [k, v] of Object.entries(h)) if (typeof v === 'string') out[k.toLowerCase()] = v;
  }
  return out;
}

/** One request over node:http(s); resolves with the status and the whole body as text. */
function send(
  url: URL,
  options: { readonly method: string; readonly headers: Record<string, string>; readonly agent: http.Agent | undefined; readonly signal: AbortSignal },
  payload: Buffer | undefined,
): Promise<{ readonly status: number; readonly text: string }> {
  return new Promise((resolve, reject) => {
    const transport = url.protocol === 'http:' ? http : https;
    const req = transport.request(url, { method: options.method, headers: options.headers, signal: options.signal, ...(options.agent === undefined ? {} : { agent: options.agent }) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('close', () => {
        if (res.complete) resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        else reject(new Error('the connection closed before the answer was complete'));
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const TLS_FIELDS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername'] as const;

function sameValue(a: unknown, b: unknown): boolean {
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  return a === b;
}

/**
 * Turns the throwaway agent of each applyToFetchOptions call into a long-lived keep-alive one.
 * A plain https.Agent is copied once with keepAlive and reused while its TLS material is the
 * same; a plain http.Agent (http:// server) likewise; proxy agents are returned as given.
 */
function agentCache(): { get(fresh: unknown): http.Agent | undefined } {
  let cached: { readonly source: https.AgentOptions; readonly agent: https.Agent } | undefined;
  let plain: http.Agent | undefined;
  return {
    get(fresh) {
      if (fresh instanceof https.Agent && fresh.constructor === https.Agent) {
        const source = fresh.options;
        if (cached === undefined || !TLS_FIELDS.every((f) => sameValue(cached?.source[f], source[f]))) {
          cached?.agent.destroy();
          cached = { source, agent: new https.Agent({ ...source, keepAlive: true }) };
        }
        return cached.agent;
      }
      if (fresh instanceof http.Agent && fresh.constructor === http.Agent) {
        plain ??= new http.Agent({ keepAlive: true });
        return plain;
      }
      return fresh instanceof http.Agent ? fresh : undefined;
    },
  };
}

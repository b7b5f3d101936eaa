// The admission webhook's HTTPS server: AdmissionReview admission.k8s.io/v1 in and out, and the
// health, readiness and metrics endpoints of its Deployment.
//
// Rules:
// - `POST /mutate` and `POST /validate` decode the AdmissionReview at the edge (io-ts; the
//   error names the field), call the handler and answer an AdmissionReview v1 with the
//   request's uid, `allowed`, a 403 Forbidden `status` when denied, `warnings` when any and,
//   from /mutate only, a base64 JSONPatch when the patch is not empty.
// - A body that is not an AdmissionReview is a 400 (a metav1.Status naming the field); one over
//   MAX_BODY_BYTES a 413; a handler that throws a 500 (logged): the webhook's failurePolicy
//   decides, not us. Other paths are 404, other methods 405. Failures are metav1.Status objects
//   (with `message`), so the API server shows their message. Nothing a client sends crashes it.
// - The API server appends `?timeout=…` to the webhook URL: only the path is routed.
// - `GET /healthz` is 200 while the process serves; `GET /readyz` 200 only while `ready()`;
//   `GET /metrics` when a prom-client registry is given (requests by path and result, latency).
// - Keep-alive is on (the API server reuses connections); `setTls` swaps the certificate for new
//   connections without a restart.
import * as https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as t from 'io-ts';
import { isLeft } from 'fp-ts/lib/Either.js';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { Log } from '../../effects/ports.js';
import type { WebhookTls } from './certs.js';
import { preview } from '../../domain/schema/decode.js';

export interface GroupVersionKind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

export interface AdmissionUserInfo {
  readonly username?: string;
  readonly uid?: string;
  readonly groups?: readonly string[];
}

export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

/** The `request` of an AdmissionReview v1, decoded. */
export interface AdmissionReviewRequest {
  readonly uid: string;
  readonly operation: AdmissionOperation;
  readonly kind: GroupVersionKind;
  /** '' for a cluster-scoped object. */
  readonly namespace: string;
  /** '' on a CREATE with generateName. */
  readonly name: string;
  readonly object: unknown;
  readonly oldObject?: unknown;
  readonly dryRun?: boolean;
  readonly userInfo?: AdmissionUserInfo;
}

export interface JsonPatchOperation {
  readonly op: string;
  readonly path: string;
  readonly value?: unknown;
}

export interface AdmissionOutcome {
  readonly allowed: boolean;
  /** The denial's message (shown by kubectl). */
  readonly message?: string;
  readonly warnings: readonly string[];
  /** Applied by the API server when allowed, from /mutate only. */
  readonly patch: readonly JsonPatchOperation[];
}

export interface AdmissionHandlers {
  readonly mutate: (review: AdmissionReviewRequest) => AdmissionOutcome | Promise<AdmissionOutcome>;
  readonly validate: (review: AdmissionReviewRequest) => AdmissionOutcome | Promise<AdmissionOutcome>;
}

export interface WebhookServerOptions {
  readonly host: string;
  /** 0 picks a free port (see the result's `port`). */
  readonly port: number;
  readonly tls: WebhookTls;
  readonly handlers: AdmissionHandlers;
  readonly ready: () => boolean;
  readonly log: Log;
  /** When given, /metrics serves it, and the admission metrics are registered in it. */
  readonly registry?: Registry;
}

export interface WebhookServer {
  readonly port: number;
  /** Serves `tls` to every connection made from now on. */
  setTls(tls: WebhookTls): void;
  /** Stops accepting, closes idle keep-alive connections, and resolves when all are closed. */
  close(): Promise<void>;
}

export const MAX_BODY_BYTES = 3 * 1024 * 1024;
const ADMISSION_V1 = 'admission.k8s.io/v1';

const Gvk = t.type({ group: t.string, version: t.string, kind: t.string });
const ReviewBody = t.type({
  apiVersion: t.literal(ADMISSION_V1),
  kind: t.literal('AdmissionReview'),
  request: t.intersection([
    t.type({ uid: t.string, operation: t.keyof({ CREATE: null, UPDATE: null, DELETE: null, CONNECT: null }), kind: Gvk }),
    t.partial({
      namespace: t.string, name: t.string, object: t.unknown, oldObject: t.unknown, dryRun: t.boolean,
      userInfo: t.partial({ username: t.string, uid: t.string, groups: t.array(t.string) }),
    }),
  ]),
});

/** The AdmissionReview's request, or the decoding errors (each naming its field). */
export function decodeReview(body: unknown): AdmissionReviewRequest | readonly string[] {
  const decoded = ReviewBody.decode(body);
  if (isLeft(decoded)) return [...new Set(decoded.left.map(describeError))];
  const r = decoded.right.request;
  return {
    uid: r.uid, operation: r.operation, kind: r.kind, namespace: r.namespace ?? '', name: r.name ?? '', object: r.object,
    ...(r.oldObject === undefined ? {} : { oldObject: r.oldObject }),
    ...(r.dryRun === undefined ? {} : { dryRun: r.dryRun }),
    ...(r.userInfo === undefined ? {} : { userInfo: r.userInfo }),
  };
}

/** `request.uid: expected string, got 7` (the keys into an intersection's parts left out). */
function describeError(e: t.ValidationError): string {
  const path = e.context.filter((c, i) => c.key !== '' && !(e.context[i - 1]?.type instanceof t.IntersectionType)).map((c) => c.key).join('.');
  const last = e.context[e.context.length - 1];
  // preview, not JSON.stringify: a body nested 100,000 deep would overflow the stack.
  const got = preview(e.value, 100);
  return `${path === '' ? 'the body' : path}: expected ${last?.type.name ?? 'a value'}, got ${got}`;
}

/** The AdmissionReview v1 answering `uid` with `outcome` (a patch only when `withPatch`). */
export function reviewResponse(uid: string, outcome: AdmissionOutcome, withPatch: boolean): object {
  return {
    apiVersion: ADMISSION_V1,
    kind: 'AdmissionReview',
    response: {
      uid,
      allowed: outcome.allowed,
      ...(outcome.allowed ? {} : { status: { code: 403, reason: 'Forbidden', message: outcome.message ?? 'denied by the kube-ovn-ipam webhook' } }),
      ...(outcome.warnings.length === 0 ? {} : { warnings: [...outcome.warnings] }),
      ...(withPatch && outcome.allowed && outcome.patch.length > 0
        ? { patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(outcome.patch)).toString('base64') }
        : {}),
    },
  };
}

type Result = 'allowed' | 'denied' | 'bad_request' | 'error';

interface AdmissionMetrics {
  observe(path: string, result: Result, seconds: number): void;
}

/** The counter and histogram in `registry` (reused when another server registered them). */
function admissionMetrics(registry: Registry | undefined): AdmissionMetrics {
  if (registry === undefined) return { observe: () => undefined };
  const counterName = 'kube_ovn_ipam_webhook_admission_requests_total';
  const histogramName = 'kube_ovn_ipam_webhook_admission_seconds';
  const counter = (registry.getSingleMetric(counterName) as Counter<'path' | 'result'> | undefined)
    ?? new Counter({ name: counterName, help: 'Admission reviews answered, by path and result.', labelNames: ['path', 'result'], registers: [registry] });
  const histogram = (registry.getSingleMetric(histogramName) as Histogram<'path' | 'result'> | undefined)
    ?? new Histogram({ name: histogramName, help: 'Time to answer an admission review, by path and result.', labelNames: ['path', 'result'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: [registry] });
  return {
    observe: (path, result, seconds) => {
      counter.inc({ path, result });
      histogram.observe({ path, result }, seconds);
    },
  };
}

class BodyTooLarge extends Error {}

/** The request's body; rejects with BodyTooLarge past `limit` bytes. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length'] ?? 0) > limit) {
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** A failure answer: a metav1.Status, whose message the API server then shows the user. */
function fail(res: ServerResponse, code: number, message: string): void {
  const reason = ({ 400: 'BadRequest', 404: 'NotFound', 405: 'MethodNotAllowed', 413: 'RequestEntityTooLarge' } as Record<number, string>)[code] ?? 'InternalError';
  send(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

function send(res: ServerResponse, status: number, body: object | string, contentType = 'application/json'): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Starts the HTTPS server (see the rules above); resolves once it listens. */
export async function startWebhookServer(o: WebhookServerOptions): Promise<WebhookServer> {
  const metrics = admissionMetrics(o.registry);

  const review = async (path: 'mutate' | 'validate', req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = process.hrtime.bigint();
    const done = (result: Result): void => metrics.observe(`/${path}`, result, Number(process.hrtime.bigint() - started) / 1e9);
    let raw: Buffer;
    try {
      raw = await readBody(req, MAX_BODY_BYTES);
    } catch (err) {
      if (err instanceof BodyTooLarge) {
        // The rest of the body is not read: close the connection after answering.
        res.setHeader('connection', 'close');
        fail(res, 413, `the body is larger than ${MAX_BODY_BYTES} bytes`);
        done('bad_request');
        return;
      }
      throw err;
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch (err) {
      fail(res, 400, `the body is not JSON: ${message(err)}`);
      done('bad_request');
      return;
    }
    const request = decodeReview(body);
    if (!('uid' in request)) {
      fail(res, 400, `the body is not an AdmissionReview ${ADMISSION_V1}: ${request.join('; ')}`);
      done('bad_request');
      return;
    }
    let outcome: AdmissionOutcome;
    try {
      outcome = await o.handlers[path](request);
    } catch (err) {
      o.log.error('admission handler failed', { path, uid: request.uid, kind: request.kind.kind, namespace: request.namespace, name: request.name, error: message(err) });
      fail(res, 500, `the ${path} handler failed: ${message(err)}`);
      done('error');
      return;
    }
    send(res, 200, reviewResponse(request.uid, outcome, path === 'mutate'));
    done(outcome.allowed ? 'allowed' : 'denied');
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'https://webhook').pathname;
    const method = req.method ?? 'GET';
    const only = (allowed: string, run: () => Promise<void> | void): Promise<void> | void => {
      if (method === allowed) return run();
      res.setHeader('allow', allowed);
      fail(res, 405, `${method} ${path}: only ${allowed} is served`);
      req.resume();
    };
    switch (path) {
      case '/mutate':
      case '/validate':
        return only('POST', () => review(path === '/mutate' ? 'mutate' : 'validate', req, res));
      case '/healthz':
        return only('GET', () => send(res, 200, 'ok', 'text/plain'));
      case '/readyz':
        return only('GET', () => (o.ready() ? send(res, 200, 'ok', 'text/plain') : send(res, 503, 'not ready', 'text/plain')));
      case '/metrics': {
        const registry = o.registry;
        if (registry !== undefined) return only('GET', async () => send(res, 200, await registry.metrics(), registry.contentType));
        break;
      }
    }
    fail(res, 404, `${method} ${path}: not found (served: POST /mutate, POST /validate, GET /healthz, GET /readyz${o.registry === undefined ? '' : ', GET /metrics'})`);
    req.resume();
  };

  const server = https.createServer({ cert: o.tls.certPem, key: o.tls.keyPem, minVersion: 'TLSv1.2', keepAlive: true }, (req, res) => {
    route(req, res).catch((err: unknown) => {
      o.log.error('webhook request failed', { method: req.method, url: req.url, error: message(err) });
      if (!res.headersSent) fail(res, 500, message(err));
      else res.destroy();
    });
  });
  // Longer than the API server's idle connections are kept (Go's 90 s), so it closes them first.
  server.keepAliveTimeout = 100_000;
  server.headersTimeout = 110_000;
  server.requestTimeout = 30_000;
  server.on('tlsClientError', (err) => o.log.debug('webhook TLS handshake failed', { error: message(err) }));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => o.log.error('webhook server error', { error: message(err) }));
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    port,
    setTls: (tls) => server.setSecureContext({ cert: tls.certPem, key: tls.keyPem, minVersion: 'TLSv1.2' }),
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Connections busy with a request get its answer, then are closed.
        setTimeout(() => server.closeAllConnections(), 5_000).unref();
      });
      return closing;
    },
  };
}

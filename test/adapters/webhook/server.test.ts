// The webhook's HTTPS server: called by a real kube-apiserver (DESIGN.md §4) registered through
// real Mutating/ValidatingWebhookConfigurations whose caBundle ensureWebhookTls wrote, and
// directly over HTTPS for what the API server never sends (bad bodies, other paths), readiness,
// metrics and the certificate swap. One API server and one webhook server for the file.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { X509Certificate } from 'node:crypto';
import { Agent, request } from 'node:https';
import { connect } from 'node:tls';
import type { KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { loadKubeConfig } from '../../../src/adapters/kube/config.js';
import { ensureWebhookTls, syncCaBundle, type CertOptions, type WebhookTls } from '../../../src/adapters/webhook/certs.js';
import { MAX_BODY_BYTES, startWebhookServer, type AdmissionOutcome, type AdmissionReviewRequest, type WebhookServer } from '../../../src/adapters/webhook/server.js';
import type { Log } from '../../../src/effects/ports.js';
import { startApiServer, type ApiServer } from '../../harness/apiserver.js';

const DAY = 24 * 3600 * 1000;
const NS = 'webhook-e2e';
const CONFIG = 'kube-ovn-ipam-test';
const LABEL = 'kube-ovn-ipam.io/mutated';

const memoryLog = (): Log & { readonly lines: string[] } => {
  const lines: string[] = [];
  const at = (level: string) => (msg: string, fields?: Readonly<Record<string, unknown>>): void => void lines.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`);
  return { lines, info: at('info'), warn: at('warn'), error: at('error'), debug: () => undefined };
};

let api: ApiServer;
let kc: KubeConfig;
let tls: WebhookTls;
let server: WebhookServer;
let ready = false;
const log = memoryLog();
const registry = new Registry();
const certOptions: CertOptions = {
  namespace: 'default', secretName: 'webhook-tls', serviceName: 'webhook', extraSans: ['127.0.0.1'],
  mutatingWebhookConfigurations: [CONFIG], validatingWebhookConfigurations: [CONFIG], validityMs: 365 * DAY, renewBeforeMs: 30 * DAY,
};

const nameOf = (r: AdmissionReviewRequest): string => (r.object as { metadata?: { name?: string } }).metadata?.name ?? '';

/** Denies pods named deny-*, warns about pods named warn-*, throws for pods named throw-*. */
const validate = (r: AdmissionReviewRequest): AdmissionOutcome => {
  const name = nameOf(r);
  if (name.startsWith('throw-')) throw new Error(`cannot review ${name}`);
  if (name.startsWith('deny-')) return { allowed: false, message: `pod name "${name}" is refused by the test webhook`, warnings: [`${name} was looked at`], patch: [] };
  return { allowed: true, warnings: name.startsWith('warn-') ? [`${name} is allowed with a warning`] : [], patch: [{ op: 'add', path: '/never', value: 1 }] };
};

/** Adds the label LABEL=true. */
const mutate = (r: AdmissionReviewRequest): AdmissionOutcome => {
  const labels = (r.object as { metadata?: { labels?: Record<string, string> } }).metadata?.labels;
  return {
    allowed: true, warnings: [],
    patch: labels === undefined ? [{ op: 'add', path: '/metadata/labels', value: { [LABEL]: 'true' } }] : [{ op: 'add', path: `/metadata/labels/${LABEL.replace('/', '~1')}`, value: 'true' }],
  };
};

const webhookConfig = (kind: 'Mutating' | 'Validating', path: string, port: number): object => ({
  apiVersion: 'admissionregistration.k8s.io/v1', kind: `${kind}WebhookConfiguration`, metadata: { name: CONFIG },
  webhooks: [{
    name: `${path}.test.kube-ovn-ipam.io`, admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Fail', timeoutSeconds: 5,
    clientConfig: { url: `https://127.0.0.1:${port}/${path}` },
    namespaceSelector: { matchLabels: { 'kube-ovn-ipam-test': 'webhook' } },
    rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
  }],
});

const pod = (name: string, labels?: Record<string, string>): string => JSON.stringify({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS, ...(labels === undefined ? {} : { labels }) }, spec: { containers: [{ name: 'c', image: 'pause' }] },
});

beforeAll(async () => {
  api = await startApiServer({ crds: false });
  kc = loadKubeConfig(api.kubeconfigPath);
  // The configurations do not exist yet: ensureWebhookTls skips them, syncCaBundle writes them later.
  tls = await ensureWebhookTls(kc, certOptions, new Date(), log);
  server = await startWebhookServer({ host: '127.0.0.1', port: 0, tls, handlers: { mutate, validate }, ready: () => ready, log, registry });
  await api.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: { 'kube-ovn-ipam-test': 'webhook' } } },
    webhookConfig('Mutating', 'mutate', server.port), webhookConfig('Validating', 'validate', server.port),
  ] }) });
  expect((await syncCaBundle(kc, certOptions, tls.caPem, log)).patched).toEqual([`mutatingwebhookconfigurations/${CONFIG}`, `validatingwebhookconfigurations/${CONFIG}`]);
  // The API server picks configurations up asynchronously: wait until a dry run is denied.
  for (let i = 0; ; i++) {
    const r = await api.kubectl(['create', '--dry-run=server', '-f', '-'], { input: pod('deny-probe') });
    if (r.code !== 0 && r.stderr.includes('denied the request')) break;
    if (i > 100) throw new Error(`the webhook was never called: ${r.stderr}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}, 120_000);

afterAll(async () => {
  await server?.close();
  await api?.stop();
}, 60_000);

describe('called by the API server', () => {
  it('denies a pod with the exact message and warning, and the pod does not exist', async () => {
    const r = await api.kubectl(['create', '-f', '-'], { input: pod('deny-me') });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('Warning: deny-me was looked at\n'
      + 'Error from server (Forbidden): error when creating "STDIN": admission webhook "validate.test.kube-ovn-ipam.io" denied the request: pod name "deny-me" is refused by the test webhook\n');
    const got = await api.kubectl(['get', 'pod', 'deny-me', '-n', NS, '-o', 'name']);
    expect(got.stderr).toBe('Error from server (NotFound): pods "deny-me" not found\n');
  });

  it('admits a pod with the mutating patch applied (and no patch taken from the validating answer)', async () => {
    const r = await api.kubectl(['create', '-f', '-'], { input: pod('allow-me', { app: 'x' }) });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const stored = JSON.parse(await api.kubectlOk(['get', 'pod', 'allow-me', '-n', NS, '-o', 'json'])) as { metadata: { labels: Record<string, string> }; never?: unknown };
    expect(stored.metadata.labels).toEqual({ app: 'x', [LABEL]: 'true' });
    expect(stored.never).toBeUndefined();
  });

  it('passes an admission warning on to kubectl', async () => {
    const r = await api.kubectl(['create', '-f', '-'], { input: pod('warn-me') });
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: 'pod/warn-me created\n', stderr: 'Warning: warn-me is allowed with a warning\n' });
    const stored = JSON.parse(await api.kubectlOk(['get', 'pod', 'warn-me', '-n', NS, '-o', 'json'])) as { metadata: { labels: Record<string, string> } };
    expect(stored.metadata.labels).toEqual({ [LABEL]: 'true' });
  });

  it('a handler that throws answers 500 (a Status the API server quotes); failurePolicy Fail then rejects the pod', async () => {
    const r = await api.kubectl(['create', '-f', '-'], { input: pod('throw-me') });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('Error from server (InternalError): error when creating "STDIN": Internal error occurred: failed calling webhook "validate.test.kube-ovn-ipam.io": failed to call webhook: the validate handler failed: cannot review throw-me\n');
    expect(log.lines.some((l) => l.startsWith('error admission handler failed') && l.includes('"error":"cannot review throw-me"'))).toBe(true);
  });
});

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  readonly reused: boolean;
}

/** One HTTPS request to the webhook server, trusting only its CA. */
const call = (method: string, path: string, body?: string | Buffer, options: { ca?: string; agent?: Agent } = {}): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, method, path, ca: options.ca ?? tls.caPem, agent: options.agent ?? false,
      headers: body === undefined ? {} : { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), reused: req.reusedSocket }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });

const review = (name: string, extra: object = {}): string => JSON.stringify({
  apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
  request: { uid: `uid-${name}`, operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'Pod' }, namespace: NS, name, object: { metadata: { name } }, ...extra },
});

describe('over HTTPS directly', () => {
  it('answers an AdmissionReview v1: uid echoed, 403 status when denied, warnings, a base64 JSONPatch from /mutate only', async () => {
    const denied = await call('POST', '/validate?timeout=5s', review('deny-x'));
    expect({ status: denied.status, body: JSON.parse(denied.body) as unknown }).toEqual({ status: 200, body: {
      apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
      response: { uid: 'uid-deny-x', allowed: false, status: { code: 403, reason: 'Forbidden', message: 'pod name "deny-x" is refused by the test webhook' }, warnings: ['deny-x was looked at'] },
    } });
    const validated = await call('POST', '/validate', review('ok'));
    expect(JSON.parse(validated.body)).toEqual({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'uid-ok', allowed: true } });
    const mutated = await call('POST', '/mutate', review('ok'));
    const patch = Buffer.from(JSON.stringify([{ op: 'add', path: '/metadata/labels', value: { [LABEL]: 'true' } }])).toString('base64');
    expect(JSON.parse(mutated.body)).toEqual({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'uid-ok', allowed: true, patchType: 'JSONPatch', patch } });
  });

  it.each([
    ['not JSON', '{"apiVersion":', /^the body is not JSON: /],
    ['another apiVersion', JSON.stringify({ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: {} }), /^the body is not an AdmissionReview admission\.k8s\.io\/v1: .*apiVersion/],
    ['a request without uid', review('x', { uid: 7 }), 'the body is not an AdmissionReview admission.k8s.io/v1: request.uid: expected string, got 7'],
    ['an unknown operation', review('x', { operation: 'PATCH' }),
      'the body is not an AdmissionReview admission.k8s.io/v1: request.operation: expected "CREATE" | "UPDATE" | "DELETE" | "CONNECT", got "PATCH"'],
  ])('answers 400 with a Status naming what is wrong to %s', async (_what, body, message) => {
    const r = await call('POST', '/validate', body);
    expect(r.status).toBe(400);
    expect(r.headers['content-type']).toBe('application/json');
    const status = JSON.parse(r.body) as { kind: string; reason: string; code: number; message: string };
    expect({ kind: status.kind, reason: status.reason, code: status.code }).toEqual({ kind: 'Status', reason: 'BadRequest', code: 400 });
    if (typeof message === 'string') expect(status.message).toBe(message);
    else expect(status.message).toMatch(message);
  });

  it('answers 413 to a body over the limit, and keeps serving', async () => {
    const r = await call('POST', '/validate', Buffer.alloc(MAX_BODY_BYTES + 1, 0x20));
    expect({ status: r.status, message: (JSON.parse(r.body) as { message: string }).message }).toEqual({ status: 413, message: `the body is larger than ${MAX_BODY_BYTES} bytes` });
    expect((await call('GET', '/healthz')).status).toBe(200);
  });

  it('answers 404 to other paths and 405 to other methods', async () => {
    const other = await call('GET', '/nope');
    expect({ status: other.status, body: JSON.parse(other.body) as unknown }).toEqual({ status: 404, body: {
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'NotFound', code: 404,
      message: 'GET /nope: not found (served: POST /mutate, POST /validate, GET /healthz, GET /readyz, GET /metrics)' } });
    expect((await call('POST', '/mutate/x', review('x'))).status).toBe(404);
    const get = await call('GET', '/validate');
    expect({ status: get.status, allow: get.headers['allow'] }).toEqual({ status: 405, allow: 'POST' });
  });

  it('healthz is always 200; readyz follows ready()', async () => {
    expect((await call('GET', '/healthz')).body).toBe('ok');
    ready = false;
    expect(await call('GET', '/readyz').then((r) => [r.status, r.body])).toEqual([503, 'not ready']);
    ready = true;
    expect(await call('GET', '/readyz').then((r) => [r.status, r.body])).toEqual([200, 'ok']);
  });

  it('keeps connections alive', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const [a, b] = [await call('GET', '/healthz', undefined, { agent }), await call('GET', '/healthz', undefined, { agent })];
      expect([a.reused, b.reused]).toEqual([false, true]);
    } finally {
      agent.destroy();
    }
  });

  it('serves admission metrics by path and result', async () => {
    const text = (await call('GET', '/metrics')).body;
    expect(text).toMatch(/^kube_ovn_ipam_webhook_admission_requests_total\{path="\/validate",result="denied"\} [1-9]\d*$/m);
    expect(text).toMatch(/^kube_ovn_ipam_webhook_admission_requests_total\{path="\/mutate",result="allowed"\} [1-9]\d*$/m);
    expect(text).toMatch(/^kube_ovn_ipam_webhook_admission_requests_total\{path="\/validate",result="bad_request"\} [1-9]\d*$/m);
    expect(text).toMatch(/^kube_ovn_ipam_webhook_admission_requests_total\{path="\/validate",result="error"\} [1-9]\d*$/m);
    expect(text).toMatch(/^kube_ovn_ipam_webhook_admission_seconds_count\{path="\/validate",result="allowed"\} [1-9]\d*$/m);
  });

  it('setTls: a new connection is served the new certificate', async () => {
    const fingerprint = (): Promise<string> => new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: server.port, ca: tls.caPem }, () => {
        resolve(socket.getPeerX509Certificate()?.fingerprint256 ?? '');
        socket.end();
      });
      socket.on('error', reject);
    });
    expect(await fingerprint()).toBe(new X509Certificate(tls.certPem).fingerprint256);
    // A renewal from the same CA (as scheduleRenewal hands over), here forced by one more name.
    const renewed = await ensureWebhookTls(kc, { ...certOptions, extraSans: ['127.0.0.1', 'swap.example'] }, new Date(), memoryLog());
    expect(renewed.certPem).not.toBe(tls.certPem);
    server.setTls(renewed);
    expect(await fingerprint()).toBe(new X509Certificate(renewed.certPem).fingerprint256);
    // And the API server, trusting the same CA, still calls it.
    const r = await api.kubectl(['create', '--dry-run=server', '-f', '-'], { input: pod('deny-after-swap') });
    expect(r.stderr).toContain('denied the request: pod name "deny-after-swap" is refused by the test webhook');
  });
});

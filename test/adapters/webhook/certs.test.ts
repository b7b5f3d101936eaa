// The webhook's certificates against a real kube-apiserver + etcd (DESIGN.md §4): the Secret is
// read back with kubectl, certificates are checked with node:crypto's X509Certificate (a parser
// independent of the library that made them). One API server for the file; each test uses its
// own namespace.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { X509Certificate } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import { loadKubeConfig } from '../../../src/adapters/kube/config.js';
import { CA_VALIDITY_MS, ensureWebhookTls, scheduleRenewal, syncCaBundle, type CertOptions, type WebhookTls } from '../../../src/adapters/webhook/certs.js';
import type { Log } from '../../../src/effects/ports.js';
import { startApiServer, type ApiServer } from '../../harness/apiserver.js';

let api: ApiServer;
let kc: KubeConfig;

beforeAll(async () => {
  api = await startApiServer({ crds: false });
  kc = loadKubeConfig(api.kubeconfigPath);
}, 120_000);

afterAll(async () => {
  await api?.stop();
}, 60_000);

const DAY = 24 * 3600 * 1000;
const NOW = new Date('2026-12-01T10:00:00.000Z');

/** A log keeping `<level> <msg> <fields>` lines. */
const memoryLog = (): Log & { readonly lines: string[] } => {
  const lines: string[] = [];
  const at = (level: string) => (msg: string, fields?: Readonly<Record<string, unknown>>): void => void lines.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`);
  return { lines, info: at('info'), warn: at('warn'), error: at('error'), debug: () => undefined };
};

let namespaces = 0;
/** A fresh namespace and the options for a Secret in it. */
async function setup(overrides: Partial<CertOptions> = {}): Promise<CertOptions> {
  const namespace = `certs-${++namespaces}`;
  await api.kubectlOk(['create', 'namespace', namespace]);
  return {
    namespace, secretName: 'webhook-tls', serviceName: 'webhook', extraSans: ['127.0.0.1'],
    mutatingWebhookConfigurations: [], validatingWebhookConfigurations: [], validityMs: 365 * DAY, renewBeforeMs: 30 * DAY, ...overrides,
  };
}

interface SecretJson {
  readonly type: string;
  readonly metadata: { readonly resourceVersion: string; readonly labels?: Record<string, string> };
  readonly data: Record<string, string>;
}
const getSecret = async (o: CertOptions, name = o.secretName): Promise<SecretJson> =>
  JSON.parse(await api.kubectlOk(['get', 'secret', name, '-n', o.namespace, '-o', 'json'])) as SecretJson;
const decoded = (s: SecretJson): Record<string, string> => Object.fromEntries(Object.entries(s.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
const certsIn = (pem: string): X509Certificate[] => [...pem.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)].map((m) => new X509Certificate(m[0]));
const defined = <T>(x: T | undefined): T => {
  if (x === undefined) throw new Error('expected a value');
  return x;
};
const first = (pem: string): X509Certificate => defined(certsIn(pem)[0]);
/** X.509 times have whole seconds. */
const seconds = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toUTCString().replace('GMT', '').trim();
const validTo = (c: X509Certificate): string => new Date(Date.parse(c.validTo)).toUTCString().replace('GMT', '').trim();

const sans = (ns: string): string => `DNS:webhook, DNS:webhook.${ns}, DNS:webhook.${ns}.svc, DNS:webhook.${ns}.svc.cluster.local, IP Address:127.0.0.1`;

describe('ensureWebhookTls', () => {
  it('creates the Secret on the first call: type, keys, SANs, issuer and validity', async () => {
    const o = await setup();
    const log = memoryLog();
    const tls = await ensureWebhookTls(kc, o, NOW, log);
    const secret = await getSecret(o);
    expect(secret.type).toBe('kubernetes.io/tls');
    expect(secret.metadata.labels).toEqual({ 'app.kubernetes.io/managed-by': 'kube-ovn-ipam' });
    const data = decoded(secret);
    expect(Object.keys(data).sort()).toEqual(['ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
    expect({ ca: data['ca.crt'], cert: data['tls.crt'], key: data['tls.key'] }).toEqual({ ca: tls.caPem, cert: tls.certPem, key: tls.keyPem });

    const cert = new X509Certificate(tls.certPem);
    const ca = first(tls.caPem);
    expect(certsIn(tls.caPem)).toHaveLength(1);
    expect(cert.subjectAltName).toBe(sans(o.namespace));
    expect(cert.subject).toBe(`CN=webhook.${o.namespace}.svc`);
    expect(cert.ca).toBe(false);
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']); // serverAuth
    expect(cert.issuer).toBe(ca.subject);
    expect(cert.checkIssued(ca) && cert.verify(ca.publicKey)).toBe(true);
    expect(ca.ca).toBe(true);
    expect(ca.verify(ca.publicKey)).toBe(true);
    expect(validTo(cert)).toBe(seconds(NOW.getTime() + 365 * DAY));
    expect(tls.notAfter.getTime()).toBe(Date.parse(cert.validTo));
    expect(validTo(ca)).toBe(seconds(NOW.getTime() + CA_VALIDITY_MS));
    expect(Date.parse(cert.validFrom)).toBeLessThanOrEqual(NOW.getTime());
    expect(Date.parse(cert.validFrom)).toBeGreaterThanOrEqual(NOW.getTime() - 10 * 60_000);
    expect(log.lines.filter((l) => l.startsWith('info webhook TLS secret created'))).toHaveLength(1);
  });

  it('returns the same material on the second call and writes nothing', async () => {
    const o = await setup();
    const tls = await ensureWebhookTls(kc, o, NOW, memoryLog());
    const before = (await getSecret(o)).metadata.resourceVersion;
    const again = await ensureWebhookTls(kc, o, new Date(NOW.getTime() + 300 * DAY), memoryLog());
    expect(again).toEqual(tls);
    expect((await getSecret(o)).metadata.resourceVersion).toBe(before);
  });

  it('renews an expiring certificate from the same CA', async () => {
    const o = await setup();
    const tls = await ensureWebhookTls(kc, o, NOW, memoryLog());
    const before = decoded(await getSecret(o));
    const later = new Date(NOW.getTime() + 340 * DAY); // 25 days left < 30
    const log = memoryLog();
    const renewed = await ensureWebhookTls(kc, o, later, log);
    const after = decoded(await getSecret(o));
    expect(renewed.certPem).not.toBe(tls.certPem);
    expect(renewed.keyPem).not.toBe(tls.keyPem);
    expect({ ca: renewed.caPem, caKey: after['ca.key'], cert: after['tls.crt'] }).toEqual({ ca: tls.caPem, caKey: before['ca.key'], cert: renewed.certPem });
    const cert = new X509Certificate(renewed.certPem);
    expect(cert.verify(first(tls.caPem).publicKey)).toBe(true);
    expect(validTo(cert)).toBe(seconds(later.getTime() + 365 * DAY));
    expect(log.lines.some((l) => l.startsWith('info renewing the webhook TLS certificate') && l.includes('"reason":"tls.crt expires at 2027-12-01T10:00:00.000Z"'))).toBe(true);
  });

  it('renews when the certificate no longer covers a name asked for', async () => {
    const o = await setup();
    const tls = await ensureWebhookTls(kc, o, NOW, memoryLog());
    const log = memoryLog();
    const renewed = await ensureWebhookTls(kc, { ...o, extraSans: ['127.0.0.1', 'webhook.example.org'] }, NOW, log);
    expect(renewed.caPem).toBe(tls.caPem);
    expect(new X509Certificate(renewed.certPem).subjectAltName).toBe(`${sans(o.namespace)}, DNS:webhook.example.org`);
    expect(log.lines.some((l) => l.includes('"reason":"tls.crt does not cover webhook.example.org"'))).toBe(true);
  });

  it('replaces a malformed certificate from the stored CA, and says why', async () => {
    const o = await setup();
    const tls = await ensureWebhookTls(kc, o, NOW, memoryLog());
    await api.kubectlOk(['patch', 'secret', o.secretName, '-n', o.namespace, '--type=merge', '-p',
      JSON.stringify({ data: { 'tls.crt': Buffer.from('not a certificate').toString('base64') } })]);
    const log = memoryLog();
    const renewed = await ensureWebhookTls(kc, o, NOW, log);
    expect(renewed.caPem).toBe(tls.caPem);
    expect(new X509Certificate(renewed.certPem).verify(first(tls.caPem).publicKey)).toBe(true);
    expect(decoded(await getSecret(o))['tls.crt']).toBe(renewed.certPem);
    expect(log.lines.some((l) => l.startsWith('info renewing the webhook TLS certificate') && l.includes('"reason":"tls.crt or tls.key cannot be read'))).toBe(true);
  });

  it('makes a new CA when the stored one would expire before the new certificate, keeping the old one trusted', async () => {
    const o = await setup();
    const tls = await ensureWebhookTls(kc, o, NOW, memoryLog());
    const late = new Date(NOW.getTime() + CA_VALIDITY_MS - 100 * DAY);
    const renewed = await ensureWebhookTls(kc, o, late, memoryLog());
    const [newCa, oldCa] = certsIn(renewed.caPem);
    expect(certsIn(renewed.caPem)).toHaveLength(2);
    expect(oldCa?.fingerprint256).toBe(first(tls.caPem).fingerprint256);
    expect(newCa?.fingerprint256).not.toBe(oldCa?.fingerprint256);
    expect(new X509Certificate(renewed.certPem).verify(defined(newCa).publicKey)).toBe(true);
    expect(validTo(defined(newCa))).toBe(seconds(late.getTime() + CA_VALIDITY_MS));
  });

  it('converges on one Secret when several replicas start at once', async () => {
    const o = await setup();
    const results = await Promise.all([1, 2, 3, 4].map(() => ensureWebhookTls(loadKubeConfig(api.kubeconfigPath), o, NOW, memoryLog())));
    const stored = decoded(await getSecret(o));
    for (const tls of results) expect({ ca: tls.caPem, cert: tls.certPem, key: tls.keyPem }).toEqual({ ca: stored['ca.crt'], cert: stored['tls.crt'], key: stored['tls.key'] });
  });

  it('uses a user-provided Secret (no ca.key) as it is, even when expiring, and never rewrites it', async () => {
    const source = await setup();
    const made = await ensureWebhookTls(kc, source, NOW, memoryLog());
    const o = await setup({ secretName: 'user-tls', extraSans: ['127.0.0.1', 'not.covered.example'] });
    await api.kubectlOk(['create', 'secret', 'generic', 'user-tls', '-n', o.namespace, '--type=kubernetes.io/tls',
      `--from-literal=tls.crt=${made.certPem}`, `--from-literal=tls.key=${made.keyPem}`, `--from-literal=ca.crt=${made.caPem}`]);
    const before = await getSecret(o);
    const log = memoryLog();
    const tls = await ensureWebhookTls(kc, o, new Date(NOW.getTime() + 360 * DAY), log);
    expect(tls).toEqual(made);
    expect(await getSecret(o)).toEqual(before);
    expect(log.lines.map((l) => l.slice(0, l.indexOf(' {')))).toEqual([
      "info webhook TLS secret is user-provided (no ca.key): used as it is; renewing it is the user's job",
      'warn the user-provided webhook certificate expires soon',
      'warn the user-provided webhook certificate does not cover every service name',
    ]);
    const ns = o.namespace;
    expect(log.lines[2]).toContain(`"uncovered":["webhook.${ns}","webhook.${ns}.svc","webhook.${ns}.svc.cluster.local","not.covered.example"]`);
  });

  it('fails, naming what is missing, on a user-provided Secret it cannot serve', async () => {
    const o = await setup({ secretName: 'broken' });
    await api.kubectlOk(['create', 'secret', 'generic', 'broken', '-n', o.namespace, '--from-literal=tls.crt=x']);
    await expect(ensureWebhookTls(kc, o, NOW, memoryLog())).rejects.toThrow(
      `webhook TLS secret ${o.namespace}/broken: has no ca.key (so it is the user's) and lacks tls.key, ca.crt`);
  });
});

/** A webhook configuration of two webhooks that can never match anything. */
const configuration = (kind: 'Mutating' | 'Validating', name: string): object => ({
  apiVersion: 'admissionregistration.k8s.io/v1', kind: `${kind}WebhookConfiguration`, metadata: { name },
  webhooks: ['one', 'two'].map((w) => ({
    name: `${w}.${name}.kube-ovn-ipam.io`, admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Ignore',
    clientConfig: { url: 'https://127.0.0.1:1/never' },
    namespaceSelector: { matchLabels: { 'kube-ovn-ipam-test': 'never' } },
    rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'] }],
  })),
});

describe('caBundle', () => {
  const bundles = async (kind: string, name: string): Promise<{ rv: string; bundles: (string | undefined)[] }> => {
    const got = JSON.parse(await api.kubectlOk(['get', kind, name, '-o', 'json'])) as {
      metadata: { resourceVersion: string }; webhooks: { clientConfig: { caBundle?: string } }[];
    };
    return { rv: got.metadata.resourceVersion, bundles: got.webhooks.map((w) => w.clientConfig.caBundle) };
  };

  it('writes the CA into every webhook of the named configurations, skipping a missing one, and only when different', async () => {
    await api.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [configuration('Mutating', 'm1'), configuration('Validating', 'v1')] }) });
    const o = await setup({ mutatingWebhookConfigurations: ['m1', 'absent'], validatingWebhookConfigurations: ['v1'] });
    const log = memoryLog();
    const tls = await ensureWebhookTls(kc, o, NOW, log);
    const b64 = Buffer.from(tls.caPem).toString('base64');
    const m = await bundles('mutatingwebhookconfiguration', 'm1');
    const v = await bundles('validatingwebhookconfiguration', 'v1');
    expect([m.bundles, v.bundles]).toEqual([[b64, b64], [b64, b64]]);
    expect(log.lines.filter((l) => l.includes('absent'))).toEqual([
      'info webhook configuration not found: caBundle not written (it may be applied later) {"configuration":"mutatingwebhookconfigurations/absent"}',
    ]);

    // Again: nothing to write.
    expect(await syncCaBundle(kc, o, tls.caPem, memoryLog())).toEqual({
      patched: [], unchanged: ['mutatingwebhookconfigurations/m1', 'validatingwebhookconfigurations/v1'], missing: ['mutatingwebhookconfigurations/absent'], failed: [],
    });
    expect((await bundles('mutatingwebhookconfiguration', 'm1')).rv).toBe(m.rv);
    expect((await bundles('validatingwebhookconfiguration', 'v1')).rv).toBe(v.rv);

    // A webhook reset (a re-apply of the manifest) is repaired, the other left alone.
    await api.kubectlOk(['patch', 'validatingwebhookconfiguration', 'v1', '--type=json', '-p',
      JSON.stringify([{ op: 'replace', path: '/webhooks/1/clientConfig/caBundle', value: Buffer.from('stale').toString('base64') }])]);
    expect((await syncCaBundle(kc, o, tls.caPem, memoryLog())).patched).toEqual(['validatingwebhookconfigurations/v1']);
    expect((await bundles('validatingwebhookconfiguration', 'v1')).bundles).toEqual([b64, b64]);
  });
});

describe('scheduleRenewal', () => {
  it('renews before notAfter - renewBefore and hands the new material over; stop() ends it', async () => {
    // 4 s certificates renewed when 2.5 s are left: the first renewal is due about 1.5 s in.
    const o = await setup({ validityMs: 4_000, renewBeforeMs: 2_500 });
    const tls = await ensureWebhookTls(kc, o, new Date(), memoryLog());
    const renewed: WebhookTls[] = [];
    const started = Date.now();
    const renewal = scheduleRenewal(kc, o, tls, (next) => renewed.push(next), memoryLog());
    try {
      for (let i = 0; i < 100 && renewed.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    } finally {
      renewal.stop();
    }
    expect(renewed).toHaveLength(1);
    const [next] = renewed;
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(next?.caPem).toBe(tls.caPem);
    expect(next?.certPem).not.toBe(tls.certPem);
    expect(decoded(await getSecret(o))['tls.crt']).toBe(next?.certPem);
  }, 20_000);
});

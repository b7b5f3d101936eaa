// The admission webhook's TLS material, kept in one Secret so that every replica serves the same
// certificate and the API server trusts it through the webhook configurations' caBundle
// (issue 12: "certificates without manual steps").
//
// Rules:
// - The Secret (type kubernetes.io/tls) holds `tls.crt`, `tls.key`, `ca.crt` and, when we made
//   it, `ca.key`, so any replica can renew. Keys are ECDSA P-256, certificates are made by
//   @peculiar/x509 over Node's WebCrypto (no hand-written ASN.1).
// - Absent: a new CA (10 years) and serving certificate are created into a new Secret. Two
//   replicas starting at once both try; the loser's create answers 409 and it re-reads and uses
//   the winner's, so both serve one certificate.
// - Ours but expiring within `renewBeforeMs`, not covering the service's names (and
//   `extraSans`), not signed by the stored CA, or unreadable (logged): a new serving certificate
//   is issued from the stored CA and written with the read resourceVersion (a 409 means someone
//   else renewed: re-read and use theirs). The CA is replaced too when it is missing, unreadable
//   or would expire before the new certificate; the replaced CA stays in `ca.crt` (after the new
//   one) while it is valid, so the API server keeps trusting replicas not yet renewed.
// - Without `ca.key` the Secret is the user's: used as it is, never rewritten; renewing it is the
//   user's job (logged, and warned when it is expiring). One that cannot be used fails the call.
// - Then every webhook of the named configurations gets caBundle = base64(ca.crt), patched only
//   when different; a configuration that does not exist yet is logged and skipped.
// - API calls go through the REST chokepoint (rest.ts): timeouts and typed KubeApiErrors.
import 'reflect-metadata'; // @peculiar/x509's dependency injection needs it, before x509 loads.
import * as x509 from '@peculiar/x509';
import { X509Certificate as NodeCertificate, createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, type Log } from '../../effects/ports.js';
import { makeRest, type Request } from '../kube/rest.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

export interface WebhookTls {
  /** The CA bundle the API server trusts (the signing CA first). */
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly notAfter: Date;
}

export interface CertOptions {
  readonly namespace: string;
  readonly secretName: string;
  /** DNS SANs: <svc>, <svc>.<ns>, <svc>.<ns>.svc, <svc>.<ns>.svc.cluster.local. */
  readonly serviceName: string;
  /** More SANs: IP addresses or DNS names. */
  readonly extraSans?: readonly string[];
  /** Configurations whose every webhook's clientConfig.caBundle gets the CA. */
  readonly mutatingWebhookConfigurations: readonly string[];
  readonly validatingWebhookConfigurations: readonly string[];
  /** The serving certificate's validity (the CA's is CA_VALIDITY_MS). */
  readonly validityMs: number;
  /** Renew when less than this is left. */
  readonly renewBeforeMs: number;
}

const DAY_MS = 24 * 3600 * 1000;
export const DEFAULT_VALIDITY_MS = 365 * DAY_MS;
export const DEFAULT_RENEW_BEFORE_MS = 30 * DAY_MS;
export const CA_VALIDITY_MS = 10 * 365 * DAY_MS;
/** Certificates start this much before `now`, for clocks a little behind ours. */
const BACKDATE_MS = 5 * 60 * 1000;
const ATTEMPTS = 5;
const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const enc = encodeURIComponent;

/** The DNS names the serving certificate must cover, then `extraSans`. */
export function serviceSans(o: Pick<CertOptions, 'serviceName' | 'namespace' | 'extraSans'>): readonly string[] {
  const svc = o.serviceName;
  return [svc, `${svc}.${o.namespace}`, `${svc}.${o.namespace}.svc`, `${svc}.${o.namespace}.svc.cluster.local`, ...(o.extraSans ?? [])];
}

/** Reads, creates or renews the Secret (see the rules above), then syncs the caBundles. */
export async function ensureWebhookTls(kc: KubeConfig, options: CertOptions, now: Date, log: Log, signal?: AbortSignal): Promise<WebhookTls> {
  const request = makeRest(kc, signal === undefined ? {} : { signal });
  const tls = await ensureSecret(request, options, now, log);
  await syncCaBundleOver(request, options, tls.caPem, log);
  return tls;
}

async function ensureSecret(request: Request, o: CertOptions, now: Date, log: Log): Promise<WebhookTls> {
  const path = `/api/v1/namespaces/${enc(o.namespace)}/secrets`;
  const where = { secret: `${o.namespace}/${o.secretName}` };
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const secret = await getOrUndefined(request, `${path}/${enc(o.secretName)}`);
    if (secret === undefined) {
      const issued = await issue(undefined, [], o, now);
      try {
        await request('POST', path, { body: secretObject(o, issued) });
        log.info('webhook TLS secret created', { ...where, notAfter: issued.tls.notAfter.toISOString() });
        return issued.tls;
      } catch (err) {
        if (err instanceof KubeApiError && err.kind === 'Conflict') continue; // another replica won: use its
        throw err;
      }
    }
    const data = secretData(secret);
    if (data['ca.key'] === undefined) return userProvided(data, o, now, log, where);
    const state = inspect(data, o, now);
    if (state.kind === 'valid') return state.tls;
    log.info('renewing the webhook TLS certificate', { ...where, reason: state.reason, newCa: state.ca === undefined });
    const issued = await issue(state.ca, state.trusted, o, now);
    const body = { ...(secret as Record<string, unknown>), data: encodeData(issued.data) };
    try {
      await request('PUT', `${path}/${enc(o.secretName)}`, { body });
      log.info('webhook TLS secret renewed', { ...where, notAfter: issued.tls.notAfter.toISOString() });
      return issued.tls;
    } catch (err) {
      if (err instanceof KubeApiError && err.kind === 'Conflict') continue; // renewed meanwhile: re-read
      throw err;
    }
  }
  throw new Error(`webhook TLS secret ${o.namespace}/${o.secretName}: still changing after ${ATTEMPTS} attempts`);
}

/** A Secret without ca.key: used as it is, or an error naming what is wrong with it. */
function userProvided(data: SecretData, o: CertOptions, now: Date, log: Log, where: Record<string, string>): WebhookTls {
  const missing = ['tls.crt', 'tls.key', 'ca.crt'].filter((k) => data[k] === undefined);
  if (missing.length > 0) throw new Error(`webhook TLS secret ${where['secret']}: has no ca.key (so it is the user's) and lacks ${missing.join(', ')}`);
  const leaf = parseLeaf(data['tls.crt'] ?? '', data['tls.key'] ?? '');
  if (typeof leaf === 'string') throw new Error(`webhook TLS secret ${where['secret']}: ${leaf}`);
  const left = leaf.notAfter.getTime() - now.getTime();
  const fields = { ...where, notAfter: leaf.notAfter.toISOString() };
  log.info('webhook TLS secret is user-provided (no ca.key): used as it is; renewing it is the user\'s job', fields);
  if (left < o.renewBeforeMs) log.warn('the user-provided webhook certificate expires soon', fields);
  const uncovered = serviceSans(o).filter((san) => !covers(leaf.cert, san));
  if (uncovered.length > 0) log.warn('the user-provided webhook certificate does not cover every service name', { ...fields, uncovered });
  return { caPem: data['ca.crt'] ?? '', certPem: data['tls.crt'] ?? '', keyPem: data['tls.key'] ?? '', notAfter: leaf.notAfter };
}

type SecretData = Readonly<Record<string, string | undefined>>;

interface Ca {
  /** The signing CA certificate and key. */
  readonly certPem: string;
  readonly keyPem: string;
}

type Inspection =
  | { readonly kind: 'valid'; readonly tls: WebhookTls }
  /** `ca` signs the new certificate (a new CA when undefined); `trusted` are the other CAs of
   *  ca.crt still valid, kept in the bundle after the signer. */
  | { readonly kind: 'renew'; readonly reason: string; readonly ca: Ca | undefined; readonly trusted: readonly string[] };

/** Whether our Secret can be served as it is; if not, why, and whether its CA can sign a new one. */
function inspect(data: SecretData, o: CertOptions, now: Date): Inspection {
  const ca = usableCa(data, o, now);
  const valid = stillValid(splitPem(data['ca.crt'] ?? ''), now);
  if (typeof ca === 'string') return { kind: 'renew', reason: ca, ca: undefined, trusted: valid };
  const renew = (reason: string): Inspection => ({ kind: 'renew', reason, ca, trusted: valid.filter((p) => p !== ca.certPem) });
  const leaf = parseLeaf(data['tls.crt'] ?? '', data['tls.key'] ?? '');
  if (typeof leaf === 'string') return renew(leaf);
  if (!leaf.node.checkIssued(new NodeCertificate(ca.certPem)) || !leaf.node.verify(new NodeCertificate(ca.certPem).publicKey)) {
    return renew('tls.crt is not signed by ca.crt');
  }
  if (leaf.notAfter.getTime() - now.getTime() < o.renewBeforeMs) return renew(`tls.crt expires at ${leaf.notAfter.toISOString()}`);
  const uncovered = serviceSans(o).filter((san) => !covers(leaf.cert, san));
  if (uncovered.length > 0) return renew(`tls.crt does not cover ${uncovered.join(', ')}`);
  return { kind: 'valid', tls: { caPem: data['ca.crt'] ?? '', certPem: data['tls.crt'] ?? '', keyPem: data['tls.key'] ?? '', notAfter: leaf.notAfter } };
}

/** The stored CA when it can sign a certificate of the full validity, else why not. */
function usableCa(data: SecretData, o: CertOptions, now: Date): Ca | string {
  const [certPem] = splitPem(data['ca.crt'] ?? '');
  if (certPem === undefined) return 'ca.crt holds no certificate';
  try {
    const cert = new NodeCertificate(certPem);
    if (!cert.ca) return 'ca.crt is not a CA certificate';
    if (!cert.checkPrivateKey(createPrivateKey(data['ca.key'] ?? ''))) return 'ca.key does not match ca.crt';
    if (Date.parse(cert.validTo) < now.getTime() + o.validityMs) return `the CA expires at ${new Date(Date.parse(cert.validTo)).toISOString()}`;
  } catch (err) {
    return `ca.crt or ca.key cannot be read: ${err instanceof Error ? err.message : String(err)}`;
  }
  return { certPem, keyPem: data['ca.key'] ?? '' };
}

/** The certificates of `pems` that parse and have not expired at `now`. */
function stillValid(pems: readonly string[], now: Date): readonly string[] {
  return pems.filter((p) => {
    try {
      return Date.parse(new NodeCertificate(p).validTo) > now.getTime();
    } catch {
      return false;
    }
  });
}

interface Leaf {
  readonly cert: x509.X509Certificate;
  readonly node: NodeCertificate;
  readonly notAfter: Date;
}

/** The serving certificate when it parses and matches its key, else why not. */
function parseLeaf(certPem: string, keyPem: string): Leaf | string {
  try {
    const node = new NodeCertificate(certPem);
    if (!node.checkPrivateKey(createPrivateKey(keyPem))) return 'tls.key does not match tls.crt';
    const cert = new x509.X509Certificate(certPem);
    return { cert, node, notAfter: cert.notAfter };
  } catch (err) {
    return `tls.crt or tls.key cannot be read: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** Whether the certificate's SANs name `san` exactly (no wildcards are issued here). */
function covers(cert: x509.X509Certificate, san: string): boolean {
  const names = cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON() ?? [];
  return names.some((n) => (n.type === 'dns' || n.type === 'ip') && n.value.toLowerCase() === san.toLowerCase());
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const splitPem = (pem: string): string[] => [...pem.matchAll(PEM_BLOCK)].map((m) => `${m[0]}\n`);

const isIp = (s: string): boolean => /^\d{1,3}(\.\d{1,3}){3}$/.test(s) || s.includes(':');

/** A random positive 128-bit serial number, hex. */
function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f | 0x01;
  return bytes.toString('hex');
}

async function pemKey(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key ), 'PRIVATE KEY');
}

async function newCa(now: Date): Promise<{ readonly certPem: string; readonly keys: CryptoKeyPair }> {
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=kube-ovn-ipam-webhook-ca@${Math.floor(now.getTime() / 1000)}`,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + CA_VALIDITY_MS),
    keys,
    signingAlgorithm: EC,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keys };
}

interface Issued {
  readonly tls: WebhookTls;
  readonly data: Readonly<Record<'tls.crt' | 'tls.key' | 'ca.crt' | 'ca.key', string>>;
}

/**
 * A serving certificate signed by `ca`, or by a new CA when `ca` is undefined; `trusted` (CAs
 * still valid) follow the signer in the bundle, so replicas not yet renewed stay trusted.
 */
async function issue(ca: Ca | undefined, trusted: readonly string[], o: CertOptions, now: Date): Promise<Issued> {
  let signer: { readonly certPem: string; readonly keyPem: string; readonly privateKey: CryptoKey };
  if (ca === undefined) {
    const made = await newCa(now);
    signer = { certPem: made.certPem, keyPem: await pemKey(made.keys.privateKey), privateKey: made.keys.privateKey };
  } else {
    // ECDSA keys in PKCS#8 (what we write); a SEC1 key cannot be imported by WebCrypto.
    const der = createPrivateKey(ca.keyPem).export({ type: 'pkcs8', format: 'der' });
    const privateKey = await webcrypto.subtle.importKey('pkcs8', der, EC, false, ['sign']) as CryptoKey;
    signer = { certPem: ca.certPem, keyPem: ca.keyPem, privateKey };
  }
  const caPem = [signer.certPem, ...trusted].map((p) => p.trimEnd() + '\n').join('');
  const caCert = new x509.X509Certificate(signer.certPem);
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']) as CryptoKeyPair;
  const sans = serviceSans(o);
  const notAfter = new Date(now.getTime() + o.validityMs);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${o.serviceName}.${o.namespace}.svc`,
    issuer: caCert.subject,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter,
    publicKey: keys.publicKey,
    signingKey: signer.privateKey,
    signingAlgorithm: EC,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(sans.map((value) => ({ type: isIp(value) ? 'ip' as const : 'dns' as const, value }))),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  const certPem = cert.toString('pem') + '\n';
  const keyPem = await pemKey(keys.privateKey) + '\n';
  // X.509 times have second precision: report what the certificate says.
  const tls = { caPem, certPem, keyPem, notAfter: cert.notAfter };
  return { tls, data: { 'tls.crt': certPem, 'tls.key': keyPem, 'ca.crt': caPem, 'ca.key': signer.keyPem.trimEnd() + '\n' } };
}

function secretObject(o: CertOptions, issued: Issued): object {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: { name: o.secretName, namespace: o.namespace, labels: { 'app.kubernetes.io/managed-by': 'kube-ovn-ipam' } },
    data: encodeData(issued.data),
  };
}

const encodeData = (data: Readonly<Record<string, string>>): Record<string, string> =>
  Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));

/** A Secret's `data`, decoded (values that are not strings are left out). */
function secretData(secret: unknown): SecretData {
  const data = typeof secret === 'object' && secret !== null ? (secret as { readonly data?: unknown }).data : undefined;
  if (typeof data !== 'object' || data === null) return {};
  return Object.fromEntries(Object.entries(data).flatMap(([k, v]) => (typeof v === 'string' ? [[k, Buffer.from(v, 'base64').toString('utf8')]] : [])));
}

async function getOrUndefined(request: Request, path: string): Promise<unknown> {
  try {
    return await request('GET', path);
  } catch (err) {
    if (err instanceof KubeApiError && err.kind === 'NotFound') return undefined;
    throw err;
  }
}

/** What one caBundle sync did, per configuration (`kind/name`). */
export interface CaBundleSync {
  readonly patched: readonly string[];
  readonly unchanged: readonly string[];
  /** Not there (yet): skipped. */
  readonly missing: readonly string[];
  readonly failed: readonly { readonly configuration: string; readonly error: string }[];
}

/**
 * Makes every webhook of the named configurations carry caBundle = base64(caPem): one strategic
 * merge patch per configuration (keyed by webhook name), sent only when something differs.
 * Never rejects: a missing configuration is skipped (it may be applied later) and a failing one
 * logged; both are in the result, so a periodic caller retries them.
 */
export async function syncCaBundle(
  kc: KubeConfig, options: Pick<CertOptions, 'mutatingWebhookConfigurations' | 'validatingWebhookConfigurations'>, caPem: string, log: Log,
): Promise<CaBundleSync> {
  return syncCaBundleOver(makeRest(kc), options, caPem, log);
}

async function syncCaBundleOver(
  request: Request, o: Pick<CertOptions, 'mutatingWebhookConfigurations' | 'validatingWebhookConfigurations'>, caPem: string, log: Log,
): Promise<CaBundleSync> {
  const bundle = Buffer.from(caPem).toString('base64');
  const result = { patched: [] as string[], unchanged: [] as string[], missing: [] as string[], failed: [] as { configuration: string; error: string }[] };
  const targets = [
    ...o.mutatingWebhookConfigurations.map((name) => ({ kind: 'mutatingwebhookconfigurations', name })),
    ...o.validatingWebhookConfigurations.map((name) => ({ kind: 'validatingwebhookconfigurations', name })),
  ];
  for (const { kind, name } of targets) {
    const configuration = `${kind}/${name}`;
    const path = `/apis/admissionregistration.k8s.io/v1/${kind}/${enc(name)}`;
    try {
      const current = await getOrUndefined(request, path);
      if (current === undefined) {
        log.info('webhook configuration not found: caBundle not written (it may be applied later)', { configuration });
        result.missing.push(configuration);
        continue;
      }
      const webhooks = (current as { readonly webhooks?: readonly { readonly name?: string; readonly clientConfig?: { readonly caBundle?: string } }[] }).webhooks ?? [];
      const stale = webhooks.filter((w) => w.name !== undefined && w.clientConfig?.caBundle !== bundle);
      if (stale.length === 0) {
        result.unchanged.push(configuration);
        continue;
      }
      await request('PATCH', path, {
        contentType: 'application/strategic-merge-patch+json',
        body: { webhooks: stale.map((w) => ({ name: w.name, clientConfig: { caBundle: bundle } })) },
      });
      log.info('webhook caBundle written', { configuration, webhooks: stale.map((w) => w.name) });
      result.patched.push(configuration);
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      log.warn('webhook caBundle not written', { configuration, error });
      result.failed.push({ configuration, error });
    }
  }
  return result;
}

export interface RenewalTiming {
  /** Default `() => new Date()`. */
  readonly now?: () => Date;
  /** The longest wait between two checks; default 12 h. */
  readonly maxIntervalMs?: number;
  /** The wait after a failed check; default 60 s. */
  readonly retryMs?: number;
}

/**
 * Calls ensureWebhookTls again at `notAfter - renewBeforeMs` (and at least every maxIntervalMs,
 * which also repairs caBundles someone reset), handing changed material to `onRenewed` (the
 * server's setTls), so the certificate is swapped without a restart. A failed check is logged and
 * retried after retryMs. `stop()` cancels the timer and ends a check in flight (its requests
 * are aborted; it reports nothing), so a silent API server cannot hold a shutdown.
 */
export function scheduleRenewal(
  kc: KubeConfig, options: CertOptions, current: WebhookTls, onRenewed: (tls: WebhookTls) => void, log: Log, timing: RenewalTiming = {},
): { stop(): void } {
  const now = timing.now ?? ((): Date => new Date());
  const maxIntervalMs = timing.maxIntervalMs ?? 12 * 3600 * 1000;
  const retryMs = timing.retryMs ?? 60_000;
  let tls = current;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const stopping = new AbortController();
  const arm = (delayMs: number): void => {
    if (stopped) return;
    // At least 1 s apart: a certificate renewed into the renewal window cannot spin the loop.
    timer = setTimeout(() => void check(), Math.max(1_000, Math.min(delayMs, maxIntervalMs)));
    timer.unref();
  };
  const untilRenewal = (): number => tls.notAfter.getTime() - options.renewBeforeMs - now().getTime();
  const check = async (): Promise<void> => {
    try {
      const next = await ensureWebhookTls(kc, options, now(), log, stopping.signal);
      if (stopped) return;
      if (next.certPem !== tls.certPem || next.caPem !== tls.caPem) {
        tls = next;
        onRenewed(next);
      }
      arm(untilRenewal());
    } catch (err) {
      if (stopped) return;
      log.error('webhook certificate check failed; retrying', { error: err instanceof Error ? err.message : String(err), retryMs });
      arm(retryMs);
    }
  };
  arm(untilRenewal());
  return {
    stop: () => {
      stopped = true;
      stopping.abort();
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}

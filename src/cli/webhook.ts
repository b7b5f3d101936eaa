// `kube-ovn-ipam webhook`: wires the real adapters (client-node, pino, prom-client, HTTPS) into
// the admission view and runs until SIGTERM/SIGINT.
//
// Start-up order: certificates first (read the Secret, or create a CA and a serving certificate
// into it; write the CA into both webhook configurations' caBundle), then the HTTPS server
// (answering /healthz at once, /readyz only once the watches have listed), then the watches. A
// renewal timer re-issues the serving certificate before it expires and swaps it into the
// running server.
import * as E from 'fp-ts/lib/Either.js';
import { hostname } from 'node:os';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { readKubeConfig } from '../adapters/kube/config.js';
import { makeWatcher } from '../adapters/kube/watcher.js';
import { makeLog } from '../adapters/log.js';
import type { KubeConfig } from '@kubernetes/client-node';
import { ensureWebhookTls, scheduleRenewal, type CertOptions, type WebhookTls } from '../adapters/webhook/certs.js';
import { startWebhookServer, type AdmissionReviewRequest, type AdmissionOutcome } from '../adapters/webhook/server.js';
import type { NetworkSettings } from '../domain/PlanContext.js';
import { AdmissionView, type ReviewPath } from '../effects/AdmissionView.js';
import type { Clock, Log } from '../effects/ports.js';
import { commandFlags } from './args.js';
import type { CliIo } from './io.js';
import { retryUntil, stopOnSignals } from './lifecycle.js';
import { EXIT_OK, EXIT_USAGE, PROGRAM } from './io.js';
import { parseDuration } from './controller.js';

export const webhookHelp = `Usage: ${PROGRAM} webhook [flags]

The admission webhook. Mutating (Pod CREATE): writes a static MAC of an IPAM-only attachment
(<provider>.kubernetes.io/mac_address) into the pod's k8s.v1.cni.cncf.io/networks annotation,
so Multus passes it to the main plugin. Validating (Pod CREATE; Deployment, StatefulSet,
ReplicaSet, DaemonSet, Job and CronJob templates): denies what the controller would refuse
later (a malformed annotation, a static address outside its subnet or held by another pod, a
multicast MAC, a static address on a template with several replicas) and warns about what may
still change (a NAD or Subnet not created yet, an ip_pool too small for the replicas and the
rollout surge). Answers from its own watch-fed view of the cluster; writes no claim.

Certificates need no manual step: at start it reads the Secret --secret, or creates a CA and a
serving certificate for the Service --service into it; it writes the CA into the caBundle of
the webhook configurations --webhook-config, and renews the serving certificate before expiry.

Flags:
  --kubeconfig FILE        kubeconfig to use (default: in-cluster config, else ~/.kube/config)
  --listen HOST:PORT       HTTPS: /mutate, /validate, /healthz, /readyz, /metrics (default 0.0.0.0:10666)
  --namespace NS           namespace of the Service and the Secret (default $POD_NAMESPACE, else kube-ovn-ipam)
  --service NAME           the Service the API server calls: the certificate's DNS names (default kube-ovn-ipam-webhook)
  --secret NAME            the Secret holding the CA and the serving certificate (default kube-ovn-ipam-webhook-tls)
  --webhook-config NAME    the MutatingWebhookConfiguration and ValidatingWebhookConfiguration whose
                           caBundle it keeps (default kube-ovn-ipam-webhook)
  --extra-san LIST         more names or addresses for the certificate, comma-separated (default none)
  --cert-validity DURATION lifetime of a serving certificate it issues (default 8760h)
  --renew-before DURATION  renew when less than this is left (default 720h)
  --non-primary-cni-mode   another CNI serves every pod's eth0 (as the controller's flag): eth0 is not checked
  --default-subnet NAME    the default network's Subnet (as the controller's flag; default ovn-default)
  --log-level LEVEL        debug, info, warn or error (default info)
  -h, --help               this help

Example:
  ${PROGRAM} webhook --kubeconfig ~/.kube/config --listen 127.0.0.1:10666 --extra-san 127.0.0.1
`;

const clock: Clock = { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };

/**
 * The certificate to start with: retried (1 s doubling to 30 s, each failure logged) while the
 * API server cannot be reached or refuses, until it succeeds or `signal` aborts (undefined).
 * The HTTPS server cannot start without it, so the process waits here rather than exiting.
 */
const firstTls = (kc: KubeConfig, options: CertOptions, log: Log, signal: AbortSignal): Promise<WebhookTls | undefined> =>
  retryUntil(() => ensureWebhookTls(kc, options, new Date(), log, signal), (error, retryMs) =>
    log.warn('could not read or create the webhook certificate; retrying', { secret: `${options.namespace}/${options.secretName}`, error, retryMs }), signal, { firstMs: 1000, maxMs: 30_000 });

export const runWebhook = async (argv: readonly string[], io: CliIo): Promise<number> => {
  const flags = commandFlags('webhook', argv, {
    kubeconfig: { type: 'string' }, listen: { type: 'string' }, namespace: { type: 'string' }, service: { type: 'string' },
    secret: { type: 'string' }, 'webhook-config': { type: 'string' }, 'extra-san': { type: 'string' },
    'cert-validity': { type: 'string' }, 'renew-before': { type: 'string' }, 'log-level': { type: 'string' },
    'non-primary-cni-mode': { type: 'boolean' }, 'default-subnet': { type: 'string' },
  }, webhookHelp, io);
  if ('exit' in flags) return flags.exit;
  const { values } = flags;
  const str = (k: string, d: string) => (typeof values[k] === 'string' && values[k] !== '' ? (values[k] as string) : d);
  const bad = (flag: string, value: string, want: string) => {
    io.stderr(`${PROGRAM} webhook: --${flag} ${JSON.stringify(value)}: expected ${want}\n`);
    return EXIT_USAGE;
  };
  const listen = /^(.*):(\d+)$/.exec(str('listen', '0.0.0.0:10666'));
  if (listen === null || Number(listen[2]) > 65535) return bad('listen', str('listen', ''), 'HOST:PORT');
  const validityMs = parseDuration(str('cert-validity', '8760h'));
  if (validityMs === undefined || validityMs < 3_600_000) return bad('cert-validity', str('cert-validity', ''), 'a duration of at least 1h, such as 8760h');
  const renewBeforeMs = parseDuration(str('renew-before', '720h'));
  if (renewBeforeMs === undefined || renewBeforeMs >= validityMs) return bad('renew-before', str('renew-before', ''), 'a duration shorter than --cert-validity, such as 720h');
  const config = str('webhook-config', 'kube-ovn-ipam-webhook');

  const log = makeLog(str('log-level', 'info'));
  const read = readKubeConfig(typeof values['kubeconfig'] === 'string' ? values['kubeconfig'] : undefined);
  if (E.isLeft(read)) {
    io.stderr(`${PROGRAM} webhook: ${read.left}\n`);
    return EXIT_USAGE;
  }
  const kc = read.right;
  const certOptions: CertOptions = {
    namespace: str('namespace', process.env['POD_NAMESPACE'] ?? 'kube-ovn-ipam'),
    secretName: str('secret', 'kube-ovn-ipam-webhook-tls'),
    serviceName: str('service', 'kube-ovn-ipam-webhook'),
    extraSans: str('extra-san', '').split(',').map((s) => s.trim()).filter((s) => s !== ''),
    mutatingWebhookConfigurations: [config],
    validatingWebhookConfigurations: [config],
    validityMs,
    renewBeforeMs,
  };
  const { stopping, stopped } = stopOnSignals(log);
  const tls = await firstTls(kc, certOptions, log, stopping.signal);
  if (tls === undefined) return EXIT_OK;
  const network: NetworkSettings = { defaultNetwork: values['non-primary-cni-mode'] === true ? 'none' : 'ovn', defaultSubnet: str('default-subnet', 'ovn-default') };
  const view = new AdmissionView({ watcher: makeWatcher(kc), clock, log, network });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'kube_ovn_ipam_webhook_' });
  const answer = (path: ReviewPath) => (r: AdmissionReviewRequest): AdmissionOutcome => {
    const decision = view.review(path, { operation: r.operation, kind: r.kind, namespace: r.namespace ?? '', name: r.name ?? '', object: r.object });
    if (!decision.allowed || decision.warnings.length > 0 || decision.patch.length > 0) {
      log.info('admission', { path, kind: r.kind.kind, namespace: r.namespace, name: r.name, allowed: decision.allowed, message: decision.message, warnings: decision.warnings, patched: decision.patch.length > 0 });
    }
    return decision;
  };
  const server = await startWebhookServer({
    host: listen[1] === '' ? '0.0.0.0' : listen[1]!, port: Number(listen[2]), tls,
    handlers: { mutate: answer('mutate'), validate: answer('validate') },
    ready: () => view.isReady, log, registry,
  });
  view.start();
  const renewal = scheduleRenewal(kc, certOptions, tls, (next) => server.setTls(next), log);
  log.info('starting', { identity: process.env['POD_NAME'] ?? `${hostname()}-${process.pid}`, listen: `${listen[1]}:${server.port}`, notAfter: tls.notAfter.toISOString(), ...certOptions });

  await stopped;
  renewal.stop();
  await view.stop();
  await server.close();
  return EXIT_OK;
};

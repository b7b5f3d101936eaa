// `kube-ovn-ipam controller`: wires the real adapters (client-node, pino, prom-client, HTTP)
// into the controller and the leader elector, and runs until SIGTERM/SIGINT.
//
// The default Subnet (Kube-OVN's --default-ls/--default-cidr/--default-gateway/
// --default-exclude-ips): with --default-cidr, the leader creates that Subnet (provider ovn,
// protocol from the CIDR) once it leads and before it watches or allocates anything, unless a
// Subnet of that name exists, which is never modified. The flags are checked at start with the
// domain's Subnet canonicalisation, each problem naming its flag.
import * as E from 'fp-ts/lib/Either.js';
import { hostname } from 'node:os';
import { readKubeConfig } from '../adapters/kube/config.js';
import type { Request } from '../adapters/kube/rest.js';
import { ensureSubnet, type SubnetToEnsure } from '../adapters/kube/subnets.js';
import { makeWatcher } from '../adapters/kube/watcher.js';
import { makeLog } from '../adapters/log.js';
import { makeMetrics } from '../adapters/metrics.js';
import { serveHealth } from '../adapters/http.js';
import type { FaultHook } from '../effects/apply.js';
import { Controller } from '../effects/Controller.js';
import { LeaderElector } from '../effects/LeaderElector.js';
import type { Clock, Log } from '../effects/ports.js';
import { isDns1123Subdomain, dns1123SubdomainRule } from '../domain/schema/names.js';
import { canonicalize } from '../domain/Subnet.js';
import type { NetworkSettings } from '../domain/PlanContext.js';
import { commandFlags } from './args.js';
import { clusterPorts, isOvsdbAddress } from './clusterPorts.js';
import type { CliIo } from './io.js';
import { retryUntil, stopOnSignals } from './lifecycle.js';
import { EXIT_OK, EXIT_USAGE, PROGRAM } from './io.js';

/** How long shutdown waits for the controller's queues and watches to stop. */
const STOP_BOUND_MS = 3_000;

export const controllerHelp = `Usage: ${PROGRAM} controller [flags]

Watches Pods, Namespaces, Subnets, IPs, IPPools, NetworkAttachmentDefinitions, StatefulSets
and ReplicaSets; gives every pod interface its addresses; writes IP objects, pod annotations,
Subnet and IPPool status and pod Events. Several replicas may run: one leads (a Lease), the others wait.

Flags:
  --kubeconfig FILE        kubeconfig to use (default: in-cluster config, else ~/.kube/config)
  --workers N              pods reconciled concurrently (default 3)
  --gc-interval DURATION   sweep of IP objects whose pod is gone, e.g. 360s, 5m; 0 disables (default 360s)
  --cooldown DURATION      how long a released address rests before reuse (default 0s)
  --listen HOST:PORT       /healthz, /readyz and /metrics (default 0.0.0.0:10660)
  --lease-namespace NS     namespace of the leader Lease (default $POD_NAMESPACE, else kube-system)
  --lease-name NAME        name of the leader Lease (default kube-ovn-ipam-controller)
  --lease-duration DURATION  (default 15s); the leader renews every third of it
  --identity NAME          this replica's name in the Lease (default $POD_NAME, else host-pid)
  --ovn-nb ADDRESS         OVN northbound database, e.g. unix:/run/ovn/ovnnb_db.sock or tcp:HOST:6641:
                           keep a logical switch per OVN Subnet and a port per pod interface on it
                           (default: none or "", OVN is not touched)
  --default-subnet NAME    the default network's Subnet (default ovn-default)
  --non-primary-cni-mode   another CNI (Cilium, Calico, …) serves every pod's eth0: no eth0 claim, no
                           ovn.kubernetes.io/* annotations, no error for eth0 (unless a pod names one of
                           our NADs in v1.multus-cni.io/default-network); attachments as always
  --default-cidr CIDR      create that Subnet with this cidrBlock ("v4", "v6" or "v4,v6") when no
                           Subnet of that name exists; an existing one is never changed
                           (default: none, no Subnet is created)
  --default-gateway IP     its gateway (default: the first address of each CIDR)
  --default-exclude-ips LIST
                           its excludeIps: comma-separated addresses, CIDRs and a..b ranges
  --log-level LEVEL        debug, info, warn or error (default info)
  -h, --help               this help

Example:
  ${PROGRAM} controller --kubeconfig ~/.kube/config --workers 4 --gc-interval 5m
`;

/** The longest delay a Node timer takes (2^31-1 ms, about 596 h): a longer one fires after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** `90s`, `5m`, `1h`, `250ms` or a plain number of seconds, as milliseconds. */
export const parseDuration = (text: string): number | undefined => {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (m === null) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
};

/** KUBE_OVN_IPAM_FAULT=before|after:<ActionType>[:<n>] kills the process (SIGKILL) at that
 *  point of the n-th such write (default the first): for crash tests only. */
const faultFromEnv = (): FaultHook | undefined => {
  const spec = process.env['KUBE_OVN_IPAM_FAULT'];
  if (spec === undefined || spec === '') return undefined;
  const [stage, type, nth] = spec.split(':');
  let seen = 0;
  return (s, t) => {
    if (s === stage && t === type && ++seen === Number(nth ?? 1)) process.kill(process.pid, 'SIGKILL');
  };
};

const clock: Clock = { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };

const FLAG_OF_FIELD: Readonly<Record<string, string>> = { 'spec.cidrBlock': '--default-cidr', 'spec.gateway': '--default-gateway' };

/**
 * The default Subnet the flags ask for (undefined: none), or the problems with them, each
 * naming its flag. The spec is what Kube-OVN's controller writes for its default logical
 * switch, in canonical form: protocol, provider `ovn`, cidrBlock, gateway, and excludeIps when
 * given (as given).
 */
export const defaultSubnetOf = (flags: {
  readonly name: string; readonly cidr: string; readonly gateway?: string | undefined; readonly excludeIps?: string | undefined;
}): E.Either<readonly string[], SubnetToEnsure | undefined> => {
  const problems: string[] = [];
  if (!isDns1123Subdomain(flags.name)) problems.push(`--default-subnet ${JSON.stringify(flags.name)}: expected a Subnet name: ${dns1123SubdomainRule}`);
  const cidr = flags.cidr.trim();
  if (cidr === '') {
    for (const flag of ['gateway', 'excludeIps'] as const) {
      if (flags[flag] !== undefined) problems.push(`${flag === 'gateway' ? '--default-gateway' : '--default-exclude-ips'} needs --default-cidr (without it no default Subnet is created)`);
    }
    return problems.length > 0 ? E.left(problems) : E.right(undefined);
  }
  const excludeIps = (flags.excludeIps ?? '').split(',').map((e) => e.trim()).filter((e) => e !== '');
  const gateway = flags.gateway?.trim();
  const subnet = canonicalize({ metadata: { name: flags.name }, spec: { cidrBlock: cidr, provider: 'ovn', gateway, excludeIps } });
  if (E.isLeft(subnet)) {
    for (const p of subnet.left.problems) {
      const flag = FLAG_OF_FIELD[p.field] ?? (p.field.startsWith('spec.excludeIps[') ? `--default-exclude-ips entry ${Number(/\[(\d+)\]/.exec(p.field)?.[1]) + 1}` : p.field);
      problems.push(`${flag}: ${p.message}`);
    }
  }
  if (problems.length > 0 || E.isLeft(subnet)) return E.left(problems);
  const s = subnet.right;
  return E.right({
    name: s.name,
    spec: { protocol: s.protocol, provider: 'ovn', cidrBlock: s.cidrBlock, gateway: s.gateway, ...(excludeIps.length === 0 ? {} : { excludeIps }) },
  });
};

/**
 * Creates the default Subnet unless it exists, retrying (200 ms doubling to 10 s) while the API
 * server fails, until it is done, `signal` aborts, or this replica may no longer write.
 */
const ensureDefaultSubnet = async (request: Request, subnet: SubnetToEnsure, log: Log, canWrite: () => boolean, signal: AbortSignal): Promise<void> => {
  const outcome = await retryUntil(() => ensureSubnet(request, subnet, signal), (error, retryMs) =>
    log.warn('could not ensure the default subnet; retrying', { subnet: subnet.name, error, retryMs }), signal, { firstMs: 200, maxMs: 10_000, goOn: canWrite });
  if (outcome?.type === 'created') log.info('default subnet created', { subnet: subnet.name, ...subnet.spec });
  else if (outcome !== undefined) log.info('default subnet exists: left as it is', { subnet: subnet.name, cidrBlock: outcome.cidrBlock, flagCidrBlock: subnet.spec['cidrBlock'] });
};

export const runController = async (argv: readonly string[], io: CliIo): Promise<number> => {
  const flags = commandFlags('controller', argv, {
    kubeconfig: { type: 'string' }, workers: { type: 'string' }, 'gc-interval': { type: 'string' }, cooldown: { type: 'string' },
    listen: { type: 'string' }, 'lease-namespace': { type: 'string' }, 'lease-name': { type: 'string' }, 'lease-duration': { type: 'string' },
    identity: { type: 'string' }, 'ovn-nb': { type: 'string' }, 'log-level': { type: 'string' }, 'non-primary-cni-mode': { type: 'boolean' },
    'default-subnet': { type: 'string' }, 'default-cidr': { type: 'string' }, 'default-gateway': { type: 'string' }, 'default-exclude-ips': { type: 'string' },
  }, controllerHelp, io);
  if ('exit' in flags) return flags.exit;
  const { values } = flags;
  const str = (k: string, d: string) => (typeof values[k] === 'string' ? (values[k] as string) : d);
  const bad = (flag: string, value: string, want: string) => {
    io.stderr(`${PROGRAM} controller: --${flag} ${JSON.stringify(value)}: expected ${want}\n`);
    return EXIT_USAGE;
  };
  const workers = Number(str('workers', '3'));
  if (!Number.isInteger(workers) || workers < 1) return bad('workers', str('workers', ''), 'a positive integer');
  const gcIntervalMs = parseDuration(str('gc-interval', '360s'));
  // A timer of more than MAX_TIMER_MS fires after 1 ms: `--gc-interval 600h` swept every millisecond.
  if (gcIntervalMs === undefined || gcIntervalMs > MAX_TIMER_MS) return bad('gc-interval', str('gc-interval', ''), 'a duration such as 360s or 5m, at most 596h');
  const cooldownMs = parseDuration(str('cooldown', '0s'));
  if (cooldownMs === undefined) return bad('cooldown', str('cooldown', ''), 'a duration such as 30s');
  const leaseDurationMs = parseDuration(str('lease-duration', '15s'));
  if (leaseDurationMs === undefined || leaseDurationMs < 3000 || leaseDurationMs > MAX_TIMER_MS) return bad('lease-duration', str('lease-duration', ''), 'a duration from 3s to 596h');
  const listen = /^(.*):(\d+)$/.exec(str('listen', '0.0.0.0:10660'));
  if (listen === null) return bad('listen', str('listen', ''), 'HOST:PORT');
  const ovnNb = str('ovn-nb', '');
  if (ovnNb !== '' && !isOvsdbAddress(ovnNb)) return bad('ovn-nb', ovnNb, 'an OVSDB address such as unix:/run/ovn/ovnnb_db.sock or tcp:10.0.0.1:6641');
  const defaultSubnet = defaultSubnetOf({
    name: str('default-subnet', 'ovn-default'), cidr: str('default-cidr', ''),
    // An empty value is no value: a manifest passes every flag from a ConfigMap key that may be "".
    gateway: str('default-gateway', '') === '' ? undefined : str('default-gateway', ''),
    excludeIps: str('default-exclude-ips', '') === '' ? undefined : str('default-exclude-ips', ''),
  });
  if (E.isLeft(defaultSubnet)) {
    io.stderr(defaultSubnet.left.map((p) => `${PROGRAM} controller: ${p}\n`).join(''));
    return EXIT_USAGE;
  }

  const nonPrimary = values['non-primary-cni-mode'] === true;
  if (nonPrimary && str('default-cidr', '') !== '') {
    io.stderr(`${PROGRAM} controller: --default-cidr: no default Subnet in --non-primary-cni-mode (another CNI serves eth0)\n`);
    return EXIT_USAGE;
  }
  const network: NetworkSettings = { defaultNetwork: nonPrimary ? 'none' : 'ovn', defaultSubnet: str('default-subnet', 'ovn-default') };

  const log = makeLog(str('log-level', 'info'));
  const read = readKubeConfig(typeof values['kubeconfig'] === 'string' ? values['kubeconfig'] : undefined);
  if (E.isLeft(read)) {
    io.stderr(`${PROGRAM} controller: ${read.left}\n`);
    return EXIT_USAGE;
  }
  const kc = read.right;
  // Every request follows the stop signal: an API server that never answers holds no shutdown.
  const { stopping, stopped } = stopOnSignals(log);
  const { request, kube, ovn } = clusterPorts(kc, ovnNb, log, stopping.signal);
  const metrics = makeMetrics();
  const identity = str('identity', process.env['POD_NAME'] ?? `${hostname()}-${process.pid}`);
  const elector = new LeaderElector(kube, clock, log, {
    namespace: str('lease-namespace', process.env['POD_NAMESPACE'] ?? 'kube-system'),
    name: str('lease-name', 'kube-ovn-ipam-controller'),
    identity,
    leaseDurationMs,
    renewEveryMs: Math.floor(leaseDurationMs / 3),
    marginMs: Math.floor(leaseDurationMs / 5),
  });
  const controller = new Controller(
    { kube, watcher: makeWatcher(kc), clock, log, metrics, canWrite: elector.canWrite, ovn },
    { workers, gcIntervalMs, cooldownMs, fault: faultFromEnv(), network },
  );
  const server = await serveHealth(listen[1] === '' ? '0.0.0.0' : listen[1]!, Number(listen[2]), { ready: () => elector.isFollower() || (elector.isLeader() && controller.isReady), registry: metrics.registry });
  const bound = server.address();
  log.info('starting', {
    identity, workers, gcIntervalMs, cooldownMs, ovnNb: ovnNb === '' ? undefined : ovnNb, eth0: nonPrimary ? 'another CNI (non-primary CNI mode)' : `ovn, subnet ${network.defaultSubnet}`,
    defaultSubnet: defaultSubnet.right?.name, listen: typeof bound === 'object' && bound !== null ? `${bound.address}:${bound.port}` : str('listen', '0.0.0.0:10660'),
  });

  let exitCode = EXIT_OK;
  void elector.run(() => {
    exitCode = 1;
    stopping.abort();
  }).then(async () => {
    if (defaultSubnet.right !== undefined) await ensureDefaultSubnet(request, defaultSubnet.right, log, elector.canWrite, stopping.signal);
    if (!controller.isReady && !stopping.signal.aborted) controller.start();
  });
  await stopped;
  elector.stop();
  // Bounded: a part that will not stop (a request the API server never answers) holds no exit.
  await Promise.race([controller.stop(), new Promise<void>((resolve) => setTimeout(resolve, STOP_BOUND_MS).unref())]);
  server.close();
  return exitCode;
};

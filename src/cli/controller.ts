// `kube-ovn-ipam controller`: wires the real adapters (client-node, pino, prom-client, HTTP)
// into the controller and the leader elector, and runs until SIGTERM/SIGINT.
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { loadKubeConfig } from '../adapters/kube/config.js';
import { makeKube } from '../adapters/kube/kube.js';
import { makeWatcher } from '../adapters/kube/watcher.js';
import { makeLog } from '../adapters/log.js';
import { makeMetrics } from '../adapters/metrics.js';
import { makeOvn } from '../adapters/ovn.js';
import { serveHealth } from '../adapters/http.js';
import type { FaultHook } from '../effects/apply.js';
import { Controller } from '../effects/Controller.js';
import { LeaderElector } from '../effects/LeaderElector.js';
import type { Clock } from '../effects/ports.js';
import type { CliIo } from './io.js';
import { EXIT_OK, EXIT_USAGE, PROGRAM } from './io.js';

export const controllerHelp = `Usage: ${PROGRAM} controller [flags]

Watches Pods, Namespaces, Subnets, IPs, IPPools, NetworkAttachmentDefinitions, StatefulSets
and ReplicaSets; gives every pod interface its addresses; writes IP objects, pod annotations,
Subnet status and pod Events. Several replicas may run: one leads (a Lease), the others wait.

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
                           (default: none, OVN is not touched)
  --log-level LEVEL        debug, info, warn or error (default info)
  -h, --help               this help

Example:
  ${PROGRAM} controller --kubeconfig ~/.kube/config --workers 4 --gc-interval 5m
`;

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

export const runController = async (argv: readonly string[], io: CliIo): Promise<number> => {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        kubeconfig: { type: 'string' }, workers: { type: 'string' }, 'gc-interval': { type: 'string' }, cooldown: { type: 'string' },
        listen: { type: 'string' }, 'lease-namespace': { type: 'string' }, 'lease-name': { type: 'string' }, 'lease-duration': { type: 'string' },
        identity: { type: 'string' }, 'ovn-nb': { type: 'string' }, 'log-level': { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (e) {
    io.stderr(`${PROGRAM} controller: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}\nRun '${PROGRAM} controller --help' for usage.\n`);
    return EXIT_USAGE;
  }
  if (values['help'] === true) {
    io.stdout(controllerHelp);
    return EXIT_OK;
  }
  const str = (k: string, d: string) => (typeof values[k] === 'string' ? (values[k] as string) : d);
  const bad = (flag: string, value: string, want: string) => {
    io.stderr(`${PROGRAM} controller: --${flag} ${JSON.stringify(value)}: expected ${want}\n`);
    return EXIT_USAGE;
  };
  const workers = Number(str('workers', '3'));
  if (!Number.isInteger(workers) || workers < 1) return bad('workers', str('workers', ''), 'a positive integer');
  const gcIntervalMs = parseDuration(str('gc-interval', '360s'));
  if (gcIntervalMs === undefined) return bad('gc-interval', str('gc-interval', ''), 'a duration such as 360s or 5m');
  const cooldownMs = parseDuration(str('cooldown', '0s'));
  if (cooldownMs === undefined) return bad('cooldown', str('cooldown', ''), 'a duration such as 30s');
  const leaseDurationMs = parseDuration(str('lease-duration', '15s'));
  if (leaseDurationMs === undefined || leaseDurationMs < 3000) return bad('lease-duration', str('lease-duration', ''), 'a duration of at least 3s');
  const listen = /^(.*):(\d+)$/.exec(str('listen', '0.0.0.0:10660'));
  if (listen === null) return bad('listen', str('listen', ''), 'HOST:PORT');
  const ovnNb = str('ovn-nb', '');
  if (typeof values['ovn-nb'] === 'string' && !/^(unix|tcp|ssl):\S+$/.test(ovnNb)) return bad('ovn-nb', ovnNb, 'an OVSDB address such as unix:/run/ovn/ovnnb_db.sock or tcp:10.0.0.1:6641');

  const log = makeLog(str('log-level', 'info'));
  const kc = loadKubeConfig(typeof values['kubeconfig'] === 'string' ? values['kubeconfig'] : undefined);
  const kube = makeKube(kc);
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
  const ovn = ovnNb === '' ? undefined : makeOvn({ db: ovnNb, log });
  const controller = new Controller(
    { kube, watcher: makeWatcher(kc), clock, log, metrics, canWrite: elector.canWrite, ovn },
    { workers, gcIntervalMs, cooldownMs, fault: faultFromEnv() },
  );
  const server = await serveHealth(listen[1] === '' ? '0.0.0.0' : listen[1]!, Number(listen[2]), { ready: () => elector.isFollower() || (elector.isLeader() && controller.isReady), registry: metrics.registry });
  const bound = server.address();
  log.info('starting', { identity, workers, gcIntervalMs, cooldownMs, ovnNb: ovnNb === '' ? undefined : ovnNb, listen: typeof bound === 'object' && bound !== null ? `${bound.address}:${bound.port}` : str('listen', '0.0.0.0:10660') });

  let exitCode = EXIT_OK;
  const done = new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      log.info('shutting down', { signal });
      resolve();
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
    void elector.run(() => {
      exitCode = 1;
      resolve();
    }).then(() => {
      if (!controller.isReady) controller.start();
    });
  });
  await done;
  elector.stop();
  await controller.stop();
  server.close();
  return exitCode;
};

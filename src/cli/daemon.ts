// `kube-ovn-ipam daemon`: wires the real adapters (ip, the Open_vSwitch database, the API server, pino) into
// the node daemon and serves the CNI plugin on a unix socket until SIGTERM/SIGINT.
// startNodeDaemon is the wiring on its own, so tests run exactly what the command runs.
// With `listen` it also serves /healthz, /readyz (the socket is bound and pods and Subnets have
// been listed) and /metrics (requests per CNI command and outcome, process metrics) over HTTP,
// with the controller's serveHealth; the port is bound first, so a taken port fails the start
// before the socket exists.
import type { Server } from 'node:http';
import * as E from 'fp-ts/lib/Either.js';
import { loadKubeConfig, readKubeConfig } from '../adapters/kube/config.js';
import { makeRest } from '../adapters/kube/rest.js';
import { makeWatcher } from '../adapters/kube/watcher.js';
import { makeLog } from '../adapters/log.js';
import { makeDaemonMetrics, withRequestMetrics } from '../adapters/daemonMetrics.js';
import { serveDaemon } from '../adapters/daemonServer.js';
import { serveHealth } from '../adapters/http.js';
import { makeIp, ovsDbOf } from '../adapters/node/exec.js';
import { makeNodeKube } from '../adapters/node/kube.js';
import { makeNetlink } from '../adapters/node/netlink.js';
import { makeOvsdbClient } from '../adapters/node/ovsdb.js';
import { makeOvsdbOvs, OVS_MONITOR } from '../adapters/node/ovsdbOvs.js';
import { Daemon } from '../effects/Daemon.js';
import type { Log } from '../effects/ports.js';
import { MAX_TIMER_MS, parseDuration } from './controller.js';
import type { FlagSpecs } from './args.js';
import { isLogLevel, parseFlags } from './args.js';
import type { CliIo } from './io.js';
import { EXIT_OK, EXIT_USAGE, PROGRAM } from './io.js';

export const DEFAULT_SOCKET = '/run/openvswitch/kube-ovn-daemon.sock';
/** The Open_vSwitch database when neither --ovs-db nor $OVS_RUNDIR names one (ovs-vsctl's default). */
export const DEFAULT_OVS_DB = 'unix:/var/run/openvswitch/db.sock';
/** Kube-OVN's daemon metrics port. */
export const DEFAULT_DAEMON_LISTEN = '0.0.0.0:10665';

export const daemonHelp = `Usage: ${PROGRAM} daemon [flags]

The node daemon (one per node, hostNetwork, privileged). Serves the kube-ovn CNI plugin on a
unix socket (POST /api/v1/add, /api/v1/del): waits, by watch, until the controller has
allocated the pod's addresses, then for OVN networks plugs the pod (veth pair, OVS port on
the integration bridge, addresses, MAC, MTU and routes in the pod's network namespace); for
IPAM-only networks answers the addresses and routes.

Flags:
  --kubeconfig FILE        kubeconfig to use (default: in-cluster config, else ~/.kube/config)
  --node-name NAME         this node; only its pods are watched (default $NODE_NAME; without
                           one every pod is watched)
  --bind-socket PATH       the socket (default ${DEFAULT_SOCKET})
  --mtu N                  MTU of OVN interfaces whose Subnet sets none (default 1400)
  --ovs-db ADDRESS         Open_vSwitch database, e.g. unix:/run/openvswitch/db.sock
                           (default unix:$OVS_RUNDIR/db.sock, else unix:/var/run/openvswitch/db.sock)
  --bridge NAME            the integration bridge (default br-int)
  --ovn-installed-timeout DURATION
                           wait this long for ovn-controller to bind a new port
                           (external_ids:ovn-installed=true); 0 does not wait (default 0s)
  --wait-timeout DURATION  how long ADD waits for an allocation by default (default 30s)
  --listen HOST:PORT       /healthz, /readyz (socket bound, pods and Subnets listed) and
                           /metrics (default ${DEFAULT_DAEMON_LISTEN})
  --log-level LEVEL        debug, info, warn or error (default info)
  -h, --help               this help

Example:
  ${PROGRAM} daemon --node-name "$NODE_NAME" --ovs-db unix:/run/openvswitch/db.sock
`;

export interface NodeDaemonConfig {
  readonly kubeconfig?: string | undefined;
  readonly nodeName?: string | undefined;
  readonly socket: string;
  readonly mtu: number;
  readonly ovsDb?: string | undefined;
  readonly bridge: string;
  /** Namespace (path) of the host ends and ovs-vswitchd; undefined: ours (tests set it). */
  readonly hostNetns?: string | undefined;
  readonly ovnInstalledTimeoutMs: number;
  readonly defaultDeadlineMs: number;
  /** Serve /healthz, /readyz and /metrics here (port 0: any); undefined: no HTTP endpoint. */
  readonly listen?: { readonly host: string; readonly port: number } | undefined;
}

export interface RunningDaemon {
  readonly daemon: Daemon;
  readonly socket: string;
  /** `host:port` the health and metrics endpoint is bound to, when `listen` was given. */
  readonly listen: string | undefined;
  /** Stops accepting, answers waiting ADDs, stops the watches, removes the socket. */
  stop(): Promise<void>;
}

/** Builds the daemon from real adapters, starts its watches and listens on the socket. */
export async function startNodeDaemon(config: NodeDaemonConfig, log: Log): Promise<RunningDaemon> {
  const kc = loadKubeConfig(config.kubeconfig);
  const request = makeRest(kc);
  const node = config.nodeName === undefined || config.nodeName === '' ? undefined : config.nodeName;
  const watcher = makeWatcher(kc, { request, ...(node === undefined ? {} : { queries: { pods: { fieldSelector: `spec.nodeName=${node}` } } }) });
  // One kept connection to the Open_vSwitch database (ovsdbOvs.ts), not an ovs-vsctl per call.
  const ovsdb = makeOvsdbClient(ovsDbOf(config.ovsDb) ?? DEFAULT_OVS_DB, 'Open_vSwitch', OVS_MONITOR);
  const daemon = new Daemon(
    {
      netlink: makeNetlink(makeIp({ log })),
      ovs: makeOvsdbOvs(ovsdb, { log }),
      kube: makeNodeKube(request),
      watcher,
      clock: { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) },
      log,
    },
    {
      nodeName: node, bridge: config.bridge, hostNetns: config.hostNetns, defaultMtu: config.mtu,
      ovnInstalledTimeoutMs: config.ovnInstalledTimeoutMs, defaultDeadlineMs: config.defaultDeadlineMs,
    },
  );
  let bound = false;
  const metrics = config.listen === undefined ? undefined : makeDaemonMetrics();
  let health: Server | undefined;
  if (config.listen !== undefined && metrics !== undefined) {
    const { host, port } = config.listen;
    try {
      health = await serveHealth(host, port, {
        ready: () => bound && daemon.synced,
        notReady: () => (bound ? 'not ready: pods and Subnets not listed yet' : 'not ready: the CNI socket is not bound yet'),
        registry: metrics.registry,
      });
    } catch (err) {
      throw new Error(`--listen ${host}:${port}: ${messageOf(err)}`, { cause: err });
    }
  }
  const closeHealth = (): Promise<void> => new Promise((resolve) => {
    if (health === undefined) return resolve();
    health.close(() => resolve());
    health.closeAllConnections();
  });
  daemon.start();
  let server;
  try {
    server = await serveDaemon(config.socket, metrics === undefined ? daemon : withRequestMetrics(daemon, metrics), log);
  } catch (err) {
    await Promise.all([daemon.stop(), closeHealth()]);
    ovsdb.close();
    throw err;
  }
  bound = true;
  const address = health?.address();
  const listen = typeof address === 'object' && address !== null ? `${address.address}:${address.port}` : undefined;
  log.info('daemon started', {
    node: node ?? '(every pod)', socket: config.socket, ovsDb: ovsDbOf(config.ovsDb) ?? DEFAULT_OVS_DB, bridge: config.bridge, mtu: config.mtu,
    ...(listen === undefined ? {} : { listen }),
  });
  const srv = server;
  return {
    daemon,
    socket: config.socket,
    listen,
    stop: async () => {
      const closing = srv.close();
      await daemon.stop();
      await Promise.all([closing, closeHealth()]);
      ovsdb.close();
    },
  };
}

/** An error's message; also for errors of another realm (instanceof Error fails there). */
const messageOf = (err: unknown): string => {
  const message = typeof err === 'object' && err !== null ? (err as { readonly message?: unknown }).message : undefined;
  return typeof message === 'string' ? message : String(err);
};

/** `HOST:PORT` (HOST may be empty: every address; IPv6 in brackets or bare) as host and port. */
export const parseListen = (text: string): { readonly host: string; readonly port: number } | undefined => {
  const m = /^(.*):(\d{1,5})$/.exec(text);
  if (m === null || Number(m[2]) > 65535) return undefined;
  const host = m[1]!.replace(/^\[(.*)\]$/, '$1');
  return { host: host === '' ? '0.0.0.0' : host, port: Number(m[2]) };
};

const flags: FlagSpecs = {
  kubeconfig: { type: 'string' }, 'node-name': { type: 'string' }, 'bind-socket': { type: 'string' }, mtu: { type: 'string' },
  'ovs-db': { type: 'string' }, bridge: { type: 'string' }, 'ovn-installed-timeout': { type: 'string' },
  'wait-timeout': { type: 'string' }, listen: { type: 'string' }, 'log-level': { type: 'string' }, help: { type: 'boolean', short: 'h' },
};

export const runDaemon = async (argv: readonly string[], io: CliIo): Promise<number> => {
  const args = parseFlags(argv, flags);
  const positional = E.isRight(args) ? args.right.find((a) => a.kind === 'positional') : undefined;
  if (E.isLeft(args) || positional !== undefined) {
    const why = E.isLeft(args) ? args.left : `unexpected argument ${JSON.stringify(positional?.value)}`;
    io.stderr(`${PROGRAM} daemon: ${why}\nRun '${PROGRAM} daemon --help' for usage.\n`);
    return EXIT_USAGE;
  }
  // A later flag wins.
  const values: Record<string, string | boolean | undefined> = {};
  for (const a of args.right) if (a.kind === 'flag') values[a.name] = a.value ?? true;
  if (values['help'] === true) {
    io.stdout(daemonHelp);
    return EXIT_OK;
  }
  const str = (k: string, d: string): string => (typeof values[k] === 'string' ? (values[k] as string) : d);
  const bad = (flag: string, want: string): number => {
    io.stderr(`${PROGRAM} daemon: --${flag} ${JSON.stringify(str(flag, ''))}: expected ${want}\n`);
    return EXIT_USAGE;
  };
  if (!isLogLevel(str('log-level', 'info'))) return bad('log-level', 'debug, info, warn or error');
  const mtu = Number(str('mtu', '1400'));
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) return bad('mtu', 'an integer from 68 to 65535');
  const ovnInstalledTimeoutMs = parseDuration(str('ovn-installed-timeout', '0s'));
  if (ovnInstalledTimeoutMs === undefined || ovnInstalledTimeoutMs > MAX_TIMER_MS) return bad('ovn-installed-timeout', 'a duration such as 30s, at most 596h');
  const defaultDeadlineMs = parseDuration(str('wait-timeout', '30s'));
  if (defaultDeadlineMs === undefined || defaultDeadlineMs <= 0) return bad('wait-timeout', 'a positive duration such as 30s');
  const bridge = str('bridge', 'br-int');
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(bridge)) return bad('bridge', 'a bridge name');
  const listen = parseListen(str('listen', DEFAULT_DAEMON_LISTEN));
  if (listen === undefined) return bad('listen', 'HOST:PORT with a port from 0 to 65535');

  const kubeconfig = typeof values['kubeconfig'] === 'string' ? values['kubeconfig'] : undefined;
  const read = readKubeConfig(kubeconfig);
  if (E.isLeft(read)) {
    io.stderr(`${PROGRAM} daemon: ${read.left}\n`);
    return EXIT_USAGE;
  }
  const log = makeLog(str('log-level', 'info'), 'kube-ovn-ipam-daemon');
  let running: RunningDaemon;
  try {
    running = await startNodeDaemon({
      kubeconfig,
      nodeName: str('node-name', process.env['NODE_NAME'] ?? ''),
      socket: str('bind-socket', DEFAULT_SOCKET),
      mtu, ovsDb: typeof values['ovs-db'] === 'string' ? values['ovs-db'] : undefined, bridge, ovnInstalledTimeoutMs, defaultDeadlineMs, listen,
    }, log);
  } catch (err) {
    io.stderr(`${PROGRAM} daemon: ${messageOf(err)}\n`);
    return 1;
  }
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string): void => {
      log.info('shutting down', { signal });
      resolve();
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
  await running.stop();
  return EXIT_OK;
};

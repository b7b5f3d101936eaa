// Open vSwitch and OVN in userspace (datapath_type=netdev), started from scratch for a test.
//
// Rules:
// - Every file, socket, pidfile and log lives in one temp run dir; every ovs-*/ovn-* command an
//   OvsEnv runs gets that dir through OVS_RUNDIR/OVS_LOGDIR/OVS_DBDIR/OVS_SYSCONFDIR and the
//   OVN_* twins (plus OVN_NB_DB/OVN_SB_DB), and names its database socket explicitly
//   (`--db=unix:…`), so a system-wide OVS is never touched.
// - The userspace datapath creates kernel tap devices with fixed names in the namespace of
//   ovs-vswitchd: `ovs-netdev` (the datapath) and one per internal port (the bridge itself).
//   Two vswitchds in one namespace collide on `ovs-netdev` whatever their bridges are called
//   (the second fails with "creating tap device failed: Device or resource busy"). Hence:
//   isolation 'netns' (default) runs ovs-vswitchd in a private network namespace, so any number
//   of OvsEnvs (one per jest worker) coexist; the host ends of pod veths go into that namespace
//   (`env.netns`, `env.portEnd(name)`). Isolation 'host' runs it in this process's namespace
//   and takes a lock file first, so such tests run one at a time across processes.
// - Daemons run detached (`--detach` returns once each is ready) and are tracked by pid (and
//   start time) with the reaper; `stop()` removes the bridge, stops every daemon (graceful,
//   then SIGTERM, then SIGKILL), waits until each pid is gone, and deletes the namespace and
//   run dir. It is idempotent, and `startOvs` calls it itself when starting fails.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeFailure, run, runOk, sleep, waitFor } from './exec.js';
import { createNetns, deleteNetns, type LinkEnd } from './netns.js';
import { manifestPath, processAlive, processStartTime, sweepStale, track, uniqueNumber, untrack } from './reaper.js';
import { makeTempDir, type TempDir } from './tmp.js';

export const OVS_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';
export const OVN_NB_SCHEMA = '/usr/share/ovn/ovn-nb.ovsschema';
export const OVN_SB_SCHEMA = '/usr/share/ovn/ovn-sb.ovsschema';
/** Held by the OvsEnv that runs in this process's namespace (isolation 'host'). */
export const HOST_LOCK = join(tmpdir(), 'kube-ovn-ipam-ovs-host.lock');

export interface OvsOptions {
  /** 'netns' (default): private namespace, parallel-safe. 'host': serialised by HOST_LOCK. */
  readonly isolation?: 'netns' | 'host';
  /** The integration bridge; default `br-int`. */
  readonly bridge?: string;
  /** Start OVN (NB, SB, northd, ovn-controller) too; default true. 'nb-only': OVN's northbound
   *  database alone, and nothing else (no Open vSwitch, no chassis), for tests that only read
   *  and write the NB (the controller's logical switches and ports). */
  readonly ovn?: boolean | 'nb-only';
  /** The chassis name; default `kovt-<pid>-<n>`. */
  readonly systemId?: string;
  /** Per readiness step; default 30 s. */
  readonly timeoutMs?: number;
  /** How long isolation 'host' waits for HOST_LOCK; default 10 min. */
  readonly lockTimeoutMs?: number;
  /** The run dir (databases, sockets, logs), which must not exist yet: made here, removed by
   *  `stop()`. Default a fresh temp dir. The cluster tier uses `/run/openvswitch`, where the
   *  seed's NADs expect the daemon's socket and a node's daemon pod finds OVS's. */
  readonly runDir?: string;
}

export interface Daemon {
  readonly name: string;
  readonly pid: number;
  /** Its unixctl socket, for `appctl`. */
  readonly ctl: string;
}

export interface OvsEnv {
  readonly runDir: string;
  /** The variables every ovs-* and ovn-* command of this env gets. */
  readonly env: Readonly<Record<string, string>>;
  readonly bridge: string;
  /** The namespace of ovs-vswitchd and of the bridge's ports; undefined for isolation 'host'. */
  readonly netns: string | undefined;
  readonly systemId: string;
  /** `unix:` addresses of the Open_vSwitch, OVN NB and OVN SB databases. */
  readonly db: { readonly ovs: string; readonly nb: string | undefined; readonly sb: string | undefined };
  readonly daemons: readonly Daemon[];
  /** A link named `name` where the bridge can take it as a port (host end of a pod veth). */
  portEnd(name: string): LinkEnd;
  /** ovs-vsctl / ovn-nbctl / ovn-sbctl against this env's databases; resolve with trimmed stdout. */
  vsctl(...args: string[]): Promise<string>;
  nbctl(...args: string[]): Promise<string>;
  sbctl(...args: string[]): Promise<string>;
  /** ovs-appctl to a daemon of this env, by name (`ovs-vswitchd`, `ovn-controller`, …). */
  appctl(daemon: string, ...args: string[]): Promise<string>;
  /** Stops everything started and removes every trace; idempotent. */
  stop(): Promise<void>;
}

const CMD_TIMEOUT_S = 30;

export async function startOvs(options: OvsOptions = {}): Promise<OvsEnv> {
  const isolation = options.isolation ?? 'netns';
  const bridge = options.bridge ?? 'br-int';
  const withOvn = options.ovn !== false;
  const nbOnly = options.ovn === 'nb-only';
  const timeoutMs = options.timeoutMs ?? 30_000;
  const systemId = options.systemId ?? `kovt-${process.pid}-${uniqueNumber()}`;
  for (const [what, value] of [['bridge', bridge], ['systemId', systemId]] as const) {
    if (!/^[A-Za-z0-9_.-]+$/.test(value)) throw new Error(`startOvs: bad ${what} ${JSON.stringify(value)}`);
  }

  const releaseLock = isolation === 'host' ? await acquireHostLock(options.lockTimeoutMs ?? 600_000) : undefined;
  const tmp = options.runDir === undefined ? makeTempDir('ovs') : makeFixedDir(options.runDir);
  const dir = tmp.path;
  const env: Record<string, string> = {
    OVS_RUNDIR: dir, OVS_LOGDIR: dir, OVS_DBDIR: dir, OVS_SYSCONFDIR: dir,
    OVN_RUNDIR: dir, OVN_LOGDIR: dir, OVN_DBDIR: dir, OVN_SYSCONFDIR: dir,
    ...(withOvn ? { OVN_NB_DB: `unix:${dir}/ovnnb_db.sock`, OVN_SB_DB: `unix:${dir}/ovnsb_db.sock` } : {}),
  };
  const db = {
    ovs: `unix:${dir}/db.sock`,
    nb: withOvn ? `unix:${dir}/ovnnb_db.sock` : undefined,
    sb: withOvn && !nbOnly ? `unix:${dir}/ovnsb_db.sock` : undefined,
  };
  const daemons: (Daemon & { readonly startTime: string; readonly trackId: number })[] = [];
  let netns: string | undefined;
  const hostLinks: number[] = [];
  let stopped = false;

  const cmd = (argv: string[]): Promise<string> =>
    runOk(argv, { env, timeoutMs: (CMD_TIMEOUT_S + 5) * 1000 }).then((out) => out.trim());
  const vsctl = (...args: string[]): Promise<string> =>
    cmd(['ovs-vsctl', `--db=${db.ovs}`, `--timeout=${CMD_TIMEOUT_S}`, ...args]);
  const nbctl = (...args: string[]): Promise<string> =>
    db.nb === undefined ? Promise.reject(new Error('this OvsEnv has no OVN')) : cmd(['ovn-nbctl', `--db=${db.nb}`, `--timeout=${CMD_TIMEOUT_S}`, ...args]);
  const sbctl = (...args: string[]): Promise<string> =>
    db.sb === undefined ? Promise.reject(new Error('this OvsEnv has no OVN')) : cmd(['ovn-sbctl', `--db=${db.sb}`, `--timeout=${CMD_TIMEOUT_S}`, ...args]);
  const appctl = (name: string, ...args: string[]): Promise<string> => {
    const daemon = daemons.find((d) => d.name === name);
    if (daemon === undefined) return Promise.reject(new Error(`no daemon ${name} in this OvsEnv`));
    return cmd(['ovs-appctl', '-t', daemon.ctl, `--timeout=${CMD_TIMEOUT_S}`, ...args]);
  };

  /** Starts one detached daemon; with `ctl: false` it picks its own `<name>.<pid>.ctl` (ovn-controller). */
  const startDaemon = async (name: string, argv: string[], { inNetns = false, ctl = true } = {}): Promise<void> => {
    const pidfile = `${dir}/${name}.pid`;
    const full = [...argv, '--detach', '--no-chdir', `--pidfile=${pidfile}`, `--log-file=${dir}/${name}.log`,
      '-vconsole:off', ...(ctl ? [`--unixctl=${dir}/${name}.ctl`] : [])];
    try {
      await runOk(inNetns && netns !== undefined ? ['ip', 'netns', 'exec', netns, ...full] : full,
        { env, timeoutMs: CMD_TIMEOUT_S * 1000 });
    } finally {
      // Even a failed start may have left a daemon behind: whatever wrote its pidfile is ours.
      const pid = existsSync(pidfile) ? Number(readFileSync(pidfile, 'utf8').trim()) : NaN;
      if (Number.isInteger(pid) && processAlive(pid)) {
        const startTime = processStartTime(pid);
        const trackId = track({ kind: 'process', pid, startTime, name });
        daemons.push({ name, pid, startTime, trackId, ctl: ctl ? `${dir}/${name}.ctl` : `${dir}/${name}.${pid}.ctl` });
      }
    }
  };

  /** Stops this environment's ovn-controller (SIGTERM, then SIGKILL after 5 s) and starts it again. */
  const restartOvnController = async (): Promise<void> => {
    for (const d of daemons.filter((x) => x.name === 'ovn-controller' && processAlive(x.pid, x.startTime))) {
      process.kill(d.pid, 'SIGTERM');
      const gone = await waitFor('ovn-controller to exit', async () => (processAlive(d.pid, d.startTime) ? undefined : true), { timeoutMs: 5_000 }).catch(() => false);
      if (gone !== true) process.kill(d.pid, 'SIGKILL');
    }
    rmSync(`${dir}/ovn-controller.pid`, { force: true });
    await startDaemon('ovn-controller', ['ovn-controller', db.ovs], { ctl: false });
  };

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    const errors: string[] = [];
    const alive = (d: (typeof daemons)[number]): boolean => processAlive(d.pid, d.startTime);
    const vswitchd = daemons.find((d) => d.name === 'ovs-vswitchd');
    if (vswitchd !== undefined && alive(vswitchd)) {
      // Removing the bridge while vswitchd runs deletes its tap device; `exit --cleanup` the datapath.
      await run(['ovs-vsctl', `--db=${db.ovs}`, '--timeout=10', '--if-exists', 'del-br', bridge], { env, timeoutMs: 15_000 });
      await run(['ovs-appctl', '-t', vswitchd.ctl, '--timeout=10', 'exit', '--cleanup'], { env, timeoutMs: 15_000 });
    }
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      for (const d of [...daemons].reverse()) {
        if (!alive(d)) continue;
        try {
          process.kill(d.pid, signal);
        } catch {
          // Exited in between.
        }
      }
      const deadline = Date.now() + 5_000;
      while (daemons.some(alive) && Date.now() < deadline) await sleep(50);
    }
    for (const d of daemons) {
      if (alive(d)) errors.push(`${d.name} (pid ${d.pid}) survived SIGKILL`);
      else untrack(d.trackId);
    }
    if (netns !== undefined) {
      await deleteNetns(netns).catch((e: unknown) => errors.push(String(e)));
    } else if (vswitchd !== undefined) {
      // Isolation 'host': the tap devices are ours while we hold the lock.
      for (const link of [bridge, 'ovs-netdev']) {
        if ((await run(['ip', 'link', 'show', 'dev', link])).code === 0) {
          const result = await run(['ip', 'link', 'del', 'dev', link]);
          if (result.code !== 0) errors.push(describeFailure(result));
        }
      }
      for (const id of hostLinks) untrack(id);
    }
    tmp.remove();
    releaseLock?.();
    if (errors.length > 0) throw new Error(`OvsEnv.stop: ${errors.join('; ')}`);
  };

  try {
    if (nbOnly) {
      await runOk(['ovsdb-tool', 'create', `${dir}/ovnnb_db.db`, OVN_NB_SCHEMA], { env });
      await startDaemon('ovnnb_db', ['ovsdb-server', `${dir}/ovnnb_db.db`, `--remote=punix:${dir}/ovnnb_db.sock`]);
      await nbctl('show');
      return environment();
    }
    if (isolation === 'netns') netns = await createNetns();
    await runOk(['ovsdb-tool', 'create', `${dir}/conf.db`, OVS_SCHEMA], { env });
    await startDaemon('ovsdb-server', ['ovsdb-server', `${dir}/conf.db`, `--remote=punix:${dir}/db.sock`]);
    await vsctl('--no-wait', 'init');
    await startDaemon('ovs-vswitchd', ['ovs-vswitchd', db.ovs], { inNetns: true });
    if (netns === undefined) {
      // Isolation 'host': the tap devices outlive a killed vswitchd; the reaper must know them.
      for (const name of ['ovs-netdev', bridge]) hostLinks.push(track({ kind: 'link', name }));
    }
    await vsctl('add-br', bridge, '--', 'set', 'Bridge', bridge, 'datapath_type=netdev', 'fail-mode=secure',
      'other-config:disable-in-band=true');
    await vsctl('show');
    if (withOvn) {
      for (const [name, schema] of [['ovnnb_db', OVN_NB_SCHEMA], ['ovnsb_db', OVN_SB_SCHEMA]] as const) {
        await runOk(['ovsdb-tool', 'create', `${dir}/${name}.db`, schema], { env });
        await startDaemon(name, ['ovsdb-server', `${dir}/${name}.db`, `--remote=punix:${dir}/${name}.sock`]);
      }
      await startDaemon('ovn-northd', ['ovn-northd', `--ovnnb-db=${db.nb ?? ''}`, `--ovnsb-db=${db.sb ?? ''}`]);
      await vsctl('set', 'Open_vSwitch', '.', `external_ids:system-id=${systemId}`,
        `external_ids:ovn-remote=${db.sb ?? ''}`, 'external_ids:ovn-encap-type=geneve',
        'external_ids:ovn-encap-ip=127.0.0.1', `external_ids:ovn-bridge=${bridge}`,
        'external_ids:ovn-bridge-datapath-type=netdev');
      // This ovn-controller (OVN 23.03) rejects --unixctl although its --help lists it.
      await startDaemon('ovn-controller', ['ovn-controller', db.ovs], { ctl: false });
      await nbctl('show');
      await sbctl('show');
      await waitFor(`chassis ${systemId} in the OVN SB database`, async () =>
        (await sbctl('--bare', '--columns=name', 'find', 'Chassis', `name=${systemId}`)) === systemId ? true : undefined,
      { timeoutMs });
      // Each sync bumps nb_cfg again; on a loaded machine one round can miss ovn-controller's
      // update, so a few shorter rounds are surer than one long one.
      // An ovn-controller that stops answering right after its start (seen once in CI: its log
      // ends at the OpenFlow connection) is restarted once before three more rounds.
      for (let round = 1; ; round++) {
        const synced = await run(['ovn-nbctl', `--db=${db.nb ?? ''}`, '--timeout=10', '--wait=hv', 'sync'], { env, timeoutMs: 15_000 });
        if (synced.code === 0) break;
        if (round === 6) throw new Error(`ovn-nbctl --wait=hv sync did not finish in 6 rounds of 10 s (ovn-controller restarted after 3): ${synced.stderr.trim()}`);
        if (round === 3) await restartOvnController();
      }
    }
  } catch (e) {
    const logs = logTails(dir);
    await stop().catch(() => undefined);
    throw new Error(`startOvs failed: ${e instanceof Error ? e.message : String(e)}\n${logs}`, { cause: e });
  }
  return environment();

  function environment(): OvsEnv {
    return {
      runDir: dir, env, bridge, netns, systemId, db,
      daemons: daemons.map(({ name, pid, ctl }) => ({ name, pid, ctl })),
      portEnd: (name) => ({ name, netns }),
      vsctl, nbctl, sbctl, appctl, stop,
    };
  }
}

/** `path`, made now (it must not exist), tracked and removed like a temp dir. */
function makeFixedDir(path: string): TempDir {
  mkdirSync(path, { mode: 0o755 });
  const id = track({ kind: 'dir', path });
  let removed = false;
  return {
    path,
    remove(): void {
      if (removed) return;
      rmSync(path, { recursive: true, force: true });
      untrack(id);
      removed = true;
    },
  };
}

/** The last lines of every daemon log in `dir`, for failure messages. */
function logTails(dir: string, lines = 15): string {
  if (!existsSync(dir)) return '';
  return readdirSync(dir).filter((f) => f.endsWith('.log')).map((f) => {
    const tail = readFileSync(join(dir, f), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    return `--- ${f}\n${tail}`;
  }).join('\n');
}

function modifiedWithin(path: string, ms: number): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs < ms;
  } catch {
    return false;
  }
}

/** Takes HOST_LOCK (breaking it when its holder is dead); resolves with the release function. */
async function acquireHostLock(timeoutMs: number): Promise<() => void> {
  const content = `${process.pid}\n`;
  const id = await waitFor(`the host OVS lock ${HOST_LOCK}`, async () => {
    try {
      writeFileSync(HOST_LOCK, content, { flag: 'wx' });
      return track({ kind: 'file', path: HOST_LOCK, content });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = readFileSync(HOST_LOCK, 'utf8');
      const holderPid = Number(holder.trim());
      if (!processAlive(holderPid)) {
        // A dead holder's reaper removes its taps, then the lock: break the lock only when no
        // reaper is (or should be) at work, else we would start under its feet.
        const manifest = manifestPath(holderPid);
        if (existsSync(manifest)) sweepStale();
        else if (!modifiedWithin(`${manifest}.reaping`, 30_000) && readFileSync(HOST_LOCK, 'utf8') === holder) {
          rmSync(HOST_LOCK, { force: true });
        }
      }
      return undefined;
    }
  }, { timeoutMs, intervalMs: 200 });
  if ((await run(['ip', 'link', 'show', 'dev', 'ovs-netdev'])).code === 0) {
    rmSync(HOST_LOCK, { force: true });
    untrack(id);
    throw new Error('a link named ovs-netdev exists in this namespace: another userspace OVS runs here; use isolation "netns"');
  }
  return () => {
    if (existsSync(HOST_LOCK) && readFileSync(HOST_LOCK, 'utf8') === content) rmSync(HOST_LOCK);
    untrack(id);
  };
}

// `kube-ovn-ipam audit`: reads a live cluster (and OVN's NB, and a node's OVS), prints what is
// wrong in its claims and the repair plan (domain/Audit.ts), and with --fix applies that plan.
// Wiring only:
// - The cluster is read once (readCluster, what `plan --kubeconfig` reads) into a LiveSnapshot,
//   the controller's own view, so an object the controller would ignore is ignored here too.
// - With --node, the pods' netns the audit names (netnsReads) are read before the audit
//   (adapters/node/podNetns.ts, the daemon's netlink chokepoint).
// - Cluster and OVN repairs go through applyActions (the controller's apply path) with the
//   controller's ports (clusterPorts.ts); a node's OVS repairs through applyNodeActions over
//   makeOvs/makeVsctl (the daemon's DEL path and chokepoint).
// - Exit 0 when nothing was found, 1 when something was (with --fix too; the output says what was
//   applied), 2 when the flags are wrong or the kubeconfig, the cluster, OVN or OVS cannot be
//   read: one line on stderr, no stack trace.
// - Output is deterministic for a given cluster (findings and actions in the audit's order); the
//   clock is read once (cooldowns in the repaired Subnet status).
import * as E from 'fp-ts/lib/Either.js';
import { kindName, readCluster } from '../adapters/clusterSnapshot.js';
import { readKubeConfig } from '../adapters/kube/config.js';
import { WATCH_PATHS } from '../adapters/kube/watcher.js';
import { makeIp, makeVsctl } from '../adapters/node/exec.js';
import { makeNetlink } from '../adapters/node/netlink.js';
import { listOurInterfaces, makeOvs } from '../adapters/node/ovs.js';
import { readPodNetns } from '../adapters/node/podNetns.js';
import type { AuditAction, AuditInput, AuditResult, NodeRepair, SeenNode } from '../domain/Audit.js';
import { audit, auditJson, netnsReads } from '../domain/Audit.js';
import type { NetworkSettings } from '../domain/PlanContext.js';
import type { Action } from '../domain/Plan.js';
import { dns1123SubdomainRule, isDns1123Subdomain } from '../domain/schema/names.js';
import { applyActions } from '../effects/apply.js';
import { applyNodeActions } from '../effects/applyNode.js';
import { LiveSnapshot } from '../effects/LiveSnapshot.js';
import type { Log, WatchedKind } from '../effects/ports.js';
import { commandFlags } from './args.js';
import { clusterPorts, isOvsdbAddress } from './clusterPorts.js';
import type { CliIo } from './io.js';
import { EXIT_OK, EXIT_USAGE, PROGRAM } from './io.js';

export const EXIT_FOUND = 1;

export const auditHelp = `Usage: ${PROGRAM} audit --kubeconfig FILE [--ovn-nb ADDRESS] [--node NAME [--ovs-db ADDRESS] [--bridge NAME]]
          [--fix] [--output table|json] [--default-subnet NAME] [--non-primary-cni-mode]

Reads IP objects, pod annotations and Subnet status (and OVN's logical switch ports with
--ovn-nb, and this host's OVS ports and the pods' netns behind them with --node) and reports,
per finding, what is wrong and which object, with the plan that repairs it. Writes nothing
unless --fix.

Findings:
  AddressHeldTwice          two claims hold one address (or MAC) in a Subnet; the later one by the
                            controller's rule (pod annotations first, then IP objects by creation
                            time, then name) loses: its port and IP object are deleted, its pod's
                            addresses withdrawn, and its pod gets a ClaimConflict Event (it must be
                            recreated to get a new address)
  ClaimWithoutPod           an IP object no live pod owns and nothing retains (a StatefulSet that
                            still wants the ordinal, a KubeVirt VM, a hand-written reservation)
  PodAnnotatedWithoutClaim  a pod annotated allocated with no IP object of its own
  ClaimAnnotationMismatch   a pod's annotations and its IP object disagree (the annotations win)
  StatusCountsDisagree      a Subnet's status counts or ranges are not those of its claims
  PortWithoutClaim          a logical switch port of ours (--ovn-nb), or an OVS port of ours on
                            the node (--node), with no claim behind it
  ClaimWithoutPort          an allocated claim on an OVN Subnet with no logical switch port
  OvnDrift                  another OVN row of ours not as the claims and Subnets want it (a port's
                            addresses, a switch, the router or a router port)
  NetnsMismatch             (--node) the interface in a pod's netns (the port's pod_netns) does
                            not hold the claimed address or MAC; reported only: no repair short
                            of recreating the pod
  NetnsGone                 (--node) a port's pod_netns no longer exists (the pod's sandbox is
                            gone, its port stayed); the port is deleted as the CNI DEL does

Flags:
      --kubeconfig FILE     The cluster to audit (default: in-cluster, else $KUBECONFIG, else ~/.kube/config).
      --ovn-nb ADDRESS      OVN's northbound database, as the controller's flag: also audit the logical
                            switches, ports and router (default: OVN is not read).
                              ${PROGRAM} audit --kubeconfig ~/.kube/config --ovn-nb tcp:10.0.0.1:6641
      --node NAME           Also audit this host's OVS ports of ours (ovs-vsctl), for node NAME,
                            and the pods' interfaces in the netns those ports name (ip, nsenter).
      --ovs-db ADDRESS      With --node: the Open_vSwitch database, as the daemon's flag
                            (default unix:$OVS_RUNDIR/db.sock, else ovs-vsctl's default).
      --bridge NAME         With --node: the integration bridge, as the daemon's flag (default br-int).
      --fix                 Apply the repair plan through the controller's apply path (and the
                            daemon's for OVS ports), then say what was applied.
  -o, --output FORMAT       table (the default, for people) or json: one object
                            {"findings": [{kind, object, message}], "actions": [{type, target, reason}]}
                            (with --fix also "fix": {"applied": N[, "failed": {type, target, error}]}).
      --default-subnet NAME As the controller's flag (default ovn-default).
      --non-primary-cni-mode
                            As the controller's flag: another CNI serves eth0.
  -h, --help                Show this help.

Exit status: 0 nothing found, 1 something found (with --fix too), 2 the command line is wrong or
the kubeconfig, the cluster, OVN or OVS cannot be read.
`;

/** Warnings and errors as one line each on stderr; the rest is the output's to say. */
const stderrLog = (io: CliIo): Log => {
  const line = (level: string) => (msg: string, fields?: Record<string, unknown>) => io.stderr(`${PROGRAM} audit: ${level}: ${msg}${fields === undefined ? '' : ` ${JSON.stringify(fields)}`}\n`);
  return { info: () => undefined, debug: () => undefined, warn: line('warning'), error: line('error') };
};

const isNodeRepair = (a: AuditAction): a is NodeRepair => a.type === 'DeleteOvsPort' || a.type === 'DeleteLink';

/** What --fix did: how many actions were applied, and the one that failed (the rest were not tried). */
export interface Fixed {
  readonly applied: number;
  readonly failed?: { readonly type: string; readonly target: string; readonly error: string };
}

const cellOf = (text: string): string => (text === '' ? '-' : text.replace(/\p{Cc}+/gu, ' '));

/** Columns padded to their widest cell, three spaces apart, the last unpadded. */
const table = (rows: readonly (readonly string[])[]): string[] => {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('   '));
};

/** `--output table`: the findings and the repair plan (printed before --fix applies it). */
export const renderAuditTable = (result: AuditResult, fixing: boolean): string => {
  if (result.findings.length === 0) return 'No findings.\n';
  return `${[
    ['FINDINGS', ...table([['KIND', 'OBJECT', 'MESSAGE'], ...result.findings.map((f) => [f.kind, f.object, f.message].map(cellOf))])].join('\n'),
    [fixing ? 'REPAIR PLAN' : 'REPAIR PLAN (apply with --fix)', ...table([['TYPE', 'TARGET', 'REASON'], ...result.actions.map((a) => [a.type, a.target, a.reason].map(cellOf))])].join('\n'),
  ].join('\n\n')}\n`;
};

/** `--output table` after --fix: what was applied. */
export const renderFixed = (result: AuditResult, fixed: Fixed): string =>
  fixed.failed === undefined ? `\nAPPLIED ${fixed.applied} of ${result.actions.length} actions\n`
    : `\nAPPLIED ${fixed.applied} of ${result.actions.length} actions; ${fixed.failed.type} ${fixed.failed.target} failed: ${cellOf(fixed.failed.error)}\n`;

const renderJson = (result: AuditResult, fixed: Fixed | undefined): string =>
  `${JSON.stringify({ ...(auditJson(result) as object), ...(fixed === undefined ? {} : { fix: fixed }) }, null, 2)}\n`;

const describe = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n').map((l) => l.trim()).filter((l) => l !== '').join(' ');

/** Runs `audit` with the arguments after the subcommand; resolves to the exit code. */
export const runAudit = async (argv: readonly string[], io: CliIo): Promise<number> => {
  const flags = commandFlags('audit', argv, {
    kubeconfig: { type: 'string' }, 'ovn-nb': { type: 'string' }, node: { type: 'string' }, 'ovs-db': { type: 'string' }, bridge: { type: 'string' },
    fix: { type: 'boolean' }, output: { type: 'string', short: 'o' }, 'default-subnet': { type: 'string' }, 'non-primary-cni-mode': { type: 'boolean' },
  }, auditHelp, io);
  if ('exit' in flags) return flags.exit;
  const { values } = flags;
  const str = (k: string, d: string): string => (typeof values[k] === 'string' ? (values[k] as string) : d);
  const fail = (message: string): number => {
    io.stderr(`${PROGRAM} audit: ${message}\n`);
    return EXIT_USAGE;
  };
  const usage = (message: string): number => fail(`${message}\nRun '${PROGRAM} audit --help' for usage.`);
  const output = str('output', 'table');
  if (output !== 'table' && output !== 'json') return usage(`--output: expected table or json, got ${JSON.stringify(output)}`);
  const ovnNb = str('ovn-nb', '');
  if (ovnNb !== '' && !isOvsdbAddress(ovnNb)) return usage(`--ovn-nb ${JSON.stringify(ovnNb)}: expected an OVSDB address such as unix:/run/ovn/ovnnb_db.sock or tcp:10.0.0.1:6641`);
  const node = str('node', '');
  if (node === '' && (values['ovs-db'] !== undefined || values['bridge'] !== undefined)) return usage('--ovs-db and --bridge need --node NAME');
  const bridge = str('bridge', 'br-int');
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(bridge)) return usage(`--bridge ${JSON.stringify(bridge)}: expected a bridge name`);
  const defaultSubnet = str('default-subnet', 'ovn-default');
  if (!isDns1123Subdomain(defaultSubnet)) return usage(`--default-subnet ${JSON.stringify(defaultSubnet)}: expected a Subnet name: ${dns1123SubdomainRule}`);
  const network: NetworkSettings = { defaultNetwork: values['non-primary-cni-mode'] === true ? 'none' : 'ovn', defaultSubnet };

  const log = stderrLog(io);
  const kc = readKubeConfig(str('kubeconfig', '') === '' ? undefined : str('kubeconfig', ''));
  if (E.isLeft(kc)) return fail(kc.left);
  const { kube, ovn } = clusterPorts(kc.right, ovnNb, log);
  const vsctl = node === '' ? undefined : makeVsctl({ log, db: str('ovs-db', '') === '' ? undefined : str('ovs-db', '') });

  const now = Date.now();
  const live = new LiveSnapshot(log, () => now);
  let input: AuditInput;
  try {
    const docs = await readCluster(kc.right).catch((err: unknown) => Promise.reject(new Error(`cannot read the cluster: ${describe(err)}`)));
    for (const kind of Object.keys(WATCH_PATHS) as WatchedKind[]) {
      live.onEvent({ type: 'RESET', kind, objects: docs.flatMap((d) => ((d.value as { kind?: unknown }).kind === kindName(kind) ? [d.value] : [])) });
    }
    const seenOvn = ovn === undefined ? undefined : await Promise.all([ovn.listPorts(), ovn.listSwitches(), ovn.listRouter()])
      .then(([ports, switches, router]) => ({ seen: { ports, switches }, router }))
      .catch((err: unknown) => Promise.reject(new Error(`cannot read OVN's northbound database ${ovnNb}: ${describe(err)}`)));
    const seenNode: SeenNode | undefined = vsctl === undefined ? undefined : { name: node, bridge, interfaces: await listOurInterfaces(vsctl).catch((err: unknown) => Promise.reject(new Error(`cannot read the node's Open_vSwitch database: ${describe(err)}`))) };
    const read: AuditInput = { snapshot: live.snapshot, options: { ...network, now, ...(ovn === undefined ? {} : { ovn: true }) }, ovn: seenOvn, node: seenNode };
    // The pods' netns behind the node's ports, where the audit says to read them.
    input = seenNode === undefined ? read : {
      ...read,
      node: { ...seenNode, netns: await readPodNetns(makeNetlink(makeIp({ log })), netnsReads(read)).catch((err: unknown) => Promise.reject(new Error(`cannot read the pods' network namespaces: ${describe(err)}`))) },
    };
  } catch (err) {
    return fail(describe(err));
  }

  const result = audit(input);
  const fixing = values['fix'] === true && result.actions.length > 0;
  if (output === 'table') io.stdout(renderAuditTable(result, fixing));
  const fixed = fixing ? await fix(result.actions, { kube, ovn, live, log, vsctl }) : undefined;
  if (output === 'json') io.stdout(renderJson(result, fixed));
  else if (fixed !== undefined) io.stdout(renderFixed(result, fixed));
  return result.findings.length === 0 ? EXIT_OK : EXIT_FOUND;
};

/** Applies the repair plan: the cluster's and OVN's actions through the controller's apply
 *  path, then the node's through the daemon's; stops at the first failure. */
const fix = async (actions: readonly AuditAction[], deps: {
  readonly kube: Parameters<typeof applyActions>[0]['kube']; readonly ovn: Parameters<typeof applyActions>[0]['ovn'];
  readonly live: LiveSnapshot; readonly log: Log; readonly vsctl: ReturnType<typeof makeVsctl> | undefined;
}): Promise<Fixed> => {
  const cluster = actions.filter((a): a is Action => !isNodeRepair(a));
  const result = await applyActions({ kube: deps.kube, ovn: deps.ovn, live: deps.live, log: deps.log, canWrite: () => true }, cluster);
  if (result.kind !== 'applied') return { applied: cluster.indexOf(result.action), failed: { type: result.action.type, target: result.action.target, error: result.error } };
  const onNode = actions.filter(isNodeRepair);
  if (onNode.length === 0 || deps.vsctl === undefined) return { applied: cluster.length };
  let applied = cluster.length;
  for (const a of onNode) {
    try {
      await applyNodeActions({ netlink: makeNetlink(makeIp({ log: deps.log })), ovs: makeOvs(deps.vsctl), log: deps.log }, [a]);
      applied++;
    } catch (err) {
      return { applied, failed: { type: a.type, target: a.target, error: describe(err) } };
    }
  }
  return { applied };
};

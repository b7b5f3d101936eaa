// The floor of the OVN benchmark (bench/ovn.ts): what a pod with eth0 + one OVN attachment
// costs on this node without our code. Per pod, the pod is POSTed (hostNetwork, so the
// controller allocates nothing for it), then ONE bash script does by hand what the controller
// and the daemon do between them, with the binaries they use:
// - one ovn-nbctl transaction writing the pod's two logical switch ports on the same switches
//   (ovn-default, attachnet) with what our controller writes (src/adapters/ovn.ts portArgs:
//   `--may-exist lsp-add`, addresses and port_security `"<mac> <ip>"`, external_ids pod, ls,
//   vendor, pod-uid);
// - per interface, eth0 then net1 (Multus's order, as in our run): the veth pair made in
//   ovs-vswitchd's namespace, the host end up, the container end moved into the pod's netns,
//   renamed, given its MAC and MTU 1400 and set up (one `ip -batch` there); the OVS port on
//   br-int with the external_ids our daemon writes (iface-id, vendor, pod_name, pod_namespace,
//   ip, pod_netns; one ovs-vsctl transaction); the addresses (and for eth0 the default route
//   via the gateway) in the pod (one `ip -batch` in its netns); then `ovs-vsctl wait-until` the
//   interface has external_ids:ovn-installed=true, as our daemon waits.
// Addresses and MACs are the floor's own (10.16.128.0/17 of ovn-default, 172.18.128.0/17 of
// attachnet, MACs 0a:f1:… and 0a:f2:…), far above what the controller hands out in a run, so
// the switches hold no duplicate. The ports stay until the cluster stops, as ours do.
// The script stamps each step (bash's $EPOCHREALTIME: no extra process) on stdout; the
// sample is POST → script exit, as ours is create → net1 answered.
import { spawn } from 'node:child_process';
import type { Request } from '../src/adapters/kube/rest.js';
import { netnsPath } from '../test/harness/netns.js';
import type { OvsEnv } from '../test/harness/ovs.js';
import { NAMESPACE, NODE } from './ovnCluster.js';
import { epochMs, type Stamps } from './ovnTrace.js';

const MTU = 1400;
const UID_KEY = 'ipam.kube-ovn.io/pod-uid';

/** One interface of a floor pod, as the script writes it. */
interface FloorIface {
  readonly ifName: string;
  readonly lsp: string;
  readonly logicalSwitch: string;
  readonly mac: string;
  readonly ip: string;
  readonly prefix: number;
  readonly gateway: string | undefined;
  readonly host: string;
  readonly container: string;
}

const hex2 = (n: number): string => (n & 255).toString(16).padStart(2, '0');

/** The floor pod `i`'s two interfaces (see the addresses rule above). */
const ifacesOf = (name: string, i: number): FloorIface[] => {
  const tag = String(i).padStart(5, '0');
  const low = `${128 + (i >> 8)}.${i & 255}`;
  return [
    { ifName: 'eth0', lsp: `${name}.${NAMESPACE}`, logicalSwitch: 'ovn-default', mac: `0a:f1:00:00:${hex2(i >> 8)}:${hex2(i)}`, ip: `10.16.${low}`, prefix: 16, gateway: '10.16.0.1', host: `fl${tag}e_h`, container: `fl${tag}e_c` },
    { ifName: 'net1', lsp: `${name}.${NAMESPACE}.attachnet.${NAMESPACE}.ovn`, logicalSwitch: 'attachnet', mac: `0a:f2:00:00:${hex2(i >> 8)}:${hex2(i)}`, ip: `172.18.${low}`, prefix: 16, gateway: undefined, host: `fl${tag}n_h`, container: `fl${tag}n_c` },
  ];
};

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
const kv = (column: string, key: string, value: string): string => q(`${column}:${JSON.stringify(key)}=${JSON.stringify(value)}`);

/** The bash script of one floor pod (see the file's header). */
export const floorScript = (ovs: OvsEnv, pod: { readonly name: string; readonly uid: string; readonly netns: string }, ifaces: readonly FloorIface[]): string => {
  const hostNetns = ovs.netns === undefined ? undefined : netnsPath(ovs.netns);
  const inHost = hostNetns === undefined ? 'ip' : `nsenter --net=${q(hostNetns)} -- ip`;
  const podNetns = netnsPath(pod.netns);
  const nb = ifaces.flatMap((f) => [
    '--', '--may-exist', 'lsp-add', f.logicalSwitch, f.lsp,
    '--', 'lsp-set-addresses', f.lsp, q(`${f.mac} ${f.ip}`),
    '--', 'lsp-set-port-security', f.lsp, q(`${f.mac} ${f.ip}`),
    '--', 'set', 'logical_switch_port', f.lsp,
    kv('external_ids', 'ls', f.logicalSwitch), kv('external_ids', 'pod', `${NAMESPACE}/${pod.name}`), kv('external_ids', UID_KEY, pod.uid), kv('external_ids', 'vendor', 'kube-ovn'),
  ]);
  const plug = (f: FloorIface): string[] => [
    `${inHost} -batch - <<'EOF'`,
    `link add name ${f.host} mtu ${MTU} type veth peer name ${f.container} mtu ${MTU}`,
    `link set dev ${f.host} up`,
    `link set dev ${f.container} netns ${podNetns} name ${f.ifName} address ${f.mac} mtu ${MTU} up`,
    'EOF',
    `s '${f.ifName}: veth pair made, moved, up'`,
    `ovs-vsctl --db=${q(ovs.db.ovs)} --timeout=30 --may-exist add-port ${ovs.bridge} ${f.host} -- set Interface ${f.host} ` +
      [['iface-id', f.lsp], ['vendor', 'kube-ovn'], ['pod_name', pod.name], ['pod_namespace', NAMESPACE], ['ip', f.ip], ['pod_netns', podNetns]].map(([k, v]) => q(`external_ids:${k ?? ''}=${JSON.stringify(v)}`)).join(' '),
    `s '${f.ifName}: OVS port added'`,
    `nsenter --net=${q(podNetns)} -- ip -batch - <<'EOF'`,
    `addr add ${f.ip}/${f.prefix} dev ${f.ifName}`,
    ...(f.gateway === undefined ? [] : [`route replace 0.0.0.0/0 via ${f.gateway} dev ${f.ifName}`]),
    'EOF',
    `s '${f.ifName}: addresses, routes'`,
    `ovs-vsctl --db=${q(ovs.db.ovs)} --timeout=30 wait-until Interface ${f.host} external_ids:ovn-installed=true`,
    `s '${f.ifName}: ovn-installed'`,
  ];
  return [
    'set -e',
    's() { echo "$EPOCHREALTIME $1"; }',
    `ovn-nbctl --db=${q(ovs.db.nb ?? '')} --timeout=30 ${nb.join(' ')}`,
    "s 'LSPs written'",
    ...ifaces.flatMap(plug),
  ].join('\n');
};

/** Runs `script` with bash; resolves with its stdout, rejects unless it exits 0. */
const runScript = (script: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out).toString('utf8')) : reject(new Error(`floor script exited ${String(code)}: ${Buffer.concat(err).toString('utf8').trim()}`))));
  });

/** One floor pod: POST (a hostNetwork pod on NODE), then its script. Stamps its steps into
 *  `stamps` (epoch ms) and resolves with POST → eth0 ovn-installed and POST → script exit (ms). */
export const floorPod = async (rest: Request, ovs: OvsEnv, name: string, i: number, netns: string, stamps: Stamps): Promise<readonly number[]> => {
  const created = epochMs();
  const steps = new Map<string, number>([['create', created]]);
  stamps.set(name, steps);
  const pod = await rest('POST', `/api/v1/namespaces/${NAMESPACE}/pods`, {
    body: {
      apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NAMESPACE },
      spec: { nodeName: NODE, hostNetwork: true, containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }] },
    },
  }) as { metadata: { uid: string } };
  steps.set('pod created', epochMs());
  const out = await runScript(floorScript(ovs, { name, uid: pod.metadata.uid, netns }, ifacesOf(name, i)));
  const done = epochMs();
  for (const line of out.split('\n')) {
    const space = line.indexOf(' ');
    if (space > 0) steps.set(line.slice(space + 1), Number(line.slice(0, space)) * 1000);
  }
  steps.set('answered', done);
  return [(steps.get('eth0: ovn-installed') ?? NaN) - created, done - created];
};

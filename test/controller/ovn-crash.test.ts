// Crash safety of the controller's OVN writes (DESIGN §3.5, issue 7): the built CLI with
// `--ovn-nb` against a real kube-apiserver and a real OVN NB database; the test-only fault hook
// (KUBE_OVN_IPAM_FAULT) SIGKILLs it around the OVN write of a pod plan (after the IP objects,
// before the annotation patch; a pod's switches and ports are one transaction, so they land
// together or not at all), and around the OVN audit's transaction of repairs; a fresh
// controller must converge with:
// - every live pod network allocated, with its IP object saying what the pod says;
// - no address given twice in a subnet (annotations and IP objects);
// - exactly one port per IP object (all our subnets here are OVN ones) and no other port of
//   ours: no orphan port, no claim without its port; each port's addresses and port security
//   are its IP object's `"<mac> <ip>"`;
// - the claims the killed controller wrote are kept, not replaced.
// The faulted run has one worker, so "the n-th port write" is a write of one pod's plan.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { startApiServer, type ApiServer } from '../harness/apiserver.js';
import { buildCli, startController, type ControllerProcess } from '../harness/controllerProcess.js';
import { waitForNoProblems } from '../harness/exec.js';
import { startOvs, type OvsEnv } from '../harness/ovs.js';
import { describeAsRoot } from '../harness/root.js';

const NAD_06 = new URL('../../examples/ovn-attachments/06-nad-attachnet-ovn.yaml', import.meta.url);
const ATTACHNET = 'attachnet.default.ovn';
const SUBNET_OF: Readonly<Record<string, string>> = { ovn: 'ovn-default', [ATTACHNET]: 'attachnet' };
const SUBNETS = `
apiVersion: kubeovn.io/v1
kind: Subnet
metadata: {name: ovn-default}
spec: {provider: ovn, cidrBlock: 10.16.0.0/16, gateway: 10.16.0.1}
---
apiVersion: kubeovn.io/v1
kind: Subnet
metadata: {name: attachnet}
spec: {provider: ${ATTACHNET}, cidrBlock: 172.17.0.0/16, gateway: 172.17.0.1}
`;

interface Meta { readonly name: string; readonly namespace?: string; readonly uid?: string; readonly annotations?: Readonly<Record<string, string>>; readonly deletionTimestamp?: string }
interface PodObj { readonly kind: 'Pod'; readonly metadata: Meta }
interface IpObj { readonly kind: 'IP'; readonly metadata: Meta; readonly spec: { readonly podName: string; readonly namespace: string; readonly subnet: string; readonly ipAddress: string; readonly macAddress: string } }
interface Port { readonly name: string; readonly addresses: string; readonly portSecurity: string }
interface World { readonly pods: readonly PodObj[]; readonly ips: readonly IpObj[]; readonly ports: readonly Port[] }

const PROVIDERS = ['ovn', ATTACHNET] as const;
const podKey = (m: Meta): string => `${m.namespace ?? 'default'}/${m.name}`;
const ipNameOf = (pod: PodObj, provider: string): string => `${pod.metadata.name}.${pod.metadata.namespace}${provider === 'ovn' ? '' : `.${provider}`}`;
const ann = (pod: PodObj, provider: string, key: string): string | undefined => pod.metadata.annotations?.[`${provider}.kubernetes.io/${key}`];

describeAsRoot('controller-ovn-crash')('controller crash around an OVN port write, then restart', () => {
  let api: ApiServer;
  let ovs: OvsEnv;
  const controllers: ControllerProcess[] = [];

  const start = (fault?: string): ControllerProcess => {
    const c = startController({
      name: fault === undefined ? 'controller' : `controller (${fault})`,
      args: ['--kubeconfig', api.kubeconfigPath, '--listen', '127.0.0.1:0', '--workers', '1', '--identity', 'ovn-crash-test',
        '--lease-namespace', 'default', '--lease-duration', '4s', '--gc-interval', '0', '--ovn-nb', ovs.db.nb!],
      ...(fault === undefined ? {} : { env: { KUBE_OVN_IPAM_FAULT: fault } }),
    });
    controllers.push(c);
    return c;
  };

  const world = async (): Promise<World> => {
    const list = JSON.parse(await api.kubectlOk(['get', 'pods,ips.kubeovn.io', '--all-namespaces', '-o', 'json'])) as { items: (PodObj | IpObj)[] };
    const table = JSON.parse(await ovs.nbctl('--format=json', '--columns=name,addresses,port_security', 'find', 'Logical_Switch_Port', 'external_ids:vendor=kube-ovn', 'type!=router')) as { data: [string, unknown, unknown][] };
    const text = (d: unknown): string => (Array.isArray(d) && d[0] === 'set' ? (d[1] as string[]).join(' ') : String(d));
    return {
      pods: list.items.filter((o): o is PodObj => o.kind === 'Pod' && o.metadata.deletionTimestamp === undefined),
      ips: list.items.filter((o): o is IpObj => o.kind === 'IP'),
      ports: table.data.map(([name, addresses, security]) => ({ name, addresses: text(addresses), portSecurity: text(security) })),
    };
  };

  /** Everything wrong with the world, one line each; empty when it is consistent. */
  const problemsOf = (w: World): string[] => {
    const problems: string[] = [];
    const ips = new Map(w.ips.map((ip) => [ip.metadata.name, ip]));
    const pods = new Map(w.pods.map((p) => [podKey(p.metadata), p]));
    const ports = new Map(w.ports.map((p) => [p.name, p]));
    const annotated = new Map<string, string>();
    for (const pod of w.pods) {
      for (const provider of PROVIDERS) {
        const where = `pod ${podKey(pod.metadata)} (${provider})`;
        if (ann(pod, provider, 'allocated') !== 'true') {
          problems.push(`${where}: not allocated`);
          continue;
        }
        const address = `${SUBNET_OF[provider]} ${ann(pod, provider, 'ip_address')}`;
        if (annotated.has(address)) problems.push(`${where}: address ${address} also annotated on ${annotated.get(address)}`);
        annotated.set(address, where);
        const ip = ips.get(ipNameOf(pod, provider));
        if (ip === undefined) problems.push(`${where}: no IP object`);
        else if (ip.spec.ipAddress !== ann(pod, provider, 'ip_address') || ip.spec.macAddress !== ann(pod, provider, 'mac_address')) {
          problems.push(`${where}: IP object says ${ip.spec.ipAddress} ${ip.spec.macAddress}, the pod ${ann(pod, provider, 'ip_address')} ${ann(pod, provider, 'mac_address')}`);
        }
      }
    }
    const claimed = new Map<string, string>();
    for (const ip of w.ips) {
      const name = ip.metadata.name;
      const address = `${ip.spec.subnet} ${ip.spec.ipAddress}`;
      if (claimed.has(address)) problems.push(`IP ${name}: address ${address} also claimed by IP ${claimed.get(address)}`);
      claimed.set(address, name);
      if (!pods.has(`${ip.spec.namespace}/${ip.spec.podName}`)) problems.push(`IP ${name}: its pod does not exist`);
      const port = ports.get(name);
      const want = `${ip.spec.macAddress} ${ip.spec.ipAddress}`;
      if (port === undefined) problems.push(`IP ${name}: no logical switch port`);
      else if (port.addresses !== want || port.portSecurity !== want) problems.push(`port ${name}: addresses "${port.addresses}", port security "${port.portSecurity}", its IP object "${want}"`);
    }
    for (const port of w.ports) if (!ips.has(port.name)) problems.push(`port ${port.name}: no IP object (an orphan)`);
    return problems;
  };

  const converged = (timeoutMs = 30_000): Promise<World> =>
    waitForNoProblems(world, problemsOf, { timeoutMs, intervalMs: 250, context: () => controllers.at(-1)?.tail() ?? '' });


  const applyPods = (ns: string): Promise<string> => api.kubectlOk(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1', kind: 'List', items: [
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
        ...['p0', 'p1', 'p2'].map((name) => ({
          apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, annotations: { 'k8s.v1.cni.cncf.io/networks': 'default/attachnet' } },
          spec: { containers: [{ name: 'c', image: 'pause' }] },
        })),
      ],
    }),
  });

  /** What the killed controller left in `ns`: IP objects, ports, allocated pods (names sorted). */
  const leftIn = (w: World, ns: string) => ({
    ips: w.ips.filter((ip) => ip.spec.namespace === ns).map((ip) => ip.metadata.name).sort(),
    ports: w.ports.filter((p) => p.name.split('.')[1] === ns).map((p) => p.name).sort(),
    allocated: w.pods.filter((p) => p.metadata.namespace === ns && PROVIDERS.some((pr) => ann(p, pr, 'allocated') === 'true')).map((p) => p.metadata.name),
  });
  const claimsIn = (w: World, ns: string): Record<string, string> =>
    Object.fromEntries(w.ips.filter((ip) => ip.spec.namespace === ns).map((ip) => [ip.metadata.name, `${ip.spec.macAddress} ${ip.spec.ipAddress}`]));

  beforeAll(async () => {
    [ovs] = await Promise.all([startOvs({ ovn: 'nb-only' }), buildCli(), (async () => { api = await startApiServer(); })()]);
    await api.kubectlOk(['apply', '-f', '-'], { input: SUBNETS });
    await api.kubectlOk(['apply', '-f', '-'], { input: readFileSync(NAD_06, 'utf8') });
  }, 180_000);

  afterAll(async () => {
    await Promise.all(controllers.map((c) => c.stop()));
    await Promise.all([api?.stop(), ovs?.stop()]);
  }, 60_000);

  describe.each([
    // One pod's plan: CreateIP ×2, then one OVN transaction (EnsureLogicalSwitch ×2, the router
    // and its two ports, EnsureLogicalSwitchPort ×2 for eth0 and net1), then PatchPodAnnotations.
    { fault: 'before:EnsureLogicalSwitchPort', ns: 'ovn-crash-1', ports: 0 },
    { fault: 'after:EnsureLogicalSwitchPort', ns: 'ovn-crash-2', ports: 2 },
    { fault: 'before:PatchPodAnnotations', ns: 'ovn-crash-3', ports: 2 },
  ])('$fault', ({ fault, ns, ports }) => {
    it('leaves a pod with its IP objects, all or none of its ports and no annotations; the next controller converges with no orphan port and no duplicate', async () => {
      await applyPods(ns);
      const faulted = start(fault);
      expect(await faulted.waitForExit(30_000)).toEqual({ code: null, signal: 'SIGKILL' });
      const crashed = await world();
      const left = leftIn(crashed, ns);
      const writes = faulted.lines.filter((l) => l.msg === 'applied' || l.msg.startsWith('OVN audit')).map((l) => `${String(l.fields['action'])} ${String(l.fields['target'])}`);
      // One pod was being written: both its IP objects, `ports` of its ports, no annotation.
      expect(left.allocated).toEqual([]);
      expect(left.ips).toHaveLength(2);
      const pod = left.ips[0]!.split('.')[0]!;
      expect(left.ips).toEqual([`${pod}.${ns}`, `${pod}.${ns}.${ATTACHNET}`]);
      // (The killed controller's writes are shown when this fails.)
      expect({ ports: left.ports, writes }).toEqual({ ports: [`${pod}.${ns}`, `${pod}.${ns}.${ATTACHNET}`].slice(0, ports), writes });

      const next = start();
      const w = await converged();
      expect(problemsOf(w)).toEqual([]);
      const kept = claimsIn(w, ns);
      expect(Object.fromEntries(Object.keys(claimsIn(crashed, ns)).map((k) => [k, kept[k]]))).toEqual(claimsIn(crashed, ns));
      expect(leftIn(w, ns).ports).toHaveLength(6);
      await next.stop();
    }, 90_000);
  });

  // The audit's repairs (the sweep at start-up) are one transaction: a kill before it leaves
  // every fault in place, a kill after it leaves none; either way the next controller ends with
  // the claims as they were.
  describe.each([
    { fault: 'before:DeleteLogicalSwitchPort', ns: 'ovn-crash-5', repaired: false },
    { fault: 'after:DeleteLogicalSwitchPort', ns: 'ovn-crash-6', repaired: true },
  ])('a crash in the OVN audit ($fault)', ({ fault, ns, repaired }) => {
    it('an orphan port of ours, a port deleted and one stripped of its port security behind our back: all repaired or none, then the next controller repairs the rest', async () => {
      await applyPods(ns);
      const first = start();
      const before = await converged();
      await first.stop();
      const ghost = `ghost.${ns}`;
      const net1 = `p1.${ns}.${ATTACHNET}`;
      await ovs.nbctl('lsp-add', 'ovn-default', ghost, '--', 'lsp-set-addresses', ghost, '0a:00:00:00:00:01 10.16.255.77',
        '--', 'set', 'logical_switch_port', ghost, 'external_ids:vendor=kube-ovn', `external_ids:pod="${ns}/ghost"`);
      await ovs.nbctl('lsp-del', `p0.${ns}`, '--', 'lsp-set-port-security', net1);
      const broken = problemsOf(await world());

      const faulted = start(fault);
      expect(await faulted.waitForExit(30_000)).toEqual({ code: null, signal: 'SIGKILL' });
      expect(problemsOf(await world())).toEqual(repaired ? [] : broken);
      expect(broken.filter((p) => p.includes(ns)).sort()).toEqual([
        `IP p0.${ns}: no logical switch port`,
        `port ${ghost}: no IP object (an orphan)`,
        `port ${net1}: addresses "${claimsIn(before, ns)[net1]}", port security "", its IP object "${claimsIn(before, ns)[net1]}"`,
      ]);

      const next = start();
      const w = await converged();
      expect(problemsOf(w)).toEqual([]);
      expect(claimsIn(w, ns)).toEqual(claimsIn(before, ns));
      await next.stop();
    }, 90_000);
  });

  it('a pod deleted while the controller is down, after its ports were written and before its annotations: no port and no IP object of it survive the restart', async () => {
    const ns = 'ovn-crash-4';
    await applyPods(ns);
    const faulted = start('after:EnsureLogicalSwitchPort');
    expect(await faulted.waitForExit(30_000)).toEqual({ code: null, signal: 'SIGKILL' });
    const left = leftIn(await world(), ns);
    expect(left.ports).toHaveLength(2);
    const pod = left.ports[0]!.split('.')[0]!;
    await api.kubectlOk(['delete', 'pod', '-n', ns, pod, '--wait=true']);

    const next = start();
    const w = await converged();
    expect(problemsOf(w)).toEqual([]);
    expect(leftIn(w, ns).ports.filter((p) => p.startsWith(`${pod}.`))).toEqual([]);
    expect(leftIn(w, ns).ips.filter((p) => p.startsWith(`${pod}.`))).toEqual([]);
    expect(leftIn(w, ns).ports).toHaveLength(4);
    await next.stop();
  }, 90_000);
});

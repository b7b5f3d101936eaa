// `kube-ovn-ipam audit` against real components (root): kube-apiserver + etcd, Open vSwitch and
// OVN from the harness, the controller in-process with the Ovn adapter. The controller allocates
// pods a, b, c, d (eth0 on ovn-default, net1 on the macvlan example's Subnet), one at a time so
// their addresses are known, and is stopped. Then each kind of fault is made by hand (kubectl,
// ovn-nbctl, ovs-vsctl), the BUILT command finds exactly it (exit 1, exact findings), `--fix`
// repairs it, and a second audit finds nothing (exit 0); on the node, a pod's netns is a real
// netns with a veth end in it. The tests run in order on one cluster:
// each starts from the state the previous one's fix left.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { loadKubeConfig } from '../../src/adapters/kube/config.js';
import { makeOvn } from '../../src/adapters/ovn.js';
import type { Controller } from '../../src/effects/Controller.js';
import type { ApiServer } from '../harness/apiserver.js';
import { startApiServer } from '../harness/apiserver.js';
import { buildCli, CLI_MAIN } from '../harness/controllerProcess.js';
import { run, waitFor } from '../harness/exec.js';
import { controllerFor, quietLog } from '../harness/inProcess.js';
import type { OvsEnv } from '../harness/ovs.js';
import { startOvs } from '../harness/ovs.js';
import { createNetns, createVethPair, deleteNetns, destroyAll, inNetnsOk, netnsPath } from '../harness/netns.js';
import { describeAsRoot } from '../harness/root.js';

const EXAMPLES = new URL('../../examples/macvlan-ipam/', import.meta.url);
const NODE = 'audit-node';

interface Finding { readonly kind: string; readonly object: string; readonly message: string }
interface AuditJson {
  readonly findings: readonly Finding[];
  readonly actions: readonly { readonly type: string; readonly target: string; readonly reason: string }[];
  readonly fix?: { readonly applied: number; readonly failed?: unknown };
}
interface Pod { readonly metadata: { readonly uid: string; readonly annotations?: Record<string, string> } }

const podYaml = (name: string, nodeName?: string): string => `
apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: default
  annotations: {k8s.v1.cni.cncf.io/networks: default/macvlan}
spec:
  ${nodeName === undefined ? '' : `nodeName: ${nodeName}\n  `}containers: [{name: c, image: alpine}]
`;

describeAsRoot('cli-audit')('audit: each fault made by hand is found, --fix repairs it', () => {
  let api: ApiServer;
  let ovs: OvsEnv;
  let controller: Controller | undefined;
  const quiet = quietLog();

  /** The built command, `--output json`; its exit code and parsed output. */
  const audit = async (...extra: string[]): Promise<{ readonly code: number | null; readonly out: AuditJson; readonly stderr: string }> => {
    const result = await run([process.execPath, CLI_MAIN, 'audit', '--kubeconfig', api.kubeconfigPath, '--ovn-nb', ovs.db.nb!, '--output', 'json', ...extra], { timeoutMs: 60_000 });
    let out: AuditJson;
    try {
      out = JSON.parse(result.stdout) as AuditJson;
    } catch {
      throw new Error(`audit printed no JSON (exit ${result.code}): ${result.stdout}\n${result.stderr}`);
    }
    return { code: result.code, out, stderr: result.stderr };
  };
  const clean = { code: 0, out: { findings: [], actions: [] }, stderr: '' };
  /** Audit: exactly `findings` (exit 1); --fix applies every action; then nothing is found. */
  const findsAndFixes = async (findings: readonly Finding[], actions: readonly string[], extra: readonly string[] = []): Promise<void> => {
    const found = await audit(...extra);
    expect({ code: found.code, findings: found.out.findings, actions: found.out.actions.map((a) => `${a.type} ${a.target}`) }).toEqual({ code: 1, findings, actions });
    const fixed = await audit(...extra, '--fix');
    expect({ code: fixed.code, findings: fixed.out.findings, fix: fixed.out.fix }).toEqual({ code: 1, findings, fix: { applied: actions.length } });
    expect(await audit(...extra)).toEqual(clean);
  };
  const pod = async (name: string): Promise<Pod> => JSON.parse(await api.kubectlOk(['get', 'pod', name, '-o', 'json'])) as Pod;
  const allocated = (name: string): Promise<Pod> =>
    waitFor(`${name} allocated`, async () => {
      const p = await pod(name);
      const a = p.metadata.annotations ?? {};
      return a['ovn.kubernetes.io/allocated'] === 'true' && a['macvlan.default.kubernetes.io/allocated'] === 'true' ? p : undefined;
    }, { timeoutMs: 20_000 });
  const patchIp = (name: string, patch: unknown): Promise<string> => api.kubectlOk(['patch', 'ip', name, '--type', 'merge', '-p', JSON.stringify(patch)]);

  beforeAll(async () => {
    // OVN's NB for --ovn-nb, and Open vSwitch with br-int for --node (the harness's own databases).
    [api, ovs] = await Promise.all([startApiServer(), startOvs(), buildCli()]).then(([a, o]) => [a, o] as const);
    controller = controllerFor(loadKubeConfig(api.kubeconfigPath), {}, quiet, makeOvn({ db: ovs.db.nb!, log: quiet }));
    controller.start();
    for (const f of ['00-subnet-ovn-default.yaml', '01-nad-macvlan.yaml', '02-subnet-macvlan.yaml']) await api.kubectlOk(['apply', '-f', '-'], { input: readFileSync(new URL(f, EXAMPLES), 'utf8') });
    await controller.ready;
    for (const name of ['a', 'b', 'c', 'd']) {
      await api.kubectlOk(['apply', '-f', '-'], { input: podYaml(name, name === 'c' ? NODE : undefined) });
      await allocated(name);
    }
    await controller.idle();
    // A Subnet's status is written at most once a second: the last write may still be due.
    for (const subnet of ['ovn-default', 'macvlan']) {
      await waitFor(`subnet ${subnet}'s status counts the 4 pods`, async () =>
        (await api.kubectlOk(['get', 'subnet', subnet, '-o', 'jsonpath={.status.v4usingIPs}'])).trim() === '4' ? true : undefined, { timeoutMs: 10_000 });
    }
    await controller.stop();
    controller = undefined;
  }, 180_000);

  afterAll(async () => {
    await controller?.stop();
    await Promise.all([api?.stop(), ovs?.stop(), destroyAll()]);
  }, 60_000);

  it('the cluster the controller left: nothing found, exit 0', async () => {
    expect(await audit()).toEqual(clean);
  }, 60_000);

  it('ClaimWithoutPod: pod d deleted while the controller is down', async () => {
    await api.kubectlOk(['delete', 'pod', 'd', '--wait=true']);
    await findsAndFixes([
      { kind: 'ClaimWithoutPod', object: 'IP/d.default', message: 'IP object d.default holds 10.16.0.5 in subnet ovn-default, but pod default/d is gone' },
      { kind: 'ClaimWithoutPod', object: 'IP/d.default.macvlan.default', message: 'IP object d.default.macvlan.default holds 172.17.0.14 in subnet macvlan, but pod default/d is gone' },
      {
        kind: 'StatusCountsDisagree', object: 'Subnet/macvlan',
        message: 'Subnet macvlan\'s status says v4usingIPs 4, v4availableIPs 65520, v4usingIPrange "172.17.0.11-172.17.0.14", v4availableIPrange "172.17.0.15-172.17.255.254"; '
          + 'the claims give v4usingIPs 3, v4availableIPs 65521, v4usingIPrange "172.17.0.11-172.17.0.13", v4availableIPrange "172.17.0.14-172.17.255.254"',
      },
      {
        kind: 'StatusCountsDisagree', object: 'Subnet/ovn-default',
        message: 'Subnet ovn-default\'s status says v4usingIPs 4, v4availableIPs 65529, v4usingIPrange "10.16.0.2-10.16.0.5", v4availableIPrange "10.16.0.6-10.16.255.254"; '
          + 'the claims give v4usingIPs 3, v4availableIPs 65530, v4usingIPrange "10.16.0.2-10.16.0.4", v4availableIPrange "10.16.0.5-10.16.255.254"',
      },
    ], ['DeleteLogicalSwitchPort d.default', 'DeleteIP d.default', 'DeleteIP d.default.macvlan.default', 'UpdateSubnetStatus macvlan', 'UpdateSubnetStatus ovn-default']);
    expect(await ovs.nbctl('--bare', '--columns=name', 'find', 'Logical_Switch_Port', 'name=d.default')).toBe('');
  }, 90_000);

  it('PodAnnotatedWithoutClaim: pod b\'s macvlan IP object deleted', async () => {
    await patchIp('b.default.macvlan.default', { metadata: { finalizers: null } });
    await api.kubectlOk(['delete', 'ip', 'b.default.macvlan.default']);
    await findsAndFixes([
      { kind: 'PodAnnotatedWithoutClaim', object: 'Pod/default/b', message: 'pod default/b net1 (macvlan.default) is annotated allocated with 172.17.0.12, but no IP object b.default.macvlan.default exists' },
    ], ['CreateIP b.default.macvlan.default']);
    expect(await api.kubectlOk(['get', 'ip', 'b.default.macvlan.default', '-o', 'jsonpath={.spec.ipAddress}'])).toBe('172.17.0.12');
  }, 90_000);

  it('ClaimAnnotationMismatch: pod a\'s macvlan IP object edited to another address', async () => {
    await patchIp('a.default.macvlan.default', { spec: { ipAddress: '172.17.0.50', v4IpAddress: '172.17.0.50' } });
    await findsAndFixes([{
      kind: 'ClaimAnnotationMismatch', object: 'IP/a.default.macvlan.default',
      message: 'pod annotations say 172.17.0.11 in macvlan but IP object a.default.macvlan.default says 172.17.0.50 in macvlan; keeping the annotations (what the pod uses) and correcting the IP object',
    }], ['UpdateIP a.default.macvlan.default', 'EmitEvent default/a']);
    expect(await api.kubectlOk(['get', 'ip', 'a.default.macvlan.default', '-o', 'jsonpath={.spec.ipAddress}'])).toBe('172.17.0.11');
  }, 90_000);

  it('StatusCountsDisagree: the macvlan Subnet\'s status written wrong', async () => {
    await api.kubectlOk(['patch', 'subnet', 'macvlan', '--subresource=status', '--type', 'merge', '-p', '{"status":{"v4usingIPs":7}}']);
    await findsAndFixes([
      { kind: 'StatusCountsDisagree', object: 'Subnet/macvlan', message: 'Subnet macvlan\'s status says v4usingIPs 7; the claims give v4usingIPs 3' },
    ], ['UpdateSubnetStatus macvlan']);
  }, 90_000);

  it('PortWithoutClaim: a logical switch port of ours that no IP object names', async () => {
    await ovs.nbctl('lsp-add', 'ovn-default', 'ghost.default', '--', 'lsp-set-addresses', 'ghost.default', '0a:00:00:00:00:01 10.16.0.77',
      '--', 'set', 'Logical_Switch_Port', 'ghost.default', 'external_ids:vendor=kube-ovn', 'external_ids:pod="default/ghost"', 'external_ids:ls=ovn-default');
    await findsAndFixes([{
      kind: 'PortWithoutClaim', object: 'LogicalSwitchPort/ghost.default',
      message: 'logical switch port ghost.default: no claim: no IP object is named ghost.default (the port says pod default/ghost)',
    }], ['DeleteLogicalSwitchPort ghost.default']);
  }, 90_000);

  it('ClaimWithoutPort: pod a\'s logical switch port deleted', async () => {
    const mac = (await pod('a')).metadata.annotations?.['ovn.kubernetes.io/mac_address'];
    const before = await ovs.nbctl('--bare', '--columns=addresses,port_security', 'list', 'Logical_Switch_Port', 'a.default');
    await ovs.nbctl('lsp-del', 'a.default');
    await findsAndFixes([{
      kind: 'ClaimWithoutPort', object: 'IP/a.default',
      message: `IP object a.default (pod default/a: ${mac} 10.16.0.2) is allocated, but OVN has no logical switch port a.default`,
    }], ['EnsureLogicalSwitch ovn-default', 'EnsureLogicalSwitchPort a.default']);
    expect(await ovs.nbctl('--bare', '--columns=addresses,port_security', 'list', 'Logical_Switch_Port', 'a.default')).toBe(before);
  }, 90_000);

  it('PortWithoutClaim on the node: an OVS port of ours for no claim (a live pod\'s port on this node stays)', async () => {
    const port = (name: string, pod: string) => ['--', '--may-exist', 'add-port', 'br-int', name, '--', 'set', 'Interface', name, `external_ids:iface-id="${pod}.default"`, 'external_ids:vendor=kube-ovn', `external_ids:pod_name=${pod}`, 'external_ids:pod_namespace=default'];
    await ovs.vsctl(...port('cccccccccccc_h', 'c'), ...port('ghostghost12_h', 'ghost'));
    const node = ['--node', NODE, '--ovs-db', ovs.db.ovs];
    await findsAndFixes([{
      kind: 'PortWithoutClaim', object: `OvsPort/${NODE}/ghostghost12_h`,
      message: `OVS port ghostghost12_h on br-int of node ${NODE}: its iface-id "ghost.default" names no claim (no live pod network's IP object or annotations)`,
    }], ['DeleteOvsPort ghostghost12_h', 'DeleteLink ghostghost12_h'], node);
    expect((await ovs.vsctl('list-ports', 'br-int')).split('\n')).toEqual(['cccccccccccc_h']);
  }, 90_000);

  it('NetnsMismatch and NetnsGone on the node: pod c\'s port names its netns; another address there is reported, a deleted netns\'s port goes', async () => {
    // Pod c's port (left by the test above) as the daemon plugs it now: its netns recorded, eth0 in it.
    const ns = await createNetns();
    const path = netnsPath(ns);
    await ovs.vsctl('set', 'Interface', 'cccccccccccc_h', `external_ids:pod_netns="${path}"`);
    await createVethPair({ name: 'cccccccccccc_h' }, { name: 'eth0', netns: ns });
    const annotations = (await pod('c')).metadata.annotations ?? {};
    const [mac, address] = [annotations['ovn.kubernetes.io/mac_address'], annotations['ovn.kubernetes.io/ip_address']];
    await inNetnsOk(ns, ['ip', 'link', 'set', 'dev', 'eth0', 'address', mac!]);
    await inNetnsOk(ns, ['ip', 'addr', 'add', `${address}/16`, 'dev', 'eth0']);
    const node = ['--node', NODE, '--ovs-db', ovs.db.ovs];
    expect(await audit(...node)).toEqual(clean);

    await inNetnsOk(ns, ['ip', 'addr', 'flush', 'dev', 'eth0']);
    await inNetnsOk(ns, ['ip', 'addr', 'add', '10.16.0.99/16', 'dev', 'eth0']);
    const mismatch = await audit(...node);
    expect({ code: mismatch.code, out: mismatch.out }).toEqual({
      code: 1,
      out: {
        findings: [{
          kind: 'NetnsMismatch', object: `OvsPort/${NODE}/cccccccccccc_h`,
          message: `OVS port cccccccccccc_h on br-int of node ${NODE}: pod default/c eth0 claims ${address} (MAC ${mac}), but in its netns ${path} eth0 holds 10.16.0.99/16 (MAC ${mac}); `
            + 'the pod must be recreated to get its claimed address; no repair is planned',
        }],
        actions: [],
      },
    });

    await deleteNetns(ns);
    const gone = `its pod default/c eth0's netns ${path} is gone (the pod's sandbox is gone, its port stayed)`;
    await findsAndFixes([{ kind: 'NetnsGone', object: `OvsPort/${NODE}/cccccccccccc_h`, message: `OVS port cccccccccccc_h on br-int of node ${NODE}: ${gone}` }],
      ['DeleteOvsPort cccccccccccc_h', 'DeleteLink cccccccccccc_h'], node);
    expect(await ovs.vsctl('list-ports', 'br-int')).toBe('');
  }, 90_000);

  it('AddressHeldTwice: pod b\'s annotation and IP object both say a\'s address; b loses and is told', async () => {
    await api.kubectlOk(['annotate', '--overwrite', 'pod', 'b', 'ovn.kubernetes.io/ip_address=10.16.0.2']);
    await patchIp('b.default', { spec: { ipAddress: '10.16.0.2', v4IpAddress: '10.16.0.2' } });
    const held = '10.16.0.2 in subnet ovn-default is held by IP object a.default (pod default/a) and by IP object b.default (pod default/b, 10.16.0.2); b.default came later '
      + '(pod annotations first, then IP objects by creation time, then name), so its claim is released; pod default/b must be recreated to get a new address';
    await findsAndFixes([
      { kind: 'AddressHeldTwice', object: 'IP/b.default', message: held },
      {
        kind: 'StatusCountsDisagree', object: 'Subnet/ovn-default',
        message: 'Subnet ovn-default\'s status says v4usingIPs 3, v4availableIPs 65530, v4usingIPrange "10.16.0.2-10.16.0.4", v4availableIPrange "10.16.0.5-10.16.255.254"; '
          + 'the claims give v4usingIPs 2, v4availableIPs 65531, v4usingIPrange "10.16.0.2,10.16.0.4", v4availableIPrange "10.16.0.3,10.16.0.5-10.16.255.254"',
      },
    ], ['DeleteLogicalSwitchPort b.default', 'DeleteIP b.default', 'PatchPodAnnotations default/b', 'EmitEvent default/b', 'UpdateSubnetStatus ovn-default']);
    const annotations = (await pod('b')).metadata.annotations ?? {};
    expect(Object.keys(annotations).filter((k) => k.startsWith('ovn.kubernetes.io/')).sort()).toEqual([]);
    const events = await api.kubectlOk(['get', 'events', '--field-selector', 'involvedObject.name=b,reason=ClaimConflict', '-o', 'jsonpath={.items[*].message}']);
    expect(events).toBe(`ClaimConflict: ${held}`);
  }, 90_000);

  it('OVN unreachable: exit 2 and one line, no stack trace (the flags\' own: auditRender.test.ts)', async () => {
    const noOvn = await run([process.execPath, CLI_MAIN, 'audit', '--kubeconfig', api.kubeconfigPath, '--ovn-nb', 'unix:/nonexistent/nb.sock'], { timeoutMs: 60_000 });
    expect({ code: noOvn.code, stdout: noOvn.stdout, lines: noOvn.stderr.split('\n').length, starts: noOvn.stderr.startsWith('kube-ovn-ipam audit: cannot read OVN\'s northbound database unix:/nonexistent/nb.sock: ') })
      .toEqual({ code: 2, stdout: '', lines: 2, starts: true });
  }, 90_000);
});

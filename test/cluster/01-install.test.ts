// `kubectl apply -k config/` on a fresh cluster (the tier's globalSetup applied it, through an
// overlay that only fits it to this node): the controller and the daemon are Ready, each under
// its own ServiceAccount with the API server's RBAC authorizer on; the init container put the
// plugin into the node's CNI bin directory; their health and metrics endpoints answer. And RBAC
// is least privilege: the roles in the cluster grant exactly the requests config/rbac/verbs.json
// lists (each with the code that makes it), every one of them is allowed, and anything else a
// component might be tempted to do is denied.
import { beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { connectCluster, NAMESPACE, REPO, type Cluster } from '../harness/cluster.js';
import { listPods } from '../harness/clusterPods.js';
import { runOk } from '../harness/exec.js';

interface VerbRule {
  readonly apiGroup: string; readonly resource: string; readonly subresource?: string;
  readonly namespace: string | null; readonly resourceNames?: readonly string[]; readonly verbs: Readonly<Record<string, readonly string[]>>;
}
interface Verbs { readonly namespace: string; readonly components: Readonly<Record<string, { readonly serviceAccount: string; readonly rules: readonly VerbRule[] }>> }
interface RbacRule { readonly apiGroups?: readonly string[]; readonly resources?: readonly string[]; readonly resourceNames?: readonly string[]; readonly verbs: readonly string[] }

const VERBS = JSON.parse(readFileSync(join(REPO, 'config', 'rbac', 'verbs.json'), 'utf8')) as Verbs;
const running = process.getuid?.() === 0 ? describe : describe.skip;

/** One granted permission as a comparable string: `group/resource[/sub][#name] verb [ns]`. */
const grant = (group: string, resource: string, name: string | undefined, verb: string, ns: string | null): string =>
  `${group}/${resource}${name === undefined ? '' : `#${name}`} ${verb}${ns === null ? '' : ` in ${ns}`}`;

running('kubectl apply -k config/ on a fresh cluster', () => {
  let c: Cluster;
  beforeAll(() => {
    c = connectCluster();
  });

  const canI = async (sa: string, args: readonly string[]): Promise<string> => {
    const r = await c.kubectl(['auth', 'can-i', ...args, `--as=system:serviceaccount:${NAMESPACE}:${sa}`]);
    return r.stdout.trim();
  };

  it('the controller, the daemon and the webhook are Ready, each under its own ServiceAccount, RBAC on', async () => {
    const pods = [...await listPods(c, NAMESPACE)].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    expect(pods.map((p) => [
      p.metadata.labels?.['app.kubernetes.io/component'], p.spec.serviceAccountName, p.spec.nodeName,
      p.status.conditions?.find((x) => x.type === 'Ready')?.status,
    ])).toEqual([
      ['controller', 'kube-ovn-ipam-controller', c.nodeName, 'True'],
      ['daemon', 'kube-ovn-ipam-daemon', c.nodeName, 'True'],
      ['webhook', 'kube-ovn-ipam-webhook', c.nodeName, 'True'],
    ]);
    // The authorizer is RBAC: a ServiceAccount without a binding for it is denied.
    expect(await canI('kube-ovn-ipam-daemon', ['delete', 'pods'])).toBe('no');
    expect(await canI('kube-ovn-ipam-controller', ['patch', 'pods'])).toBe('yes');
  }, 120_000);

  it('the init container installed the plugin into the CNI bin directory: our executable, 0755', async () => {
    const installed = join(c.cniBin, 'kube-ovn');
    expect(statSync(installed).mode & 0o777).toBe(0o755);
    const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');
    expect(sha(installed)).toBe(sha(join(REPO, 'dist', 'cni', 'kube-ovn')));
    expect(JSON.parse(await runOk(['env', '-i', 'CNI_COMMAND=VERSION', installed])) as unknown).toEqual({
      cniVersion: '1.1.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'],
    });
  }, 120_000);

  it('health and metrics endpoints answer on both components (hostNetwork: on the node)', async () => {
    for (const port of [10660, 10665]) {
      for (const path of ['/healthz', '/readyz']) {
        expect([port, path, (await fetch(`http://127.0.0.1:${port}${path}`)).status]).toEqual([port, path, 200]);
      }
    }
    expect(await (await fetch('http://127.0.0.1:10660/metrics')).text()).toContain('kube_ovn_ipam_allocations_total');
    expect((await fetch('http://127.0.0.1:10665/metrics')).status).toBe(200);
  }, 120_000);

  it('the webhook made its certificate into its Secret and wrote the CA into both configurations', async () => {
    const secret = JSON.parse(await c.kubectlOk(['-n', NAMESPACE, 'get', 'secret', 'kube-ovn-ipam-webhook-tls', '-o', 'json'])) as { type: string; data: Record<string, string> };
    expect([secret.type, Object.keys(secret.data).sort()]).toEqual(['kubernetes.io/tls', ['ca.crt', 'ca.key', 'tls.crt', 'tls.key']]);
    const cert = new X509Certificate(Buffer.from(secret.data['tls.crt'] ?? '', 'base64'));
    expect(cert.subjectAltName).toContain('DNS:kube-ovn-ipam-webhook.kube-ovn-ipam.svc');
    for (const kind of ['mutatingwebhookconfiguration', 'validatingwebhookconfiguration']) {
      const bundles = (await c.kubectlOk(['get', kind, 'kube-ovn-ipam-webhook', '-o', 'jsonpath={.webhooks[*].clientConfig.caBundle}'])).split(' ');
      expect([kind, bundles]).toEqual([kind, bundles.map(() => secret.data['ca.crt'])]);
      expect(bundles.length).toBe(kind.startsWith('mutating') ? 1 : 2);
    }
  }, 120_000);

  it('RBAC in the cluster grants exactly what verbs.json lists, each with the code that uses it', async () => {
    for (const [component, { serviceAccount, rules }] of Object.entries(VERBS.components)) {
      const wanted = rules.flatMap((r) => Object.keys(r.verbs).flatMap((verb) =>
        (r.resourceNames ?? [undefined]).map((name) => grant(r.apiGroup, r.subresource === undefined ? r.resource : `${r.resource}/${r.subresource}`, name, verb, r.namespace))));
      for (const r of rules) for (const [verb, uses] of Object.entries(r.verbs)) expect([component, r.resource, verb, uses.length > 0]).toEqual([component, r.resource, verb, true]);
      // What the cluster's roles bound to this ServiceAccount grant.
      const bindings = JSON.parse(await c.kubectlOk(['get', 'clusterrolebindings,rolebindings', '-A', '-o', 'json'])) as {
        items: { kind: string; metadata: { namespace?: string }; roleRef: { kind: string; name: string }; subjects?: { kind: string; name: string; namespace?: string }[] }[];
      };
      const granted: string[] = [];
      for (const b of bindings.items.filter((x) => x.subjects?.some((s) => s.kind === 'ServiceAccount' && s.name === serviceAccount && s.namespace === NAMESPACE))) {
        const ns = b.kind === 'RoleBinding' ? b.metadata.namespace ?? null : null;
        const role = JSON.parse(await c.kubectlOk(['get', b.roleRef.kind.toLowerCase(), b.roleRef.name, ...(ns === null ? [] : ['-n', ns]), '-o', 'json'])) as { rules: RbacRule[] };
        for (const rule of role.rules) {
          for (const group of rule.apiGroups ?? []) for (const resource of rule.resources ?? []) for (const verb of rule.verbs) {
            for (const name of rule.resourceNames ?? [undefined]) granted.push(grant(group, resource, name, verb, ns));
          }
        }
      }
      expect([component, granted.sort()]).toEqual([component, [...wanted].sort()]);
    }
  }, 120_000);

  it('every listed request is allowed for its ServiceAccount, and nothing else a component might try', async () => {
    // kubectl auth can-i resolves a resource through discovery: KubeVirt's kinds (which the
    // controller and the webhook watch when served) need their CRDs, here the tests' stand-in.
    await c.kubectlOk(['apply', '-f', join(REPO, 'test', 'fixtures', 'kubevirt-crds.yaml')]);
    await c.kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', 'crd/virtualmachines.kubevirt.io', 'crd/virtualmachineinstances.kubevirt.io'], { timeoutMs: 70_000 });
    for (const { serviceAccount, rules } of Object.values(VERBS.components)) {
      for (const r of rules) {
        for (const verb of Object.keys(r.verbs)) {
          const resource = `${r.resource}${r.apiGroup === '' ? '' : `.${r.apiGroup}`}${r.resourceNames?.[0] === undefined ? '' : `/${r.resourceNames[0]}`}`;
          const args = [verb, resource, ...(r.subresource === undefined ? [] : [`--subresource=${r.subresource}`]), ...(r.namespace === null ? ['-A'] : ['-n', r.namespace])];
          expect([serviceAccount, ...args, await canI(serviceAccount, args)]).toEqual([serviceAccount, ...args, 'yes']);
        }
      }
    }
    const denied: [string, string[]][] = [
      ['kube-ovn-ipam-controller', ['delete', 'pods', '-A']], ['kube-ovn-ipam-controller', ['create', 'pods', '-A']],
      ['kube-ovn-ipam-controller', ['get', 'secrets', '-A']], ['kube-ovn-ipam-controller', ['list', 'secrets', '-n', NAMESPACE]],
      ['kube-ovn-ipam-controller', ['update', 'ips.kubeovn.io', '-A']], ['kube-ovn-ipam-controller', ['delete', 'subnets.kubeovn.io', '-A']],
      ['kube-ovn-ipam-controller', ['patch', 'nodes', '-A']], ['kube-ovn-ipam-controller', ['patch', 'leases.coordination.k8s.io/other', '-n', NAMESPACE]],
      ['kube-ovn-ipam-controller', ['create', 'leases.coordination.k8s.io', '-n', 'kube-system']],
      ['kube-ovn-ipam-daemon', ['get', 'secrets', '-A']], ['kube-ovn-ipam-daemon', ['patch', 'pods', '-A']], ['kube-ovn-ipam-daemon', ['delete', 'pods', '-A']],
      ['kube-ovn-ipam-daemon', ['create', 'ips.kubeovn.io', '-A']], ['kube-ovn-ipam-daemon', ['delete', 'ips.kubeovn.io', '-A']],
      ['kube-ovn-ipam-daemon', ['patch', 'subnets.kubeovn.io', '--subresource=status', '-A']],
      ['kube-ovn-ipam-webhook', ['get', 'secrets/other', '-n', NAMESPACE]], ['kube-ovn-ipam-webhook', ['list', 'secrets', '-n', NAMESPACE]],
      ['kube-ovn-ipam-webhook', ['get', 'secrets', '-n', 'kube-system']], ['kube-ovn-ipam-webhook', ['create', 'pods', '-A']],
      ['kube-ovn-ipam-webhook', ['patch', 'pods', '-A']], ['kube-ovn-ipam-webhook', ['create', 'ips.kubeovn.io', '-A']],
      ['kube-ovn-ipam-webhook', ['patch', 'mutatingwebhookconfigurations.admissionregistration.k8s.io/other', '-A']],
      ['kube-ovn-ipam-webhook', ['delete', 'validatingwebhookconfigurations.admissionregistration.k8s.io/kube-ovn-ipam-webhook', '-A']],
    ];
    for (const [sa, args] of denied) expect([sa, ...args, await canI(sa, args)]).toEqual([sa, ...args, 'no']);
  }, 120_000);
});

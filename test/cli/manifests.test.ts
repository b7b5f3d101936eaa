// The manifests in config/ against the code they deploy, without a cluster:
// - the ClusterRoles and the Role grant exactly the rules of config/rbac/verbs.json (the list of
//   every request the code makes), no more, no less, with no wildcard anywhere;
// - every flag the Deployment and the DaemonSet pass is one the command documents in its help,
//   and every env var an argument expands is defined in its container;
// - the names overlays patch by (containers, volumes, the ConfigMap) are there, every object is
//   labelled, and every namespaced object is in kube-ovn-ipam;
// - kustomization.yaml lists every manifest file and sets the image tag to package.json's version;
// - the component config/components/non-primary-cni renders and switches what it says.
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parse } from 'yaml';
import { runCli } from '../../src/cli/commands.js';
import type { CliIo } from '../../src/cli/io.js';
import { runOk } from '../harness/exec.js';
import { kubectlBinary } from '../harness/kubectl.js';

const CONFIG = new URL('../../config/', import.meta.url);

interface Obj {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string> };
  readonly [key: string]: unknown;
}
interface Rule { readonly apiGroups: string[]; readonly resources: string[]; readonly verbs: string[]; readonly resourceNames?: string[] }
interface VerbRule {
  readonly apiGroup: string; readonly resource: string; readonly subresource?: string; readonly namespace: string | null;
  readonly resourceNames?: string[]; readonly verbs: Record<string, string[]>;
}
interface Container { readonly name: string; readonly args?: string[]; readonly env?: { name: string }[]; readonly volumeMounts?: { name: string; mountPath: string }[] }
interface PodSpec { readonly containers: Container[]; readonly initContainers?: Container[]; readonly volumes: { name: string }[] }

const kustomization = parse(readFileSync(new URL('kustomization.yaml', CONFIG), 'utf8')) as { resources: string[]; images: { name: string; newTag: string }[]; namespace: string };
const objects: Obj[] = kustomization.resources.flatMap((file) =>
  parseAllDocuments(readFileSync(new URL(file, CONFIG), 'utf8')).map((d) => d.toJS() as Obj).filter((o) => o !== null));
const verbs = JSON.parse(readFileSync(new URL('rbac/verbs.json', CONFIG), 'utf8')) as {
  namespace: string; components: Record<string, { serviceAccount: string; rules: VerbRule[] }>;
};
const find = (kind: string, name: string): Obj => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (o === undefined) throw new Error(`no ${kind} ${name} in config/`);
  return o;
};

/** One "group resource[/sub] [ns] [names] verb" line per permission, sorted. */
const granted = (rules: readonly Rule[], namespace: string | null): string[] =>
  rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) =>
    `${g}|${res}|${namespace ?? '*'}|${(r.resourceNames ?? []).join(',')}|${v}`)))).sort();
const listed = (rules: readonly VerbRule[], namespace: string | null): string[] =>
  rules.filter((r) => r.namespace === namespace).flatMap((r) => Object.keys(r.verbs).map((v) =>
    `${r.apiGroup}|${r.resource}${r.subresource === undefined ? '' : `/${r.subresource}`}|${namespace ?? '*'}|${(r.resourceNames ?? []).join(',')}|${v}`)).sort();

/** The roles bound to a ServiceAccount: [rules, namespace or null for a ClusterRole]. */
const rolesOf = (sa: string): [Rule[], string | null][] =>
  objects.filter((o) => o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding')
    .filter((b) => (b['subjects'] as { kind: string; name: string; namespace: string }[]).some((s) => s.kind === 'ServiceAccount' && s.name === sa && s.namespace === 'kube-ovn-ipam'))
    .map((b) => {
      const ref = b['roleRef'] as { kind: string; name: string };
      const role = find(ref.kind, ref.name);
      return [role['rules'] as Rule[], b.kind === 'RoleBinding' ? b.metadata.namespace ?? null : null];
    });

describe('config/ RBAC is exactly config/rbac/verbs.json', () => {
  it.each(Object.entries(verbs.components))('%s', (_component, c) => {
    const roles = rolesOf(c.serviceAccount);
    expect(roles.length).toBeGreaterThan(0);
    for (const namespace of [null, verbs.namespace]) {
      const got = roles.filter(([, ns]) => ns === namespace).flatMap(([rules]) => granted(rules, namespace)).sort();
      expect(got).toEqual(listed(c.rules, namespace));
    }
    for (const [rules] of roles) {
      for (const r of rules) expect([...r.apiGroups, ...r.resources, ...r.verbs].filter((x) => x.includes('*'))).toEqual([]);
    }
    // Every use names where in the code it is made.
    for (const r of c.rules) for (const where of Object.values(r.verbs)) expect(where.length).toBeGreaterThan(0);
  });

  it('secrets only in the webhook\'s namespaced Role (create, and get/update of its one Secret); no configmaps; update only there', () => {
    const roles = objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role');
    const all = roles.flatMap((o) => (o['rules'] as Rule[]).map((r) => ({ role: `${o.kind}/${o.metadata.name}`, ...r })));
    expect(all.filter((r) => r.resources.some((x) => ['secrets', 'configmaps'].includes(x))).map((r) => [r.role, r.resources, r.resourceNames, r.verbs]))
      .toEqual([
        ['Role/kube-ovn-ipam-webhook-tls', ['secrets'], undefined, ['create']],
        ['Role/kube-ovn-ipam-webhook-tls', ['secrets'], ['kube-ovn-ipam-webhook-tls'], ['get', 'update']],
      ]);
    expect(all.filter((r) => r.verbs.some((v) => v === 'update' || v === 'deletecollection')).map((r) => r.role)).toEqual(['Role/kube-ovn-ipam-webhook-tls']);
  });
});

const helpOf = async (command: string): Promise<string> => {
  const io: CliIo & { out: string } = { out: '', stdout: (t) => void (io.out += t), stderr: () => undefined, readStdin: async () => '' };
  expect(await runCli([command, '--help'], io)).toBe(0);
  return io.out;
};

describe('the workloads', () => {
  const deployment = find('Deployment', 'kube-ovn-ipam-controller');
  const daemonSet = find('DaemonSet', 'kube-ovn-ipam-daemon');
  const podOf = (o: Obj): PodSpec => (o['spec'] as { template: { spec: PodSpec } }).template.spec;

  it.each<[string, () => Container, string]>([
    ['controller', () => podOf(deployment).containers.find((c) => c.name === 'controller')!, 'controller'],
    ['daemon', () => podOf(daemonSet).containers.find((c) => c.name === 'daemon')!, 'daemon'],
    ['install-cni', () => podOf(daemonSet).initContainers!.find((c) => c.name === 'install-cni')!, 'install-cni'],
    ['webhook', () => podOf(find('Deployment', 'kube-ovn-ipam-webhook')).containers.find((c) => c.name === 'webhook')!, 'webhook'],
  ])('container %s: its command, flags its help documents, env vars it defines', async (_name, container, command) => {
    const c = container();
    const args = c.args ?? [];
    expect(args[0]).toBe(command);
    const help = await helpOf(command);
    for (const arg of args.slice(1)) {
      const flag = /^(--[a-z-]+)=/.exec(arg)?.[1];
      expect(flag === undefined ? arg : help.includes(`  ${flag} `) ? flag : `undocumented ${flag}`).toBe(flag);
      for (const m of arg.matchAll(/\$\(([A-Z_]+)\)/g)) expect((c.env ?? []).map((e) => e.name)).toContain(m[1]);
    }
  });

  it('has the names overlays patch by', () => {
    expect(podOf(deployment).volumes.map((v) => v.name).sort()).toEqual(['ovn-run', 'tmp']);
    expect(podOf(daemonSet).volumes.map((v) => v.name).sort()).toEqual(['cni-bin', 'cni-conf', 'netns', 'ovs-run', 'tmp']);
    expect(podOf(daemonSet).containers.find((c) => c.name === 'daemon')!.volumeMounts!.map((m) => [m.name, m.mountPath])).toEqual([
      ['ovs-run', '/run/openvswitch'], ['netns', '/run/netns'], ['tmp', '/tmp'],
    ]);
    expect(podOf(daemonSet).initContainers!.find((c) => c.name === 'install-cni')!.volumeMounts!.map((m) => [m.name, m.mountPath])).toEqual([
      ['cni-bin', '/host/opt/cni/bin'], ['cni-conf', '/host/etc/cni/net.d'],
    ]);
    const config = find('ConfigMap', 'kube-ovn-ipam-config')['data'] as Record<string, string>;
    expect(config).toMatchObject({ 'ovn-nb': 'unix:/run/ovn/ovnnb_db.sock', 'default-cidr': '10.16.0.0/16', 'default-gateway': '10.16.0.1' });
  });
});

describe('config/kustomization.yaml', () => {
  it('lists every manifest, labels everything, namespaces everything namespaced', () => {
    const files = (dir: string): string[] => readdirSync(new URL(dir, CONFIG), { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? files(`${dir}${e.name}/`) : e.name.endsWith('.yaml') && e.name !== 'kustomization.yaml' ? [`${dir}${e.name}`] : []));
    expect([...kustomization.resources].sort()).toEqual(files('').sort());
    expect(kustomization.namespace).toBe('kube-ovn-ipam');
    const clusterScoped = new Set(['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']);
    for (const o of objects) {
      expect([o.kind, o.metadata.labels?.['app.kubernetes.io/name'], typeof o.metadata.labels?.['app.kubernetes.io/component']]).toEqual([o.kind, 'kube-ovn-ipam', 'string']);
      expect([o.kind, o.metadata.name, o.metadata.namespace]).toEqual([o.kind, o.metadata.name, clusterScoped.has(o.kind) ? undefined : 'kube-ovn-ipam']);
    }
  });

  it("sets the image tag to package.json's version", () => {
    const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
    expect(kustomization.images).toEqual([{ name: 'kube-ovn-ipam', newTag: version }]);
  });
});

describe('config/components/non-primary-cni', () => {
  it('renders (kubectl kustomize of an overlay using it): the controller and the webhook get --non-primary-cni-mode, the ConfigMap no default Subnet', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kube-ovn-ipam-overlay-'));
    try {
      // kustomize takes a base and a component by relative path only.
      const base = relative(dir, fileURLToPath(CONFIG));
      writeFileSync(join(dir, 'kustomization.yaml'), `resources: [${base}]\ncomponents: [${base}/components/non-primary-cni]\n`);
      const rendered = parseAllDocuments(await runOk([kubectlBinary(), 'kustomize', dir])).map((d) => d.toJS() as Obj);
      const argsOf = (name: string, container: string) => ((rendered.find((o) => o.kind === 'Deployment' && o.metadata.name === name)!['spec'] as { template: { spec: PodSpec } })
        .template.spec.containers.find((c) => c.name === container)!.args ?? []);
      expect(argsOf('kube-ovn-ipam-controller', 'controller').filter((a) => a.startsWith('--non-primary'))).toEqual(['--non-primary-cni-mode']);
      expect(argsOf('kube-ovn-ipam-webhook', 'webhook').filter((a) => a.startsWith('--non-primary'))).toEqual(['--non-primary-cni-mode']);
      const data = rendered.find((o) => o.kind === 'ConfigMap')!['data'] as Record<string, string>;
      expect({ cidr: data['default-cidr'], gateway: data['default-gateway'], subnet: data['default-subnet'] }).toEqual({ cidr: '', gateway: '', subnet: 'ovn-default' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// The seed's YAML against a real kube-apiserver + etcd with the project's CRDs (DESIGN.md §4):
// every example applies as written, in file order, and reads back exactly as written; the
// implicit Subnets of the seed README apply; the CRDs' printer columns and validation are what
// `kubectl get` and a user see. Needs no root; when kube-apiserver, kubectl or etcd are missing
// the start fails with how to install them (never a silent skip).
//
// Files that reuse a name (seed README): 07 updates 06's NAD, 08 updates the annotations of 03's
// pod and 11 those of 09's. 10 cannot update 04's `static-ip` in place: its container gains a
// command, and a pod's containers are immutable, so the API server refuses and the test
// recreates the pod, as a user would.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { CRD_DIR, startApiServer, type ApiServer } from '../harness/apiserver.js';
import { parseTable } from '../harness/kubectl.js';
import { processAlive, trackedResources } from '../harness/reaper.js';

const EXAMPLES = fileURLToPath(new URL('../../../shared/seed/examples/', import.meta.url));

interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly annotations?: Record<string, string> };
  readonly spec?: Record<string, unknown>;
  readonly status?: Record<string, unknown>;
}

const example = (file: string): K8sObject => parse(readFileSync(`${EXAMPLES}${file}`, 'utf8')) as K8sObject;
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** Annotations without kubectl's last-applied record, which apply adds to every object. */
const ownAnnotations = (o: K8sObject): Record<string, string> =>
  Object.fromEntries(Object.entries(o.metadata.annotations ?? {}).filter(([k]) => k !== LAST_APPLIED));

// File → what `kubectl apply` prints for it, in file order. `immutable`: the object exists with
// a pod spec that this file changes, which the API server refuses to update in place.
// (Objects, not arrays: jest takes a test function with more parameters than a row has cells
// for a `done`-callback test.)
const APPLIES: readonly { readonly file: string; readonly printed: string; readonly immutable?: boolean }[] = [
  { file: '01-nad-macvlan.yaml', printed: 'networkattachmentdefinition.k8s.cni.cncf.io/macvlan created' },
  { file: '02-subnet-macvlan.yaml', printed: 'subnet.kubeovn.io/macvlan created' },
  { file: '03-pod-random.yaml', printed: 'pod/samplepod created' },
  { file: '04-pod-static-ip.yaml', printed: 'pod/static-ip created' },
  { file: '05-deployment-ip-pool.yaml', printed: 'deployment.apps/static-workload created' },
  { file: '06-nad-attachnet-ovn.yaml', printed: 'networkattachmentdefinition.k8s.cni.cncf.io/attachnet created' },
  { file: '07-nad-attachnet-ovn-routes.yaml', printed: 'networkattachmentdefinition.k8s.cni.cncf.io/attachnet configured' },
  { file: '08-pod-attachnet-random.yaml', printed: 'pod/samplepod configured' },
  { file: '09-pod-attachnet-spec-subnet.yaml', printed: 'pod/spec-subnet created' },
  { file: '10-pod-attachnet-static-ip.yaml', printed: 'pod/static-ip created', immutable: true },
  { file: '11-pod-multi-nic-same-subnet.yaml', printed: 'pod/spec-subnet configured' },
];

// The Subnets the seed leaves implicit (seed/examples/README.md).
const IMPLICIT_SUBNETS = [
  { name: 'ovn-default', spec: { protocol: 'IPv4', provider: 'ovn', cidrBlock: '10.16.0.0/16', gateway: '10.16.0.1' } },
  { name: 'my-subnet', spec: { provider: 'ovn', cidrBlock: '172.17.0.0/16' } },
  { name: 'attachnet', spec: { provider: 'attachnet.default.ovn', cidrBlock: '172.18.0.0/16' } },
];
const subnetDoc = (name: string, spec: object): string =>
  JSON.stringify({ apiVersion: 'kubeovn.io/v1', kind: 'Subnet', metadata: { name }, spec });

describe('the seed examples on a real kube-apiserver with the project CRDs', () => {
  let api: ApiServer;
  const getJson = async (kind: string, name: string, namespace?: string): Promise<K8sObject> =>
    JSON.parse(await api.kubectlOk(['get', kind, name, '-o', 'json', ...(namespace === undefined ? [] : ['-n', namespace])])) as K8sObject;

  beforeAll(async () => {
    api = await startApiServer();
    process.stderr.write(`apiserver-seed: kube-apiserver ready in ${api.startup.readyMs} ms, ` +
      `with CRDs in ${api.startup.totalMs} ms\n`);
  }, 180_000);

  afterAll(async () => {
    await api?.stop();
  }, 60_000);

  it('has exactly the seed files this test knows', () => {
    expect(readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml')).sort()).toEqual(APPLIES.map((a) => a.file));
  });

  it.each(APPLIES)('kubectl apply -f $file: $printed', async ({ file, printed, immutable }) => {
    const path = `${EXAMPLES}${file}`;
    if (immutable === true) {
      const { name } = example(file).metadata;
      const inPlace = await api.kubectl(['apply', '-f', path]);
      expect(inPlace.code).toBe(1);
      expect(inPlace.stderr).toContain(`The Pod "${name}" is invalid: spec: Forbidden: pod updates may not change fields other than`);
      // Unbound pods go at once (no kubelet): delete and apply again, as a user would.
      await api.kubectlOk(['delete', 'pod', name, '--grace-period=0', '--force', '--wait=true']);
    }
    const result = await api.kubectl(['apply', '-f', path]);
    expect({ code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({ code: 0, stdout: `${printed}\n`, stderr: '' });
  });

  it('applies the implicit Subnets (ovn-default, my-subnet, attachnet) from stdin', async () => {
    const input = IMPLICIT_SUBNETS.map((s) => subnetDoc(s.name, s.spec)).join('\n---\n');
    expect(await api.kubectlOk(['apply', '-f', '-'], { input }))
      .toBe(IMPLICIT_SUBNETS.map((s) => `subnet.kubeovn.io/${s.name} created\n`).join(''));
    for (const s of IMPLICIT_SUBNETS) expect((await getJson('subnet', s.name)).spec).toEqual(s.spec);
  });

  it('holds the NADs\' configs byte for byte (07 replaced 06\'s)', async () => {
    const macvlan = await getJson('network-attachment-definitions.k8s.cni.cncf.io', 'macvlan', 'default');
    expect(macvlan.spec).toEqual(example('01-nad-macvlan.yaml').spec);
    // YAML folds the single-quoted multi-line scalar: each line break and indent becomes one space.
    expect(macvlan.spec?.['config']).toBe('{ "cniVersion": "0.3.0", "type": "macvlan", "master": "eth0", "mode": "bridge", ' +
      '"ipam": { "type": "kube-ovn", "server_socket": "/run/openvswitch/kube-ovn-daemon.sock", "provider": "macvlan.default" } }');
    const attachnet = await getJson('net-attach-def', 'attachnet', 'default');
    expect(attachnet.spec).toEqual(example('07-nad-attachnet-ovn-routes.yaml').spec);
    expect(attachnet.spec?.['config']).toBe('{ "cniVersion": "0.3.0", "type": "kube-ovn", ' +
      '"server_socket": "/run/openvswitch/kube-ovn-daemon.sock", "provider": "attachnet.default.ovn", ' +
      '"routes": [ { "dst": "19.10.0.0/16" }, { "dst": "19.20.0.0/16", "gw": "19.10.0.1" } ] }');
    expect(ownAnnotations(attachnet)).toEqual({});
    // kubectl records the file as applied, with an empty annotations map it adds itself.
    const file = example('07-nad-attachnet-ovn-routes.yaml');
    expect(JSON.parse(attachnet.metadata.annotations?.[LAST_APPLIED] ?? '')).toEqual({ ...file, metadata: { ...file.metadata, annotations: {} } });
  });

  it('holds the macvlan Subnet\'s spec as written, with no status yet', async () => {
    const subnet = await getJson('subnet', 'macvlan');
    expect(subnet.spec).toEqual(example('02-subnet-macvlan.yaml').spec);
    expect(subnet.spec).toEqual({
      protocol: 'IPv4', provider: 'macvlan.default', cidrBlock: '172.17.0.0/16', gateway: '172.17.0.1',
      excludeIps: ['172.17.0.1..172.17.0.10'],
    });
    expect(subnet.status).toBeUndefined();
  });

  it.each([
    ['samplepod', '08-pod-attachnet-random.yaml', { 'k8s.v1.cni.cncf.io/networks': 'default/attachnet' }],
    ['static-ip', '10-pod-attachnet-static-ip.yaml', {
      'k8s.v1.cni.cncf.io/networks': 'default/attachnet',
      'attachnet.default.ovn.kubernetes.io/logical_switch': 'my-subnet',
      'attachnet.default.ovn.kubernetes.io/ip_address': '172.17.0.21',
    }],
    ['spec-subnet', '11-pod-multi-nic-same-subnet.yaml', {
      'k8s.v1.cni.cncf.io/networks': 'default/attachnet',
      'attachnet.default.ovn.kubernetes.io/logical_switch': 'my-subnet',
      'ovn.kubernetes.io/logical_switch': 'my-subnet',
    }],
  ])('pod %s holds the annotations of the last file that named it, %s', async (name, file, annotations) => {
    const pod = await getJson('pod', name, 'default');
    expect(ownAnnotations(pod)).toEqual(annotations);
    expect(ownAnnotations(pod)).toEqual(example(file).metadata.annotations);
    expect(JSON.parse(pod.metadata.annotations?.[LAST_APPLIED] ?? '')).toEqual(example(file));
  });

  it('holds the Deployment\'s pod template annotations as written', async () => {
    const deployment = await getJson('deployment', 'static-workload', 'default');
    const template = (deployment.spec?.['template'] ?? {}) as K8sObject;
    expect(template.metadata.annotations).toEqual({
      'k8s.v1.cni.cncf.io/networks': 'macvlan',
      'ovn.kubernetes.io/ip_pool': '10.16.0.15,10.16.0.16,10.16.0.17',
      'macvlan.default.kubernetes.io/ip_pool': '172.17.0.200,172.17.0.201,172.17.0.202',
    });
    const fileTemplate = (example('05-deployment-ip-pool.yaml').spec?.['template'] ?? {}) as K8sObject;
    expect(template.metadata.annotations).toEqual(fileTemplate.metadata.annotations);
    expect(deployment.spec?.['replicas']).toBe(2);
  });

  it('kubectl get subnets shows the CRD\'s printer columns', async () => {
    const crd = parse(readFileSync(`${CRD_DIR}subnets.kubeovn.io.yaml`, 'utf8')) as {
      spec: { versions: { additionalPrinterColumns: { name: string; priority?: number }[] }[] };
    };
    const declared = crd.spec.versions[0]?.additionalPrinterColumns ?? [];
    const { header, rows } = parseTable(await api.kubectlOk(['get', 'subnets']));
    expect(header).toEqual(['NAME', 'PROVIDER', 'PROTOCOL', 'CIDR', 'GATEWAY', 'USED', 'AVAILABLE', 'AGE']);
    expect(header).toEqual(['NAME', ...declared.filter((c) => (c.priority ?? 0) === 0).map((c) => c.name.toUpperCase())]);
    expect(rows.map(({ AGE, ...rest }) => { expect(AGE).toMatch(/^\d+s$/); return rest; })).toEqual([
      { NAME: 'attachnet', PROVIDER: 'attachnet.default.ovn', PROTOCOL: '', CIDR: '172.18.0.0/16', GATEWAY: '', USED: '', AVAILABLE: '' },
      { NAME: 'macvlan', PROVIDER: 'macvlan.default', PROTOCOL: 'IPv4', CIDR: '172.17.0.0/16', GATEWAY: '172.17.0.1', USED: '', AVAILABLE: '' },
      { NAME: 'my-subnet', PROVIDER: 'ovn', PROTOCOL: '', CIDR: '172.17.0.0/16', GATEWAY: '', USED: '', AVAILABLE: '' },
      { NAME: 'ovn-default', PROVIDER: 'ovn', PROTOCOL: 'IPv4', CIDR: '10.16.0.0/16', GATEWAY: '10.16.0.1', USED: '', AVAILABLE: '' },
    ]);
    expect(parseTable(await api.kubectlOk(['get', 'subnets', '-o', 'wide'])).header)
      .toEqual(['NAME', 'PROVIDER', 'PROTOCOL', 'CIDR', 'GATEWAY', 'USED', 'AVAILABLE', 'V6USED', 'V6AVAILABLE', 'AGE']);
  });

  it('shows USED and AVAILABLE from a status written through the status subresource', async () => {
    // 172.17.0.0/16 less network, broadcast and the ten excluded addresses (gateway included).
    expect(await api.kubectlOk(['patch', 'subnet', 'macvlan', '--subresource=status', '--type=merge',
      '-p', JSON.stringify({ status: { v4usingIPs: 1, v4availableIPs: 65523, v4usingIPrange: '172.17.0.11' } })]))
      .toBe('subnet.kubeovn.io/macvlan patched\n');
    const row = parseTable(await api.kubectlOk(['get', 'subnet', 'macvlan'])).rows[0];
    expect({ USED: row?.['USED'], AVAILABLE: row?.['AVAILABLE'] }).toEqual({ USED: '1', AVAILABLE: '65523' });
    expect((await getJson('subnet', 'macvlan')).status).toEqual({ v4usingIPs: 1, v4availableIPs: 65523, v4usingIPrange: '172.17.0.11' });
  });

  it.each([
    ['a protocol outside the enum', { protocol: 'ipv4', cidrBlock: '10.1.0.0/16' },
      'spec.protocol: Unsupported value: "ipv4": supported values: "IPv4", "IPv6", "Dual"'],
    ['no cidrBlock', { protocol: 'IPv4', provider: 'ovn' }, 'spec.cidrBlock: Required value'],
    ['an empty cidrBlock', { cidrBlock: '' },
      'spec.cidrBlock: Invalid value: "": spec.cidrBlock in body should be at least 1 chars long'],
  ])('rejects a Subnet with %s, naming the field', async (_what, spec, message) => {
    const result = await api.kubectl(['apply', '-f', '-'], { input: subnetDoc('bad', spec) });
    expect({ code: result.code, stdout: result.stdout, stderr: result.stderr })
      .toEqual({ code: 1, stdout: '', stderr: `The Subnet "bad" is invalid: ${message}\n` });
    const get = await api.kubectl(['get', 'subnet', 'bad']);
    expect(get.stderr).toBe('Error from server (NotFound): subnets.kubeovn.io "bad" not found\n');
  });

  it('kubectl get ips shows the IP printer columns', async () => {
    // The default-network claim of 04's pod as the controller would write it (DESIGN.md §3.3).
    const ip = {
      apiVersion: 'kubeovn.io/v1', kind: 'IP',
      metadata: { name: 'static-ip.default', labels: { 'ovn.kubernetes.io/subnet': 'ovn-default', 'ovn.kubernetes.io/node-name': 'node1' } },
      spec: {
        podName: 'static-ip', namespace: 'default', subnet: 'ovn-default', nodeName: 'node1', ipAddress: '10.16.0.15',
        v4IpAddress: '10.16.0.15', v6IpAddress: '', macAddress: '00:00:00:53:6b:b6', containerID: '', podType: '',
        attachSubnets: [], attachIps: [], attachMacs: [],
      },
    };
    expect(await api.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(ip) })).toBe('ip.kubeovn.io/static-ip.default created\n');
    const { header, rows } = parseTable(await api.kubectlOk(['get', 'ips']));
    expect(header).toEqual(['NAME', 'V4IP', 'V6IP', 'MAC', 'NODE', 'SUBNET']);
    expect(rows).toEqual([
      { NAME: 'static-ip.default', V4IP: '10.16.0.15', V6IP: '', MAC: '00:00:00:53:6b:b6', NODE: 'node1', SUBNET: 'ovn-default' },
    ]);
    const stored = await getJson('ip', 'static-ip.default');
    expect(stored.spec).toEqual(ip.spec);
    expect(await api.kubectlOk(['get', 'ips', '-l', 'ovn.kubernetes.io/subnet=ovn-default', '-o', 'name']))
      .toBe('ip.kubeovn.io/static-ip.default\n');
  });

  it('kubectl get ippools shows the IPPool printer columns', async () => {
    const pool = { apiVersion: 'kubeovn.io/v1', kind: 'IPPool', metadata: { name: 'pool1' },
      spec: { subnet: 'ovn-default', ips: ['10.16.0.20..10.16.0.29', '10.16.1.0/28'], namespaces: ['default'] } };
    expect(await api.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(pool) })).toBe('ippool.kubeovn.io/pool1 created\n');
    const { header, rows } = parseTable(await api.kubectlOk(['get', 'ippools']));
    expect(header).toEqual(['NAME', 'SUBNET', 'IPS', 'V4USED', 'V4AVAILABLE', 'V6USED', 'V6AVAILABLE']);
    // No controller here: no status yet, so the status columns are empty.
    expect(rows).toEqual([{ NAME: 'pool1', SUBNET: 'ovn-default', IPS: '["10.16.0.20..10.16.0.29","10.16.1.0/28"]', V4USED: '', V4AVAILABLE: '', V6USED: '', V6AVAILABLE: '' }]);
  });

  it('stop() removes both processes and the temp dir, and is idempotent', async () => {
    const { dir, pids } = api;
    await api.stop();
    await api.stop();
    expect({
      apiserver: processAlive(pids.kubeApiserver), etcd: processAlive(pids.etcd), dir: existsSync(dir),
      tracked: trackedResources().filter((r) => (r.kind === 'process' && Object.values(pids).includes(r.pid)) ||
        (r.kind === 'dir' && r.path === dir)),
    }).toEqual({ apiserver: false, etcd: false, dir: false, tracked: [] });
  }, 60_000);
});

describe('startApiServer without the binaries', () => {
  it('fails naming scripts/install-deps.sh, before creating anything', async () => {
    const saved = { cache: process.env['KUBE_OVN_IPAM_CACHE'], apiserver: process.env['KUBE_APISERVER'] };
    const before = trackedResources().length;
    process.env['KUBE_OVN_IPAM_CACHE'] = '/nonexistent-kube-ovn-ipam-cache';
    delete process.env['KUBE_APISERVER'];
    try {
      await expect(startApiServer()).rejects.toThrow(
        'kube-apiserver not found (install-deps cache: /nonexistent-kube-ovn-ipam-cache/bin/kube-apiserver); ' +
        'run `sudo scripts/install-deps.sh`');
    } finally {
      for (const [key, value] of [['KUBE_OVN_IPAM_CACHE', saved.cache], ['KUBE_APISERVER', saved.apiserver]] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
    expect(trackedResources().length).toBe(before);
  });
});

// Every YAML object of the seed (../shared/seed/examples, next to the repository) must decode
// as written, and its NAD configs and annotations must mean what the seed says they mean.
import { describe, it, expect } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import type * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import { parseAllDocuments } from 'yaml';
import { parseAddress, type Address } from '../../../src/domain/Address.js';
import { decodeObject } from '../../../src/domain/schema/decode.js';
import { Deployment, Pod, type Pod as PodT } from '../../../src/domain/schema/kube.js';
import { Subnet } from '../../../src/domain/schema/kubeovn.js';
import { NetworkAttachmentDefinition } from '../../../src/domain/schema/nad.js';
import { parseNetConf } from '../../../src/domain/schema/netconf.js';
import { parseNetworksAnnotation } from '../../../src/domain/schema/networks.js';
import { NETWORKS_ANNOTATION, parsePodNetworkRequest } from '../../../src/domain/schema/annotations.js';

const examples = new URL('../../../../shared/seed/examples/', import.meta.url);

const documentsOf = (file: string): readonly unknown[] => {
  const docs = parseAllDocuments(readFileSync(new URL(file, examples), 'utf8'));
  if (!Array.isArray(docs)) return [];
  for (const doc of docs) expect(doc.errors).toEqual([]);
  return docs.map((doc) => doc.toJS() as unknown);
};

const only = (file: string): unknown => {
  const docs = documentsOf(file);
  expect(docs).toHaveLength(1);
  return docs[0];
};

const codecs: Readonly<Record<string, t.Decoder<unknown, unknown>>> = {
  Subnet,
  Pod,
  Deployment,
  NetworkAttachmentDefinition,
};

const decoded = <A>(codec: t.Decoder<unknown, A>, value: unknown): A => {
  const result = decodeObject(codec, value, 'seed object');
  if (E.isLeft(result)) throw new Error(result.left.message);
  return result.right;
};

const ip = (text: string): Address => {
  const parsed = parseAddress(text);
  if (E.isLeft(parsed)) throw new Error(parsed.left);
  return parsed.right;
};

const yamlFiles = readdirSync(examples).filter((name) => name.endsWith('.yaml')).sort();

describe('seed examples', () => {
  it('are all here', () => {
    expect(yamlFiles).toEqual([
      '01-nad-macvlan.yaml', '02-subnet-macvlan.yaml', '03-pod-random.yaml', '04-pod-static-ip.yaml',
      '05-deployment-ip-pool.yaml', '06-nad-attachnet-ovn.yaml', '07-nad-attachnet-ovn-routes.yaml',
      '08-pod-attachnet-random.yaml', '09-pod-attachnet-spec-subnet.yaml', '10-pod-attachnet-static-ip.yaml',
      '11-pod-multi-nic-same-subnet.yaml',
    ]);
  });

  it.each(yamlFiles)('%s decodes unchanged', (file) => {
    for (const doc of documentsOf(file)) {
      const kind = (doc as { kind?: unknown }).kind;
      const codec = typeof kind === 'string' ? codecs[kind] : undefined;
      expect(codec).toBeDefined();
      if (codec) expect(decodeObject(codec, doc, file)).toEqual(E.right(doc));
    }
  });

  it.each<[string, unknown]>([
    ['01-nad-macvlan.yaml', { cniVersion: '0.3.0', kind: 'kube-ovn-ipam', mainType: 'macvlan', provider: 'macvlan.default', serverSocket: '/run/openvswitch/kube-ovn-daemon.sock', routes: [] }],
    ['06-nad-attachnet-ovn.yaml', { cniVersion: '0.3.0', kind: 'kube-ovn', mainType: 'kube-ovn', provider: 'attachnet.default.ovn', serverSocket: '/run/openvswitch/kube-ovn-daemon.sock', routes: [] }],
    ['07-nad-attachnet-ovn-routes.yaml', {
      cniVersion: '0.3.0', kind: 'kube-ovn', mainType: 'kube-ovn', provider: 'attachnet.default.ovn', serverSocket: '/run/openvswitch/kube-ovn-daemon.sock',
      routes: [{ dst: '19.10.0.0/16' }, { dst: '19.20.0.0/16', gw: '19.10.0.1' }],
    }],
  ])('%s has the NAD config the seed means', (file, expected) => {
    const nad = decoded(NetworkAttachmentDefinition, only(file));
    expect(parseNetConf(nad.spec?.config ?? '', `NetworkAttachmentDefinition "default/${nad.metadata.name}"`)).toEqual(E.right(expected));
  });

  it('02 is the macvlan Subnet', () => {
    expect(decoded(Subnet, only('02-subnet-macvlan.yaml')).spec).toEqual({
      protocol: 'IPv4', provider: 'macvlan.default', cidrBlock: '172.17.0.0/16', gateway: '172.17.0.1', excludeIps: ['172.17.0.1..172.17.0.10'],
    });
  });

  const podAnnotations = (file: string): Readonly<Record<string, string>> => {
    const pod: PodT = decoded(Pod, only(file));
    return pod.metadata.annotations ?? {};
  };

  it.each<[string, unknown]>([
    ['03-pod-random.yaml', [{ name: 'macvlan', namespace: 'default' }]],
    ['04-pod-static-ip.yaml', [{ name: 'macvlan', namespace: 'default' }]],
    ['08-pod-attachnet-random.yaml', [{ name: 'attachnet', namespace: 'default' }]],
    ['09-pod-attachnet-spec-subnet.yaml', [{ name: 'attachnet', namespace: 'default' }]],
    ['10-pod-attachnet-static-ip.yaml', [{ name: 'attachnet', namespace: 'default' }]],
    ['11-pod-multi-nic-same-subnet.yaml', [{ name: 'attachnet', namespace: 'default' }]],
  ])('%s selects its networks', (file, expected) => {
    expect(parseNetworksAnnotation(podAnnotations(file)[NETWORKS_ANNOTATION] ?? '', 'default')).toEqual(E.right(expected));
  });

  it.each<[string, string, unknown]>([
    ['04-pod-static-ip.yaml', 'ovn', { ipAddresses: [ip('10.16.0.15')], mac: 0x000000536bb6n }],
    ['04-pod-static-ip.yaml', 'macvlan.default', { ipAddresses: [ip('172.17.0.100')], mac: 0x000000536bbbn }],
    ['03-pod-random.yaml', 'macvlan.default', {}],
    ['09-pod-attachnet-spec-subnet.yaml', 'attachnet.default.ovn', { logicalSwitch: 'my-subnet' }],
    ['10-pod-attachnet-static-ip.yaml', 'attachnet.default.ovn', { logicalSwitch: 'my-subnet', ipAddresses: [ip('172.17.0.21')] }],
    ['11-pod-multi-nic-same-subnet.yaml', 'attachnet.default.ovn', { logicalSwitch: 'my-subnet' }],
    ['11-pod-multi-nic-same-subnet.yaml', 'ovn', { logicalSwitch: 'my-subnet' }],
  ])('%s asks provider %s for what the seed says', (file, provider, expected) => {
    expect(parsePodNetworkRequest(podAnnotations(file), { provider })).toEqual(E.right(expected));
  });

  it.each<[string, readonly string[]]>([
    ['ovn', ['10.16.0.15', '10.16.0.16', '10.16.0.17']],
    ['macvlan.default', ['172.17.0.200', '172.17.0.201', '172.17.0.202']],
  ])('05 gives provider %s a pool of three single entries', (provider, addresses) => {
    const deployment = decoded(Deployment, only('05-deployment-ip-pool.yaml'));
    const annotations = deployment.spec.template.metadata?.annotations ?? {};
    expect(parseNetworksAnnotation(annotations[NETWORKS_ANNOTATION] ?? '', 'default')).toEqual(E.right([{ name: 'macvlan', namespace: 'default' }]));
    expect(parsePodNetworkRequest(annotations, { provider })).toEqual(
      E.right({ ipPool: { kind: 'addresses', entries: addresses.map((a) => ({ v4: ip(a) })) } }),
    );
  });
});

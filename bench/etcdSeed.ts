// Seeding tens of thousands of allocated pods and their IP objects for the controller's restart
// benchmark (bench/controller.ts), written straight into the API server's etcd: through the API
// server, 150,000 creates take about four minutes on this machine (it is CPU-bound on
// admission, validation and encoding), straight into etcd about half a minute.
// Rules:
// - The first pod of a batch and its IP objects are created through the API server (the REST
//   chokepoint) and read back: every other object is a copy of those, with only its name, UID,
//   annotations, labels and spec changed, so what the API server serves is what it would have
//   stored itself (managedFields, creationTimestamp, finalizers and all). They are stored as JSON
//   under the API server's keys (`/registry/pods/<ns>/<name>`, `/registry/kubeovn.io/ips/<name>`);
//   the API server decodes JSON from etcd as it does its own protobuf, and its watch cache sees
//   them through its etcd watch.
// - Puts go through etcd's JSON gateway (`/v3/kv/txn`), TXN_OPS per transaction (etcd's default
//   --max-txn-ops), TXN_CONCURRENCY transactions at a time; a failed transaction rejects.
// - The caller checks the counts with a LIST afterwards (the floor's LIST does).
import { randomUUID } from 'node:crypto';
import type { Request } from '../src/adapters/kube/rest.js';
import type { ApiServer } from '../test/harness/apiserver.js';
import { annotationsOf, createIpObject, createPod, ipObjectOf, mapLimit, podBody, type Network } from './controllerWorkload.js';

const TXN_OPS = 128;
const TXN_CONCURRENCY = 8;

type Json = Record<string, unknown> & { metadata: Record<string, unknown> };

const b64 = (text: string): string => Buffer.from(text).toString('base64');

/** One etcd transaction of puts; rejects unless it succeeded. */
const putAll = async (etcdUrl: string, puts: readonly (readonly [string, unknown])[]): Promise<void> => {
  const body = JSON.stringify({ success: puts.map(([key, value]) => ({ requestPut: { key: b64(key), value: b64(JSON.stringify(value)) } })) });
  const res = await fetch(`${etcdUrl}/v3/kv/txn`, { method: 'POST', body });
  const text = await res.text();
  if (!res.ok || !(JSON.parse(text) as { succeeded?: boolean }).succeeded) throw new Error(`etcd txn of ${puts.length} puts: ${res.status} ${text.slice(0, 300)}`);
};

/** `template` with another name and UID, `metadata` and `fields` merged in, and without the
 *  resourceVersion the API server gave it (it comes from etcd's revision). */
const copyOf = (template: Json, name: string, uid: string, metadata: Readonly<Record<string, unknown>>, fields: Readonly<Record<string, unknown>> = {}): Json => {
  const { resourceVersion: _rv, ...meta } = template.metadata;
  return { ...template, ...fields, metadata: { ...meta, name, uid, ...metadata } };
};

/**
 * Pods `names[i]` in `ns` holding the `from + i`-th addresses of `nets` (annotated as the
 * controller writes them) and attaching `attachments`, with their IP objects; resolves with the
 * number of IP objects written.
 */
export const seedThroughEtcd = async (api: ApiServer, rest: Request, ns: string, names: readonly string[], from: number, nets: readonly Network[], attachments: readonly Network[]): Promise<number> => {
  const [first, ...others] = names;
  if (first === undefined) return 0;
  const uid = await createPod(rest, podBody(ns, first, attachments, annotationsOf(nets, from)));
  const ips = nets.map((n) => ipObjectOf(n, ns, first, uid, from));
  await Promise.all(ips.map((ip) => createIpObject(rest, ip)));
  const pod = (await rest('GET', `/api/v1/namespaces/${ns}/pods/${first}`)) as Json;
  const ip = (await rest('GET', `/apis/kubeovn.io/v1/ips/${ips[0]!.name}`)) as Json;
  const podAnnotations = pod.metadata['annotations'] as Record<string, string>;
  const puts: (readonly [string, unknown])[] = [];
  others.forEach((name, k) => {
    const i = from + 1 + k;
    const podUid = randomUUID();
    puts.push([`/registry/pods/${ns}/${name}`, copyOf(pod, name, podUid, { annotations: { ...podAnnotations, ...annotationsOf(nets, i) } })]);
    for (const n of nets) {
      const o = ipObjectOf(n, ns, name, podUid, i);
      puts.push([`/registry/kubeovn.io/ips/${o.name}`, copyOf(ip, o.name, randomUUID(), { labels: o.labels }, { spec: o.spec })]);
    }
  });
  const batches = Array.from({ length: Math.ceil(puts.length / TXN_OPS) }, (_, b) => puts.slice(b * TXN_OPS, (b + 1) * TXN_OPS));
  await mapLimit(batches, TXN_CONCURRENCY, (batch) => putAll(api.etcdUrl, batch));
  return names.length * nets.length;
};

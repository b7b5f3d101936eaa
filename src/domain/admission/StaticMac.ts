// The mutating rule (DESIGN §3.4, issue 12): Multus hands a MAC to the main plugin (macvlan,
// ipvlan, …) only from a network selection element's `mac`, so a static MAC of an IPAM-only
// network must be written into that element of `k8s.v1.cni.cncf.io/networks` before Multus
// reads it. The IPAM plugin never sets a MAC itself.
// Rules:
// - Only IPAM-only attachments (NAD with `"ipam": {"type": "kube-ovn"}`, provider `<nad>.<ns>`)
//   get a `mac`; OVN attachments and the default network do not (our own plugin sets the MAC
//   there), nor does an element whose NAD is missing or not ours.
// - The MAC is the one the controller records: the request of the network as the planner reads
//   it (PlanContext.requestOf: `<p>.kubernetes.io/mac_address`, the per-interface
//   `mac_address.<ifName>` of a NAD attached twice, else the element's own `mac`), written in
//   canonical lower case.
// - The annotation becomes its JSON form: every element kept in order with every field it had
//   (unknown ones too); a short-form item `[ns/]name[@if]` becomes an object with `name`, plus
//   `namespace` and `interface` only when the item wrote them.
// - No change is needed (no patch) when no element wants a MAC, when each element that does
//   already carries that MAC (in any spelling), or when the annotation or a MAC does not parse
//   (the validating rule denies those). So mutating a mutated pod gives no patch.
import * as E from 'fp-ts/lib/Either.js';
import { formatMac, parseMac } from '../Address.js';
import { indexNads, podNetworks } from '../Networks.js';
import { requestOf } from '../PlanContext.js';
import { parseJson } from '../schema/json.js';
import type { Pod } from '../schema/kube.js';
import { NETWORKS_ANNOTATION } from '../schema/keys.js';
import type { NetworkSelection } from '../schema/networks.js';
import { parseNetworksAnnotation } from '../schema/networks.js';
import type { Snapshot } from '../Snapshot.js';

/** A JSON Pointer token (RFC 6901): `~` as `~0`, `/` as `~1`. */
export const escapePointer = (token: string): string => token.replace(/~/g, '~0').replace(/\//g, '~1');

export const NETWORKS_PATH = `/metadata/annotations/${escapePointer(NETWORKS_ANNOTATION)}`;

type Element = Readonly<Record<string, unknown>>;

/** The NAD index of only the NADs the selections name: O(selections), not O(NADs). */
export const nadIndexFor = (snapshot: Snapshot, selections: readonly NetworkSelection[]) =>
  indexNads({
    ...snapshot,
    nads: new Map(selections.flatMap((sel) => {
      const key = `${sel.namespace}/${sel.name}`;
      const entry = snapshot.nads.get(key);
      return entry === undefined ? [] : [[key, entry] as const];
    })),
  });

/** The MAC each element should carry (undefined: leave it as it is), by element index. */
const wantedMacs = (snapshot: Snapshot, pod: Pod, selections: readonly NetworkSelection[]): readonly (bigint | undefined)[] => {
  const { networks } = podNetworks(nadIndexFor(snapshot, selections), pod);
  return selections.map((sel, i) => {
    const ifName = sel.interface ?? `net${i + 1}`;
    const net = networks.find((n) => n.nad === `${sel.namespace}/${sel.name}` && n.interface === ifName);
    if (net === undefined || net.isOvn) return undefined;
    const request = requestOf(pod, net);
    return E.isRight(request) ? request.right.mac : undefined;
  });
};

const carries = (sel: NetworkSelection | undefined, mac: bigint): boolean => {
  const own = sel?.mac === undefined ? undefined : parseMac(sel.mac);
  return own !== undefined && E.isRight(own) && own.right === mac;
};

/** The elements as written: the JSON form's objects, or objects made from the short form's
 *  items (the parser has accepted the value, so items and selections correspond one to one). */
const elementsOf = (value: string, selections: readonly NetworkSelection[]): readonly Element[] | undefined => {
  // The parser's own test for the JSON form (schema/networks.ts).
  if (/[[{"]/.test(value)) {
    const json = parseJson(value);
    return E.isRight(json) && Array.isArray(json.right) ? (json.right as Element[]) : undefined;
  }
  return value.split(',').map((raw, i): Element => {
    const sel = selections[i]!;
    const item = raw.trim();
    const slash = item.indexOf('/');
    const wroteNamespace = slash >= 0 && item.slice(0, slash).trim() !== '';
    return { name: sel.name, ...(wroteNamespace && { namespace: sel.namespace }), ...(sel.interface !== undefined && { interface: sel.interface }) };
  });
};

/** The new value of the networks annotation (JSON), or undefined when the pod needs none. */
export const networksWithStaticMacs = (snapshot: Snapshot, pod: Pod): string | undefined => {
  const value = pod.metadata.annotations?.[NETWORKS_ANNOTATION];
  if (value === undefined) return undefined;
  const parsed = parseNetworksAnnotation(value, pod.metadata.namespace ?? 'default');
  if (E.isLeft(parsed)) return undefined;
  const selections = parsed.right;
  const wanted = wantedMacs(snapshot, pod, selections);
  const changes = wanted.map((mac, i) => (mac !== undefined && !carries(selections[i], mac) ? mac : undefined));
  if (changes.every((mac) => mac === undefined)) return undefined;
  const elements = elementsOf(value, selections);
  if (elements === undefined || elements.length !== selections.length) return undefined;
  const next = elements.map((element, i) => {
    const mac = changes[i];
    return mac === undefined ? element : { ...element, mac: formatMac(mac) };
  });
  return JSON.stringify(next);
};

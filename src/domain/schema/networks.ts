// The pod annotation `k8s.v1.cni.cncf.io/networks`, parsed as Multus's network-attachment-
// definition-client `ParseNetworkAnnotation` does (behaviour §1.2, DESIGN.md §3.1).
// Rules:
// - A value containing `[`, `{` or `"` is a JSON array of network selection elements (`name`
//   required and non-empty; `namespace`, `interface`, `ips`, `mac`, `default-route` optional).
// - Otherwise it is a comma list of `[namespace/]name[@interface]`, each item trimmed; more than
//   one `/` or `@` is an error, and every non-empty part must be a DNS-1123 label.
// - An empty namespace means the pod's; an empty interface means "unnamed" (net1, net2, … later).
// - Stricter than the original where it would only fail later: an empty value, an empty item
//   and an element without a name are errors here.
// - All problems are reported in one error, joined with "; ", each naming its item or path.
// - The JSON form nests at most MAX_NETWORKS_DEPTH deep (an element's `cni-args` may hold
//   objects; nothing needs more): deeper text is an error before it is parsed, so nothing that
//   writes the elements back (the webhook's static MAC) can overflow the stack.
import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import { decodeAt, formatProblems, quote } from './decode.js';
import { nestingDepth, parseJson } from './json.js';
import { invalidAnnotation, NETWORKS_ANNOTATION, type InvalidAnnotation } from './keys.js';
import { dns1123LabelRule, isDns1123Label } from './names.js';
import { strings, struct } from './primitives.js';

export interface NetworkSelection {
  readonly name: string;
  readonly namespace: string;
  readonly interface?: string;
  readonly ips?: readonly string[];
  readonly mac?: string;
}

export const NetworkSelectionElement = struct(
  { name: t.string },
  { namespace: t.string, interface: t.string, ips: strings, mac: t.string, 'default-route': strings },
);
export type NetworkSelectionElement = t.TypeOf<typeof NetworkSelectionElement>;

const NetworkSelectionElements = t.readonlyArray(NetworkSelectionElement);

/** A form's problem, as the detail of the annotation's error. */
const fail = (detail: string): E.Either<string, never> => E.left(detail);

const selection = (
  name: string,
  namespace: string,
  extra: { readonly interface?: string | undefined; readonly ips?: readonly string[] | undefined; readonly mac?: string | undefined },
): NetworkSelection => ({
  name,
  namespace,
  ...(extra.interface !== undefined && extra.interface !== '' && { interface: extra.interface }),
  ...(extra.ips !== undefined && { ips: extra.ips }),
  ...(extra.mac !== undefined && extra.mac !== '' && { mac: extra.mac }),
});

/** How deep the JSON form may nest. */
export const MAX_NETWORKS_DEPTH = 64;

const parseJsonForm = (value: string, podNamespace: string): E.Either<string, readonly NetworkSelection[]> => {
  const depth = nestingDepth(value);
  if (depth > MAX_NETWORKS_DEPTH) return fail(`nests ${depth} levels deep (at most ${MAX_NETWORKS_DEPTH})`);
  const parsed = parseJson(value);
  if (E.isLeft(parsed)) return fail(parsed.left.message);
  const decoded = decodeAt(NetworkSelectionElements, parsed.right, '');
  if (E.isLeft(decoded)) return fail(formatProblems(decoded.left));
  const unnamed = decoded.right.flatMap((element, i) => (element.name === '' ? [`[${i}].name: is empty`] : []));
  if (unnamed.length > 0) return fail(unnamed.join('; '));
  return E.right(
    decoded.right.map((element) =>
      selection(element.name, element.namespace === undefined || element.namespace === '' ? podNamespace : element.namespace, element),
    ),
  );
};

const listSyntax = 'expected [namespace/]name[@interface]';

/** Parses one trimmed item of the comma form, or says what is wrong with it. */
const parseItem = (item: string, podNamespace: string): E.Either<readonly string[], NetworkSelection> => {
  const slashParts = item.split('/');
  if (slashParts.length > 2) return E.left([`${quote(item)} has more than one "/" (${listSyntax})`]);
  const [namespace, rest] = slashParts.length === 2 ? [slashParts[0]!.trim(), slashParts[1]!] : ['', slashParts[0]!];
  const atParts = rest.split('@');
  if (atParts.length > 2) return E.left([`${quote(item)} has more than one "@" (${listSyntax})`]);
  const name = atParts[0]!.trim();
  const ifName = (atParts[1] ?? '').trim();
  const problems: string[] = [];
  if (name === '') problems.push(`${quote(item)} has no network name (${listSyntax})`);
  for (const [what, part] of [['namespace', namespace], ['network name', name], ['interface name', ifName]] as const) {
    if (part !== '' && !isDns1123Label(part)) problems.push(`${quote(item)}: ${what} ${quote(part)} is not valid (${dns1123LabelRule})`);
  }
  if (problems.length > 0) return E.left(problems);
  return E.right(selection(name, namespace === '' ? podNamespace : namespace, { interface: ifName }));
};

const parseListForm = (value: string, podNamespace: string): E.Either<string, readonly NetworkSelection[]> => {
  const problems: string[] = [];
  const out: NetworkSelection[] = [];
  value.split(',').forEach((raw, i) => {
    const item = raw.trim();
    if (item === '') {
      problems.push(`item ${i + 1} is empty`);
      return;
    }
    const parsed = parseItem(item, podNamespace);
    if (E.isLeft(parsed)) problems.push(...parsed.left);
    else out.push(parsed.right);
  });
  return problems.length > 0 ? fail(problems.join('; ')) : E.right(out);
};

/** Parses the networks annotation of a pod in `podNamespace`, in the order written. The same
 *  syntax serves `v1.multus-cni.io/default-network`: `annotation` names the one read, for the
 *  error. */
export const parseNetworksAnnotation = (
  value: string,
  podNamespace: string,
  annotation: string = NETWORKS_ANNOTATION,
): E.Either<InvalidAnnotation, readonly NetworkSelection[]> => {
  const parsed = value.trim() === '' ? fail('is empty') : /[[{"]/.test(value) ? parseJsonForm(value, podNamespace) : parseListForm(value, podNamespace);
  return E.mapLeft((detail: string) => invalidAnnotation(annotation, detail))(parsed);
};

// Routes as Kube-OVN's CNI request carries them (`[{"dst": "10.0.0.0/8", "gw": "1.2.3.4"}]`),
// from a NAD config or a `<p>.kubernetes.io/routes` annotation.
// Rules: both fields are optional and an empty string counts as absent, but a route needs at
// least one of them (`gw` alone is a default route, `dst` alone an on-link route). `dst` is a
// CIDR without host bits, `gw` a bare address of the same family. Output is canonical (IPv6
// compressed, lower case), so routes compare as strings.
import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { familyBits, familyName, formatAddress, parseAddress, type Family } from '../Address.js';
import { decodeAt, joinPath, quote, type Problem } from './decode.js';
import { struct } from './primitives.js';

export interface Route {
  readonly dst?: string;
  readonly gw?: string;
}

/** The shape of a route before its strings are checked. */
export const RouteShape = struct({}, { dst: t.string, gw: t.string });
export type RouteShape = t.TypeOf<typeof RouteShape>;

export const RouteShapes = t.readonlyArray(RouteShape);

export interface CanonicalCidr {
  readonly family: Family;
  readonly text: string;
}

/** Checks `address/prefix` and returns it canonical; host bits must be zero. */
export const canonicalCidr = (text: string): E.Either<string, CanonicalCidr> => {
  const parts = text.split('/');
  if (parts.length !== 2) {
    return E.left(`${quote(text)} is not a CIDR (expected an address and a prefix length, like 10.0.0.0/16)`);
  }
  const [addressText = '', prefixText = ''] = parts;
  const parsed = parseAddress(addressText);
  if (E.isLeft(parsed)) return E.left(`${quote(text)} is not a CIDR: ${parsed.left}`);
  const address = parsed.right;
  const bits = familyBits(address.family);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText) || Number(prefixText) > bits) {
    return E.left(`${quote(text)} has an invalid prefix length (expected 0 to ${bits})`);
  }
  const prefix = Number(prefixText);
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  const network = { family: address.family, value: address.value & ~hostMask };
  if (network.value !== address.value) {
    return E.left(`${quote(text)} has host bits set (the network is ${formatAddress(network)}/${prefix})`);
  }
  return E.right({ family: address.family, text: `${formatAddress(address)}/${prefix}` });
};

const present = (text: string | undefined): text is string => text !== undefined && text !== '';

/** Checks one route; problems are named below `path` (e.g. `spec.config.routes[1]`). */
const checkRoute = (route: RouteShape, path: string): E.Either<readonly Problem[], Route> => {
  if (!present(route.dst) && !present(route.gw)) return E.left([{ path, message: 'has neither dst nor gw' }]);
  const problems: Problem[] = [];
  let dst: CanonicalCidr | undefined;
  let gw: { readonly family: Family; readonly text: string } | undefined;
  if (present(route.dst)) {
    const cidr = canonicalCidr(route.dst);
    if (E.isLeft(cidr)) problems.push({ path: `${path}.dst`, message: cidr.left });
    else dst = cidr.right;
  }
  if (present(route.gw)) {
    const address = parseAddress(route.gw);
    if (E.isLeft(address)) problems.push({ path: `${path}.gw`, message: address.left });
    else gw = { family: address.right.family, text: formatAddress(address.right) };
  }
  if (dst !== undefined && gw !== undefined && dst.family !== gw.family) {
    problems.push({
      path,
      message: `gw ${gw.text} is ${familyName(gw.family)} but dst ${dst.text} is ${familyName(dst.family)}`,
    });
  }
  if (problems.length > 0) return E.left(problems);
  return E.right({ ...(dst && { dst: dst.text }), ...(gw && { gw: gw.text }) });
};

/** Checks decoded routes, collecting every problem; `basePath` names the list. */
export const checkRoutes = (
  routes: readonly RouteShape[],
  basePath: string,
): E.Either<readonly Problem[], readonly Route[]> => {
  const problems: Problem[] = [];
  const out: Route[] = [];
  routes.forEach((route, i) => {
    const checked = checkRoute(route, joinPath(basePath, `[${i}]`));
    if (E.isLeft(checked)) problems.push(...checked.left);
    else out.push(checked.right);
  });
  return problems.length > 0 ? E.left(problems) : E.right(out);
};

/** Decodes and checks a JSON value that should be a list of routes. */
export const decodeRoutes = (value: unknown, basePath: string): E.Either<readonly Problem[], readonly Route[]> =>
  pipe(
    decodeAt(RouteShapes, value, basePath),
    E.chain((routes) => checkRoutes(routes, basePath)),
  );

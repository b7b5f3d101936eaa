// The CNI configuration inside a NetworkAttachmentDefinition's `spec.config`.
// Rules (DESIGN.md §3.1, behaviour §1.1):
// - The config is one plugin (`{"type": …}`) or a conflist (`{"plugins": [ … ]}`).
// - kind `kube-ovn` when any plugin has `"type": "kube-ovn"`; else `kube-ovn-ipam` when any plugin
//   has `"ipam": {"type": "kube-ovn"}`; else `other` (not ours: nothing more is read).
// - `provider`, `server_socket` and `routes` come from the kube-ovn plugin itself, or from the
//   `ipam` section of the plugin that delegates IPAM to us. An empty string counts as absent.
// - `mainType` is the type of that plugin (of the first plugin for `other`).
// - Every problem is named by its path below `spec.config` (`spec.config.plugins[0].ipam.routes[1].gw`);
//   JSON that does not parse is named `spec.config` with the line and column of the error.
import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { decodeAt, decodeFailure, joinPath, type DecodeFailure, type Problem } from './decode.js';
import { parseJson } from './json.js';
import { struct } from './primitives.js';
import { checkRoutes, RouteShapes, type Route } from './route.js';

export type NetConfKind = 'kube-ovn' | 'kube-ovn-ipam' | 'other';

export interface NetConf {
  readonly cniVersion?: string;
  readonly kind: NetConfKind;
  readonly mainType: string;
  readonly provider?: string;
  readonly serverSocket?: string;
  readonly routes: readonly Route[];
}

export const KUBE_OVN_TYPE = 'kube-ovn';

const CONFIG_PATH = 'spec.config';

const Plugin = struct({ type: t.string }, { ipam: t.UnknownRecord });
type Plugin = t.TypeOf<typeof Plugin>;

const SinglePlugin = struct({ type: t.string }, { cniVersion: t.string, ipam: t.UnknownRecord });
const ConfList = struct({ plugins: t.readonlyArray(Plugin) }, { cniVersion: t.string });

const KubeOvnSection = struct({}, { provider: t.string, server_socket: t.string, routes: RouteShapes });

interface Located {
  readonly plugin: Plugin;
  readonly path: string;
}

interface Envelope {
  readonly cniVersion: string | undefined;
  readonly plugins: readonly Located[];
}

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === 'object' && u !== null && !Array.isArray(u);

/** Reads the single-plugin or conflist envelope: every plugin with its path. */
const readEnvelope = (config: unknown): E.Either<readonly Problem[], Envelope> => {
  if (isRecord(config) && 'plugins' in config) {
    return pipe(
      decodeAt(ConfList, config, CONFIG_PATH),
      E.chain((list) =>
        list.plugins.length === 0
          ? E.left([{ path: `${CONFIG_PATH}.plugins`, message: 'is empty (a conflist needs at least one plugin)' }])
          : E.right({
              cniVersion: list.cniVersion,
              plugins: list.plugins.map((plugin, i) => ({ plugin, path: `${CONFIG_PATH}.plugins[${i}]` })),
            }),
      ),
    );
  }
  return pipe(
    decodeAt(SinglePlugin, config, CONFIG_PATH),
    E.map((plugin) => ({ cniVersion: plugin.cniVersion, plugins: [{ plugin, path: CONFIG_PATH }] })),
  );
};

interface Section {
  readonly kind: Exclude<NetConfKind, 'other'>;
  readonly mainType: string;
  readonly value: unknown;
  readonly path: string;
}

/** Finds the section that configures us: a kube-ovn plugin first, else a kube-ovn ipam. */
const findSection = (plugins: readonly Located[]): Section | undefined => {
  const main = plugins.find((p) => p.plugin.type === KUBE_OVN_TYPE);
  if (main) return { kind: 'kube-ovn', mainType: main.plugin.type, value: main.plugin, path: main.path };
  const delegating = plugins.find((p) => p.plugin.ipam?.['type'] === KUBE_OVN_TYPE);
  if (delegating) {
    return { kind: 'kube-ovn-ipam', mainType: delegating.plugin.type, value: delegating.plugin.ipam, path: `${delegating.path}.ipam` };
  }
  return undefined;
};

const nonEmpty = (text: string | undefined): string | undefined => (text === '' ? undefined : text);

const readSection = (envelope: Envelope, section: Section): E.Either<readonly Problem[], NetConf> =>
  pipe(
    decodeAt(KubeOvnSection, section.value, section.path),
    E.chain((fields) =>
      pipe(
        checkRoutes(fields.routes ?? [], joinPath(section.path, '.routes')),
        E.map((routes): NetConf => {
          const provider = nonEmpty(fields.provider);
          const serverSocket = nonEmpty(fields.server_socket);
          return {
            ...(envelope.cniVersion !== undefined && { cniVersion: envelope.cniVersion }),
            kind: section.kind,
            mainType: section.mainType,
            ...(provider !== undefined && { provider }),
            ...(serverSocket !== undefined && { serverSocket }),
            routes,
          };
        }),
      ),
    ),
  );

/** Parses a NAD's `spec.config`; `what` names the NAD (`NetworkAttachmentDefinition "default/macvlan"`). */
export const parseNetConf = (configJson: string, what: string): E.Either<DecodeFailure, NetConf> =>
  pipe(
    configJson.trim() === ''
      ? E.left<readonly Problem[]>([{ path: CONFIG_PATH, message: 'is empty (Multus then reads the configuration from a file on the node, which the IPAM cannot read)' }])
      : E.mapLeft((error: { message: string }): readonly Problem[] => [{ path: CONFIG_PATH, message: error.message }])(parseJson(configJson)),
    E.chain(readEnvelope),
    E.chain((envelope) => {
      const section = findSection(envelope.plugins);
      if (section !== undefined) return readSection(envelope, section);
      return E.right<readonly Problem[], NetConf>({
        ...(envelope.cniVersion !== undefined && { cniVersion: envelope.cniVersion }),
        kind: 'other',
        mainType: envelope.plugins[0]?.plugin.type ?? '',
        routes: [],
      });
    }),
    E.mapLeft((problems) => decodeFailure(what, problems)),
  );

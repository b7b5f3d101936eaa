// Applying a node plan (NodePlanner's actions) through the Netlink and Ovs ports, in order; the
// first failure stops it, as an ActionFailed naming the action, its reason and the cause.
// Consecutive link writes in one namespace (a veth pair, link changes, addresses, routes) go
// to Netlink as one `write`, so they cost one process, not one each. An AddOvsPort right after
// link writes is applied after the link writes of that same namespace that follow it (the veth
// pair, then the host end up and the container end moved: one process, not two): OVS takes a
// port whose link exists (the writes before it made it), and none of those writes depends on
// the port. Everything else keeps the plan's order.
import type { NodeAction } from '../domain/cni/NodePlanner.js';
import type { LinkWrite, Netlink, Ovs } from './nodePorts.js';
import { LinkWriteFailed } from './nodePorts.js';
import type { Log } from './ports.js';

export class ActionFailed extends Error {
  constructor(readonly action: NodeAction, cause: unknown) {
    super(`${action.type} ${action.target} (${action.reason}): ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** The actions that are link writes (Netlink.write); the rest go one call each. */
type LinkAction = Extract<NodeAction, { readonly type: 'CreateVethPair' | 'SetLink' | 'ReplaceAddresses' | 'AddRoute' }>;
type OtherAction = Exclude<NodeAction, LinkAction>;

const LINK_ACTIONS: ReadonlySet<NodeAction['type']> = new Set(['CreateVethPair', 'SetLink', 'ReplaceAddresses', 'AddRoute']);
const isLinkAction = (a: NodeAction): a is LinkAction => LINK_ACTIONS.has(a.type);

/** The namespace a link write runs in. */
const netnsOf = (a: LinkAction): string | undefined => (a.type === 'CreateVethPair' ? a.host.netns : a.link.netns);

const linkWriteOf = (a: LinkAction): LinkWrite => {
  switch (a.type) {
    case 'CreateVethPair': return { kind: 'addVethPair', name: a.host.name, peer: a.peer, mtu: a.mtu };
    case 'SetLink': return { kind: 'setLink', name: a.link.name, changes: a.changes };
    case 'ReplaceAddresses': return { kind: 'replaceAddresses', name: a.link.name, addresses: a.addresses };
    case 'AddRoute': return { kind: 'addRoute', name: a.link.name, route: { ...a.route, src: a.src, table: a.table } };
  }
};

/** Consecutive link writes in one namespace make one step; every other action is a step alone. */
type Step = { readonly kind: 'links'; readonly netns: string | undefined; readonly actions: LinkAction[] } | { readonly kind: 'one'; readonly actions: readonly [OtherAction] };

const stepsOf = (actions: readonly NodeAction[]): Step[] => {
  const steps: Step[] = [];
  // An AddOvsPort held back behind the link writes of the namespace before it (see above).
  let held: OtherAction | undefined;
  const release = (): void => {
    if (held !== undefined) steps.push({ kind: 'one', actions: [held] });
    held = undefined;
  };
  for (const action of actions) {
    const last = steps[steps.length - 1];
    if (!isLinkAction(action)) {
      if (action.type === 'AddOvsPort' && held === undefined && last?.kind === 'links') {
        held = action;
        continue;
      }
      release();
      steps.push({ kind: 'one', actions: [action] });
    } else if (last?.kind === 'links' && last.netns === netnsOf(action)) {
      last.actions.push(action);
    } else {
      release();
      steps.push({ kind: 'links', netns: netnsOf(action), actions: [action] });
    }
  }
  release();
  return steps;
};

const applyOne = async (netlink: Netlink, ovs: Ovs, action: OtherAction): Promise<void> => {
  switch (action.type) {
    case 'DeleteLink': return netlink.deleteLink(action.link);
    case 'AddOvsPort': return ovs.addPort(action.bridge, action.target, action.externalIds);
    case 'DeleteOvsPort': return ovs.delPort(action.bridge, action.target);
    case 'SetSourceRules': return netlink.setSourceRules(action.netns, action.table, action.priority, action.sources);
    case 'DeleteDefaultRoutes': return netlink.deleteDefaultRoutes(action.netns, action.family);
    case 'WaitOvnInstalled': return ovs.waitInstalled(action.target, action.timeoutMs);
  }
};

export async function applyNodeActions(deps: { readonly netlink: Netlink; readonly ovs: Ovs; readonly log: Log }, actions: readonly NodeAction[]): Promise<void> {
  const { netlink, ovs } = deps;
  for (const step of stepsOf(actions)) {
    for (const a of step.actions) deps.log.debug('apply', { type: a.type, target: a.target, reason: a.reason });
    try {
      if (step.kind === 'one') await applyOne(netlink, ovs, step.actions[0]);
      else await netlink.write(step.netns, step.actions.map(linkWriteOf));
    } catch (err) {
      throw new ActionFailed((err instanceof LinkWriteFailed ? step.actions[err.index] : undefined) ?? step.actions[0], err);
    }
  }
}

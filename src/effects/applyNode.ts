// Applying a node plan (NodePlanner's actions) through the Netlink and Ovs ports, in order; the
// first failure stops it, as an ActionFailed naming the action, its reason and the cause.
// Consecutive link writes in one namespace (a veth pair, link changes, addresses, routes) go
// to Netlink as one `write`, so they cost one process, not one each.
import type { NodeAction } from '../domain/cni/NodePlanner.js';
import type { LinkWrite, Netlink, Ovs } from './nodePorts.js';
import { LinkWriteFailed } from './nodePorts.js';
import type { Log } from './ports.js';

export class ActionFailed extends Error {
  constructor(readonly action: NodeAction, cause: unknown) {
    super(`${action.type} ${action.target} (${action.reason}): ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** The link write an action is, and the namespace it runs in; undefined for the others. */
const linkWriteOf = (a: NodeAction): { readonly netns: string | undefined; readonly write: LinkWrite } | undefined => {
  switch (a.type) {
    case 'CreateVethPair': return { netns: a.host.netns, write: { kind: 'addVethPair', name: a.host.name, peer: a.peer, mtu: a.mtu } };
    case 'SetLink': return { netns: a.link.netns, write: { kind: 'setLink', name: a.link.name, changes: a.changes } };
    case 'ReplaceAddresses': return { netns: a.link.netns, write: { kind: 'replaceAddresses', name: a.link.name, addresses: a.addresses } };
    case 'AddRoute': return { netns: a.link.netns, write: { kind: 'addRoute', name: a.link.name, route: { ...a.route, src: a.src, table: a.table } } };
    default: return undefined;
  }
};

type Step =
  | { readonly kind: 'links'; readonly netns: string | undefined; readonly actions: NodeAction[]; readonly writes: LinkWrite[] }
  | { readonly kind: 'one'; readonly action: NodeAction };

const stepsOf = (actions: readonly NodeAction[]): Step[] => {
  const steps: Step[] = [];
  for (const action of actions) {
    const lw = linkWriteOf(action);
    const last = steps[steps.length - 1];
    if (lw === undefined) steps.push({ kind: 'one', action });
    else if (last?.kind === 'links' && last.netns === lw.netns) {
      last.actions.push(action);
      last.writes.push(lw.write);
    } else steps.push({ kind: 'links', netns: lw.netns, actions: [action], writes: [lw.write] });
  }
  return steps;
};

const applyOne = async (netlink: Netlink, ovs: Ovs, action: NodeAction): Promise<void> => {
  switch (action.type) {
    case 'DeleteLink': return netlink.deleteLink(action.link);
    case 'AddOvsPort': return ovs.addPort(action.bridge, action.target, action.externalIds);
    case 'DeleteOvsPort': return ovs.delPort(action.bridge, action.target);
    case 'SetSourceRules': return netlink.setSourceRules(action.netns, action.table, action.priority, action.sources);
    case 'DeleteDefaultRoutes': return netlink.deleteDefaultRoutes(action.netns, action.family);
    case 'WaitOvnInstalled': return ovs.waitInstalled(action.target, action.timeoutMs);
    default: {
      // A link write on its own (stepsOf never makes this; kept total for the type checker).
      const lw = linkWriteOf(action);
      if (lw !== undefined) return netlink.write(lw.netns, [lw.write]);
    }
  }
};

export async function applyNodeActions(deps: { readonly netlink: Netlink; readonly ovs: Ovs; readonly log: Log }, actions: readonly NodeAction[]): Promise<void> {
  const { netlink, ovs } = deps;
  for (const step of stepsOf(actions)) {
    if (step.kind === 'one') {
      deps.log.debug('apply', { type: step.action.type, target: step.action.target, reason: step.action.reason });
      try {
        await applyOne(netlink, ovs, step.action);
      } catch (err) {
        throw new ActionFailed(step.action, err);
      }
      continue;
    }
    for (const a of step.actions) deps.log.debug('apply', { type: a.type, target: a.target, reason: a.reason });
    try {
      await netlink.write(step.netns, step.writes);
    } catch (err) {
      const failed = err instanceof LinkWriteFailed ? step.actions[err.index] ?? step.actions[0]! : step.actions[0]!;
      throw new ActionFailed(failed, err);
    }
  }
}

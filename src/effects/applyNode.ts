// Applying a node plan (NodePlanner's actions) through the Netlink and Ovs ports, in order; the
// first failure stops it, as an ActionFailed naming the action, its reason and the cause.
import type { NodeAction } from '../domain/cni/NodePlanner.js';
import type { Netlink, Ovs } from './nodePorts.js';
import type { Log } from './ports.js';

export class ActionFailed extends Error {
  constructor(readonly action: NodeAction, cause: unknown) {
    super(`${action.type} ${action.target} (${action.reason}): ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

export async function applyNodeActions(deps: { readonly netlink: Netlink; readonly ovs: Ovs; readonly log: Log }, actions: readonly NodeAction[]): Promise<void> {
  const { netlink, ovs } = deps;
  for (const action of actions) {
    deps.log.debug('apply', { type: action.type, target: action.target, reason: action.reason });
    try {
      switch (action.type) {
        case 'DeleteLink': await netlink.deleteLink(action.link); break;
        case 'CreateVethPair': await netlink.addVethPair(action.host, action.peer, action.mtu); break;
        case 'AddOvsPort': await ovs.addPort(action.bridge, action.target, action.externalIds); break;
        case 'DeleteOvsPort': await ovs.delPort(action.bridge, action.target); break;
        case 'SetLink': await netlink.setLink(action.link, action.changes); break;
        case 'ReplaceAddresses': await netlink.replaceAddresses(action.link, action.addresses); break;
        case 'AddRoute': await netlink.addRoute(action.link, { ...action.route, src: action.src, table: action.table }); break;
        case 'SetSourceRules': await netlink.setSourceRules(action.netns, action.table, action.priority, action.sources); break;
        case 'DeleteDefaultRoutes': await netlink.deleteDefaultRoutes(action.netns, action.family); break;
        case 'WaitOvnInstalled': await ovs.waitInstalled(action.target, action.timeoutMs); break;
      }
    } catch (err) {
      throw new ActionFailed(action, err);
    }
  }
}

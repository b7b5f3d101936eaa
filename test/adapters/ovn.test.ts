// The Ovn adapter (src/adapters/ovn.ts) against a real OVN NB database (root; nb-only): many
// pod plans' batches at once, each ensuring its switch, the router and its router port, leave
// exactly one router and one switch per name (OVN keeps neither name unique, and two
// concurrent `--may-exist lr-add`s both insert without the adapter's one creator per name);
// the router is read back as the audit sees it.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { makeOvn } from '../../src/adapters/ovn.js';
import type { OvnAction } from '../../src/domain/Plan.js';
import { quietLog } from '../harness/inProcess.js';
import { startOvs, type OvsEnv } from '../harness/ovs.js';
import { describeAsRoot } from '../harness/root.js';

const BATCHES = 12;
const batch = (i: number, subnet: string): OvnAction[] => [
  { type: 'EnsureLogicalSwitch', target: subnet, reason: 'test', logicalSwitch: { cidr: `10.${i}.0.0/24`, excludeIps: [] } },
  { type: 'EnsureLogicalRouter', target: 'ovn-cluster', reason: 'test' },
  {
    type: 'EnsureLogicalRouterPort', target: `ovn-cluster-${subnet}`, reason: 'test',
    routerPort: { router: 'ovn-cluster', logicalSwitch: subnet, switchPort: `${subnet}-ovn-cluster`, mac: `0a:00:00:00:00:${String(i).padStart(2, '0')}`, networks: [`10.${i}.0.1/24`] },
  },
];

describeAsRoot('adapter-ovn')('the Ovn adapter on a real NB', () => {
  let ovs: OvsEnv;
  beforeAll(async () => {
    ovs = await startOvs({ ovn: 'nb-only' });
  }, 60_000);
  afterAll(() => ovs?.stop(), 30_000);

  it('concurrent batches that each ensure the router and a switch (two per switch) make one router and one switch per name', async () => {
    const ovn = makeOvn({ db: ovs.db.nb!, log: quietLog() });
    const subnets = Array.from({ length: BATCHES }, (_, i) => `s${i % (BATCHES / 2)}`);
    await Promise.all(subnets.map((s) => ovn.transact(batch(Number(s.slice(1)) + 10, s))));
    expect(await ovs.nbctl('--bare', '--columns=name', 'find', 'Logical_Router', 'name=ovn-cluster')).toEqual('ovn-cluster');
    const switches = (await ovs.nbctl('--bare', '--columns=name', 'list', 'Logical_Switch')).split('\n').filter((x) => x !== '').sort();
    expect(switches).toEqual(['s0', 's1', 's2', 's3', 's4', 's5']);
    const router = await ovn.listRouter();
    expect(router.router).toEqual({ externalIds: { vendor: 'kube-ovn' } });
    expect(router.ports.map((p) => `${p.name} ${p.mac} ${p.networks.join(',')}`)).toEqual(
      [0, 1, 2, 3, 4, 5].map((n) => `ovn-cluster-s${n} 0a:00:00:00:00:${n + 10} 10.${n + 10}.0.1/24`));
    expect(router.peers.map((p) => p.name)).toEqual([0, 1, 2, 3, 4, 5].map((n) => `s${n}-ovn-cluster`));
    // The peers are the router's: the pod-port listing leaves them out.
    expect(await ovn.listPorts()).toEqual([]);
  }, 60_000);
});

// A synthetic cluster for the planner benchmarks: `pods` pods with three networks each (eth0,
// an IPAM-only macvlan attachment and an OVN attachment) in 100 subnets: per namespace an OVN
// subnet for eth0 (chosen by the namespace's logical_switch annotation), a macvlan subnet and
// an OVN attachment subnet; plus ovn-default. A tenth of the pods ask for a static eth0 address.
const NAMESPACES = 33;

export const plannerObjects = (pods: number): unknown[] => {
  const objects: unknown[] = [{ apiVersion: 'kubeovn.io/v1', kind: 'Subnet', metadata: { name: 'ovn-default' }, spec: { cidrBlock: '10.250.0.0/16', provider: 'ovn' } }];
  for (let i = 0; i < NAMESPACES; i++) {
    const ns = `ns-${i}`;
    objects.push(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, annotations: { 'ovn.kubernetes.io/logical_switch': `eth-${i}` } } },
      { apiVersion: 'kubeovn.io/v1', kind: 'Subnet', metadata: { name: `eth-${i}` }, spec: { cidrBlock: `10.${i}.0.0/16`, provider: 'ovn' } },
      { apiVersion: 'kubeovn.io/v1', kind: 'Subnet', metadata: { name: `mv-${i}` }, spec: { cidrBlock: `11.${i}.0.0/16`, provider: `mv.${ns}`, excludeIps: [`11.${i}.0.1..11.${i}.0.10`] } },
      { apiVersion: 'kubeovn.io/v1', kind: 'Subnet', metadata: { name: `att-${i}` }, spec: { cidrBlock: `12.${i}.0.0/16`, provider: `att.${ns}.ovn` } },
      { apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name: 'mv', namespace: ns }, spec: { config: JSON.stringify({ cniVersion: '0.3.1', type: 'macvlan', master: 'eth0', ipam: { type: 'kube-ovn', server_socket: '/run/openvswitch/kube-ovn-daemon.sock', provider: `mv.${ns}` } }) } },
      { apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name: 'att', namespace: ns }, spec: { config: JSON.stringify({ cniVersion: '0.3.1', type: 'kube-ovn', server_socket: '/run/openvswitch/kube-ovn-daemon.sock', provider: `att.${ns}.ovn` }) } },
    );
  }
  for (let p = 0; p < pods; p++) {
    const i = p % NAMESPACES;
    const annotations: Record<string, string> = { 'k8s.v1.cni.cncf.io/networks': 'mv,att' };
    if (p % 10 === 0) annotations['ovn.kubernetes.io/ip_address'] = `10.${i}.${200 + (Math.floor(p / NAMESPACES) % 50)}.${1 + (Math.floor(p / NAMESPACES / 50) % 250)}`;
    objects.push({
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name: `pod-${p}`, namespace: `ns-${i}`, uid: `00000000-0000-4000-8000-${String(p).padStart(12, '0')}`, creationTimestamp: new Date(Date.UTC(2026, 0, 1) + p * 1000).toISOString().replace('.000', ''), annotations },
      spec: { nodeName: `node-${p % 10}` },
    });
  }
  return objects;
};

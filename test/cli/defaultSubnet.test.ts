// The controller's default Subnet (Kube-OVN's --default-ls/--default-cidr/--default-gateway/
// --default-exclude-ips): the flags are checked in-process with exact messages; the built
// controller, against a real kube-apiserver, creates the Subnet with exactly the spec the flags
// say when none of that name exists, before it allocates (a pod waiting for it gets its address
// from it), and leaves an existing one of another CIDR untouched.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import { runCli } from '../../src/cli/commands.js';
import { defaultSubnetOf } from '../../src/cli/controller.js';
import type { CliIo } from '../../src/cli/io.js';
import { startApiServer, type ApiServer } from '../harness/apiserver.js';
import { buildCli, startController, type ControllerProcess } from '../harness/controllerProcess.js';
import { waitFor } from '../harness/exec.js';

const captured = (): CliIo & { out: string; err: string } => {
  const io = { out: '', err: '', stdout: (t: string) => void (io.out += t), stderr: (t: string) => void (io.err += t), readStdin: async () => '' };
  return io;
};

describe('controller --default-* flags', () => {
  it.each<[string, Parameters<typeof defaultSubnetOf>[0], unknown]>([
    ['no --default-cidr: no Subnet', { name: 'ovn-default', cidr: '' }, undefined],
    ['IPv4 with the first address as gateway', { name: 'ovn-default', cidr: '10.16.0.0/16' },
      { name: 'ovn-default', spec: { protocol: 'IPv4', provider: 'ovn', cidrBlock: '10.16.0.0/16', gateway: '10.16.0.1' } }],
    ['dual stack, gateways and excludes as given', { name: 'net', cidr: '10.16.0.0/16,fd00:10:16::/64', gateway: '10.16.0.254', excludeIps: '10.16.0.2..10.16.0.10, fd00:10:16::5' },
      { name: 'net', spec: { protocol: 'Dual', provider: 'ovn', cidrBlock: '10.16.0.0/16,fd00:10:16::/64', gateway: '10.16.0.254,fd00:10:16::1', excludeIps: ['10.16.0.2..10.16.0.10', 'fd00:10:16::5'] } }],
    ['IPv6 only', { name: 'v6', cidr: 'fd00::/112' }, { name: 'v6', spec: { protocol: 'IPv6', provider: 'ovn', cidrBlock: 'fd00::/112', gateway: 'fd00::1' } }],
  ])('%s', (_case, flags, want) => {
    expect(defaultSubnetOf(flags)).toEqual(E.right(want));
  });

  it.each<[readonly string[], string | RegExp]>([
    [['--default-cidr', '10.16.0.0/33'], 'kube-ovn-ipam controller: --default-cidr: "10.16.0.0/33" has prefix length 33, more than the 32 bits of IPv4\n'],
    [['--default-cidr', 'ten'], 'kube-ovn-ipam controller: --default-cidr: "ten" is not a CIDR (expected address/prefix)\n'],
    [['--default-cidr', '10.16.0.0/16', '--default-gateway', '10.17.0.1'], 'kube-ovn-ipam controller: --default-gateway: 10.17.0.1 is outside 10.16.0.0/16\n'],
    [['--default-cidr', '10.16.0.0/16', '--default-exclude-ips', '10.16.0.2,nope'], /^kube-ovn-ipam controller: --default-exclude-ips entry 2: "nope" is not [^\n]+\n$/],
    [['--default-gateway', '10.16.0.1'], 'kube-ovn-ipam controller: --default-gateway needs --default-cidr (without it no default Subnet is created)\n'],
    [['--default-subnet', 'Ovn_Default', '--default-cidr', '10.16.0.0/16'], 'kube-ovn-ipam controller: --default-subnet "Ovn_Default": expected a Subnet name: at most 253 lower case letters, digits, "-" and ".", starting and ending with a letter or digit\n'],
  ])('refuses %j with exit 2 and names the flag', async (args, message) => {
    const io = captured();
    expect(await runCli(['controller', ...args], io)).toBe(2);
    // The domain's wording of a bad entry is its own; the flag and the entry are ours.
    if (typeof message === 'string') expect(io.err).toBe(message);
    else expect(io.err).toMatch(message);
  });

  it('documents the flags in its help', async () => {
    const io = captured();
    expect(await runCli(['controller', '--help'], io)).toBe(0);
    expect(io.out).toContain('  --default-subnet NAME    the default network\'s Subnet (default ovn-default)\n');
    expect(io.out).toContain('  --default-cidr CIDR      create that Subnet');
  });
});

describe('controller creates the default Subnet against a real API server', () => {
  let api: ApiServer;
  const controllers: ControllerProcess[] = [];

  beforeAll(async () => {
    [api] = await Promise.all([startApiServer(), buildCli()]);
  }, 180_000);

  afterAll(async () => {
    await Promise.all(controllers.map((c) => c.stop()));
    await api?.stop();
  }, 60_000);

  const start = (name: string, extra: readonly string[]): ControllerProcess => {
    const c = startController({
      name,
      args: ['--kubeconfig', api.kubeconfigPath, '--listen', '127.0.0.1:0', '--identity', name, '--lease-namespace', 'default',
        '--lease-name', name, '--lease-duration', '4s', '--gc-interval', '0', ...extra],
    });
    controllers.push(c);
    return c;
  };

  const subnet = async (name: string): Promise<{ spec: unknown; generation: number }> => {
    const s = JSON.parse(await api.kubectlOk(['get', 'subnet.kubeovn.io', name, '-o', 'json'])) as { spec: unknown; metadata: { generation: number } };
    return { spec: s.spec, generation: s.metadata.generation };
  };

  it('creates it when absent, with exactly the spec of the flags, and allocates from it', async () => {
    await api.kubectlOk(['apply', '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'early', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'pause' }] } }),
    });
    const ctl = start('default-subnet-a', ['--default-cidr', '10.16.0.0/16', '--default-gateway', '10.16.0.1', '--default-exclude-ips', '10.16.0.2..10.16.0.9']);
    const created = await ctl.waitForLog('default subnet created');
    expect(created.fields).toMatchObject({ subnet: 'ovn-default', cidrBlock: '10.16.0.0/16', gateway: '10.16.0.1', protocol: 'IPv4', provider: 'ovn' });
    expect(await subnet('ovn-default')).toEqual({
      spec: { protocol: 'IPv4', provider: 'ovn', cidrBlock: '10.16.0.0/16', gateway: '10.16.0.1', excludeIps: ['10.16.0.2..10.16.0.9'] },
      generation: 1,
    });
    // The pod that waited gets the lowest address outside the gateway and the excludes.
    const address = await waitFor('pod early allocated', async () => {
      const a = (await api.kubectlOk(['get', 'pod', 'early', '-o', 'jsonpath={.metadata.annotations.ovn\\.kubernetes\\.io/ip_address}'])).trim();
      return a === '' ? undefined : a;
    }, { timeoutMs: 20_000 });
    expect(address).toBe('10.16.0.10');
    const createdAt = ctl.lines.indexOf(created);
    const allocatedAt = ctl.lines.findIndex((l) => l.msg === 'allocated');
    expect(createdAt).toBeLessThan(allocatedAt);
    await ctl.stop();
  }, 60_000);

  it('leaves an existing Subnet of that name untouched, whatever its CIDR', async () => {
    await api.kubectlOk(['apply', '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'kubeovn.io/v1', kind: 'Subnet', metadata: { name: 'mine' }, spec: { provider: 'ovn', cidrBlock: '10.99.0.0/24', gateway: '10.99.0.254' } }),
    });
    const before = await subnet('mine');
    const ctl = start('default-subnet-b', ['--default-subnet', 'mine', '--default-cidr', '10.20.0.0/16']);
    const exists = await ctl.waitForLog('default subnet exists: left as it is');
    expect(exists.fields).toMatchObject({ subnet: 'mine', cidrBlock: '10.99.0.0/24', flagCidrBlock: '10.20.0.0/16' });
    await ctl.waitForLog((l) => l.msg.startsWith('caches synced'));
    expect(await subnet('mine')).toEqual(before);
    expect(before).toEqual({ spec: { provider: 'ovn', cidrBlock: '10.99.0.0/24', gateway: '10.99.0.254' }, generation: 1 });
    expect(ctl.lines.some((l) => l.msg === 'default subnet created')).toBe(false);
    await ctl.stop();
  }, 60_000);
});

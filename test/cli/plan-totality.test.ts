// `kube-ovn-ipam plan` on objects whose content used to escape a parser as a throw (issue 14,
// items 1 and 2): it exits 0 with a plan, the bad object's problem is data in `errors`, and
// every other Subnet and pod is planned. In process: real files, fake standard streams.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliIo } from '../../src/cli/io.js';
import { runPlan } from '../../src/cli/plan.js';

interface Printed {
  readonly allocations: readonly { pod: string; subnet: string; ipAddress: string; cidr: string }[];
  readonly actions: readonly { type: string; target: string; reason: string }[];
  readonly errors: readonly { pod: string; code: string; message: string }[];
}

const plan = async (argv: readonly string[]): Promise<{ code: number; printed: Printed | undefined; stderr: string }> => {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (text) => { stdout += text; },
    stderr: (text) => { stderr += text; },
    readStdin: () => Promise.reject(new Error('standard input was read')),
  };
  const code = await runPlan(argv, io);
  return { code, printed: stdout === '' ? undefined : (JSON.parse(stdout) as Printed), stderr };
};

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kube-ovn-ipam-plan-totality-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const subnet = (name: string, spec: Record<string, unknown>, at = '2024-05-01T10:00:00Z'): unknown =>
  ({ apiVersion: 'kubeovn.io/v1', kind: 'Subnet', metadata: { name, creationTimestamp: at }, spec: { provider: 'ovn', ...spec } });
const pod = (name: string, annotations: Record<string, string>): unknown =>
  ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', uid: `u-${name}`, annotations }, spec: { containers: [{ name: 'c', image: 'alpine' }] } });

const write = (name: string, objects: readonly unknown[]): string => {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
  return path;
};

describe('plan: one object\'s content never stops the plan', () => {
  it('a Subnet with cidrBlock 10.0.0.0/024 (and fd00::/064 in excludeIps) is read as Kube-OVN reads it: /24, canonical', async () => {
    const path = write('leading-zero.json', [
      subnet('ovn-default', { cidrBlock: '10.16.0.0/16' }),
      subnet('zero', { cidrBlock: '10.0.0.0/024', excludeIps: ['10.0.0.2', 'fd00::/064'] }),
      pod('on-zero', { 'ovn.kubernetes.io/logical_switch': 'zero' }),
      pod('on-default', {}),
    ]);
    const { code, printed, stderr } = await plan(['--snapshot', path, '--output', 'json']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(printed!.errors).toEqual([]);
    expect(printed!.allocations.map((a) => `${a.pod} ${a.subnet} ${a.ipAddress} ${a.cidr}`)).toEqual([
      'default/on-zero zero 10.0.0.3 10.0.0.0/24',
      'default/on-default ovn-default 10.16.0.2 10.16.0.0/16',
    ]);
  });

  it('a Subnet whose prefix is too long behind leading zeros, and a routes annotation nested 200,000 deep: errors, exit 0, the rest planned', async () => {
    const path = write('bad.json', [
      subnet('ovn-default', { cidrBlock: '10.16.0.0/16' }),
      subnet('bad', { cidrBlock: '10.0.0.0/033' }),
      pod('on-bad', { 'ovn.kubernetes.io/logical_switch': 'bad' }),
      pod('deep', { 'ovn.kubernetes.io/routes': '['.repeat(200_000) }),
      pod('fine', {}),
    ]);
    const { code, printed, stderr } = await plan(['--snapshot', path, '--output', 'json']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(printed!.errors).toEqual([
      { pod: 'default/on-bad', provider: 'ovn', interface: 'eth0', code: 'SubnetInvalid', message: 'pod default/on-bad eth0 (ovn): subnet bad is invalid: spec.cidrBlock: "10.0.0.0/033" has prefix length 33, more than the 32 bits of IPv4 (named by annotation ovn.kubernetes.io/logical_switch)' },
      { pod: 'default/deep', provider: 'ovn', interface: 'eth0', code: 'InvalidAnnotation', message: 'pod default/deep eth0 (ovn): annotation ovn.kubernetes.io/routes: invalid JSON at line 1, column 1: SyntaxError: Unexpected end of JSON input' },
    ]);
    expect(printed!.allocations.map((a) => `${a.pod} ${a.ipAddress}`)).toEqual(['default/fine 10.16.0.2']);
    expect(printed!.actions.find((a) => a.type === 'UpdateSubnetStatus' && a.target === 'bad')).toEqual({
      type: 'UpdateSubnetStatus', target: 'bad',
      reason: 'mark it not ready: subnet bad is invalid: spec.cidrBlock: "10.0.0.0/033" has prefix length 33, more than the 32 bits of IPv4',
    });
  });

  it('two OVN Subnets of the same second: the same winner whatever the file order (the name, with no claim and no Ready record)', async () => {
    const objects = [
      subnet('zz-first', { cidrBlock: '10.50.0.0/24' }),
      subnet('aa-second', { cidrBlock: '10.50.0.0/25' }),
      pod('in-zz', { 'ovn.kubernetes.io/logical_switch': 'zz-first' }),
      pod('in-aa', { 'ovn.kubernetes.io/logical_switch': 'aa-second' }),
    ];
    const forward = await plan(['--snapshot', write('forward.json', objects), '--output', 'json']);
    const backward = await plan(['--snapshot', write('backward.json', [...objects].reverse()), '--output', 'json']);
    for (const run of [forward, backward]) {
      expect(run.code).toBe(0);
      expect(run.printed!.allocations.map((a) => `${a.pod} ${a.subnet} ${a.ipAddress}`)).toEqual(['default/in-aa aa-second 10.50.0.2']);
      expect(run.printed!.errors.map((e) => `${e.pod} ${e.code}`)).toEqual(['default/in-zz SubnetInvalid']);
    }
  });
});

// The plugin's reading of what a runtime hands it (issue 14, item 1): the CNI_* environment and
// the network configuration on stdin, through runPlugin with its PluginIo — the process's
// environment and stdin as data, and the real daemon client pointed at a socket nobody serves.
// Whatever the input, the plugin prints one CNI error (or VERSION's answer) and exits; the code
// is the spec's for what is wrong (4 environment, 6 not JSON, 7 invalid config, 1 version,
// 11 daemon unreachable) and never 999 (our own "internal error"); the message names the field.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { join } from 'node:path';
import { runPlugin } from '../../cni/plugin.js';
import { daemonClient } from '../../src/adapters/daemonClient.js';
import { success } from '../../src/domain/cni/PluginConfig.js';
import { buildResult, checkResult } from '../../src/domain/cni/Result.js';
import { makeTempDir, type TempDir } from '../harness/tmp.js';
import { hostileValue, jsonText, jsonTextFrom, mutated, nearMissText } from '../domain/decoders/hostile.js';

let dir: TempDir;
let socket: string;
beforeAll(() => {
  dir = makeTempDir('cni-stdin');
  socket = join(dir.path, 'nobody.sock');
});
afterAll(() => dir.remove());

const env = (extra: Readonly<Record<string, string | undefined>> = {}): Record<string, string | undefined> => ({
  CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c0ffee', CNI_NETNS: '/var/run/netns/x', CNI_IFNAME: 'net1', CNI_PATH: '/opt/cni/bin',
  CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=p;K8S_POD_UID=u-1', ...extra,
});

const run = (variables: Readonly<Record<string, string | undefined>>, stdin: string) =>
  runPlugin({ env: variables, readStdin: () => Promise.resolve(success(stdin)), elapsedMs: () => 0, connect: daemonClient });

/** What the plugin printed: `{code, msg}` of its error, or `ok`. */
const answer = async (variables: Readonly<Record<string, string | undefined>>, stdin: string): Promise<{ code: number; msg: string } | 'ok'> => {
  const out = await run(variables, stdin);
  if (out.exitCode === 0) return 'ok';
  const printed = JSON.parse(out.stdout) as { code: number; msg: string };
  return { code: printed.code, msg: printed.msg };
};

const macvlan = () => ({
  cniVersion: '1.0.0', name: 'macvlan', type: 'macvlan', master: 'eth0',
  ipam: { type: 'kube-ovn', server_socket: socket, provider: 'macvlan.default', routes: [{ dst: '10.0.0.0/8', gw: '172.17.0.1' }] },
  runtimeConfig: { mac: '02:00:00:00:00:07' },
  prevResult: { cniVersion: '1.0.0', interfaces: [{ name: 'net1', sandbox: '/var/run/netns/x' }], ips: [{ address: '172.17.0.5/16', interface: 0 }] },
});
const kubeOvn = () => ({ cniVersion: '0.3.1', name: 'attachnet', type: 'kube-ovn', server_socket: socket, provider: 'attachnet.default.ovn' });

describe('crafted inputs: the code and the field', () => {
  it.each<[string, Record<string, string | undefined>, () => string, number, string]>([
    ['JSON nested 100,000 deep (it was 999 before the depth guard)', env(), () => '['.repeat(100_000), 6, 'the network configuration on stdin nests 100000 levels deep (at most 64)'],
    ['not JSON', env(), () => '{"cniVersion":', 6, 'the network configuration on stdin is not JSON: Unexpected end of JSON input'],
    ['an array', env(), () => '[1]', 6, 'the network configuration on stdin is not a JSON object (got [1])'],
    ['cniVersion a number', env(), () => JSON.stringify({ ...macvlan(), cniVersion: 1 }), 7, 'cniVersion is not a version (got 1) (supported: 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0)'],
    ['cniVersion 9.9.9', env(), () => JSON.stringify({ ...macvlan(), cniVersion: '9.9.9' }), 1, 'cniVersion "9.9.9" is not supported (supported: 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0)'],
    ['a __proto__ ipam', env(), () => JSON.stringify(macvlan()).replace('"ipam"', '"__proto__"'), 7, 'type is "macvlan" and there is no ipam section (expected type "kube-ovn", or ipam.type "kube-ovn")'],
    ['a route with a numeric gw', env(), () => JSON.stringify({ ...kubeOvn(), routes: [{ dst: '10.0.0.0/8', gw: 7 }] }), 7, 'routes[0].gw is not a string (got 7)'],
    ['a route dst with a leading-zero prefix', env(), () => JSON.stringify({ ...kubeOvn(), routes: [{ dst: '10.0.0.0/08x' }] }), 7, 'routes[0].dst "10.0.0.0/08x" is not a CIDR (expected address/prefix, like 10.0.0.0/16)'],
    ['CNI_IFNAME of 16 bytes', env({ CNI_IFNAME: 'abcdefghijklmnop' }), () => JSON.stringify(kubeOvn()), 4, 'CNI_IFNAME "abcdefghijklmnop" is longer than 15 bytes'],
    ['a bad MAC in CNI_ARGS', env({ CNI_ARGS: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=p;MAC=zz' }), () => JSON.stringify(kubeOvn()), 4, 'CNI_ARGS MAC "zz" is not a MAC address (expected six hex octets, like 0a:58:0a:10:00:05)'],
    ['a good config: the daemon is not there', env(), () => JSON.stringify(kubeOvn()), 11, 'cannot reach the kube-ovn-ipam daemon at <socket>: connect ENOENT (is the daemon running on this node?)'],
  ])('%s', async (_name, variables, stdin, code, msg) => {
    expect(await answer(variables, stdin())).toEqual({ code, msg: msg.replace('<socket>', socket) });
  });
});

describe('any environment and stdin (fast-check)', () => {
  const stdinOf = (valid: unknown): fc.Arbitrary<string> => fc.oneof(jsonTextFrom(valid), hostileValue.map(jsonText));
  const variables = fc.record({
    CNI_COMMAND: fc.constantFrom('ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC', 'add', '', 'ADD\n'),
    CNI_IFNAME: fc.oneof(fc.constantFrom('net1', 'eth0', 'a'.repeat(16), 'a/b', ''), nearMissText),
    CNI_ARGS: fc.oneof(fc.constant('K8S_POD_NAMESPACE=default;K8S_POD_NAME=p'), fc.array(fc.oneof(nearMissText, fc.constantFrom('K8S_POD_NAME=p', 'IgnoreUnknown=maybe', 'MAC=02:00:00:00:00:01', '=x', 'x')), { maxLength: 4 }).map((xs) => xs.join(';'))),
    CNI_CONTAINERID: fc.oneof(fc.constant('c0ffee'), nearMissText),
    KUBE_OVN_CNI_TIMEOUT_MS: fc.option(fc.oneof(fc.constantFrom('50000', '0', '1e9', '99999999999', '-1'), nearMissText), { nil: undefined }),
  }, { requiredKeys: ['CNI_COMMAND'] });

  it('one CNI error with a spec code and a message, or success; never 999', async () => {
    await fc.assert(fc.asyncProperty(variables, fc.oneof(stdinOf(macvlan()), stdinOf(kubeOvn())), async (vars, stdin) => {
      const out = await run({ CNI_NETNS: '/var/run/netns/x', ...vars }, stdin);
      if (out.exitCode === 0) return;
      const printed = JSON.parse(out.stdout) as { cniVersion: string; code: number; msg: string };
      expect([1, 4, 6, 7, 11]).toContain(printed.code);
      // The message names what is wrong: a variable (4), stdin (6), a field of the config (1, 7), the daemon (11).
      const names: Record<number, RegExp> = {
        1: /cniVersion /,
        4: /(CNI_[A-Z]+|KUBE_OVN_CNI_TIMEOUT_MS)\b/,
        6: /^the network configuration on stdin /,
        7: /\b(cniVersion|type|ipam|name|server_socket|provider|routes|runtimeConfig|prevResult)\b/,
        11: /daemon/,
      };
      expect(printed.msg).toMatch(names[printed.code]!);
    }), { numRuns: 1500 });
  });
});

describe('the result built over any prevResult (a conflist\'s earlier plugin writes it)', () => {
  it('buildResult and checkResult give a result or a CNI error, never throw (fast-check)', () => {
    const response = { ips: [{ ip: '172.17.0.5', cidr: '172.17.0.0/16', gateway: '172.17.0.1' }], mac_address: '02:00:00:00:00:07', nicname: 'net1', mtu: 1400 };
    const prev = macvlan().prevResult;
    fc.assert(fc.property(fc.oneof(mutated(prev), hostileValue), fc.constantFrom('main', 'ipam') as fc.Arbitrary<'main' | 'ipam'>, (prevResult, role) => {
      const ctx = { role, cniVersion: '1.1.0' as const, ifName: 'net1', netns: '/var/run/netns/x', ...(typeof prevResult === 'object' && prevResult !== null && !Array.isArray(prevResult) && { prevResult: prevResult as Record<string, unknown> }) };
      const built = buildResult(response as never, ctx);
      expect(built.ok).toBe(true);
      const mismatch = checkResult(response as never, ctx);
      if (mismatch !== undefined) expect([7, 100]).toContain(mismatch.code);
    }), { numRuns: 1500 });
  });
});

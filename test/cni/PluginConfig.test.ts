import { describe, it, expect } from '@jest/globals';
import {
  addressFamily, buildRequest, canonicalAddress, canonicalCidr, declaredVersion, parseCniArgs, parseEnvironment,
  parsePluginConfig, podIdentity, requireVersion, SUPPORTED_VERSIONS, type Environment, type Outcome, type PluginConfig,
} from '../../src/domain/cni/PluginConfig.js';

const SOCKET = '/run/openvswitch/kube-ovn-daemon.sock';
const ADD_ENV = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c0ffee', CNI_NETNS: '/var/run/netns/p1', CNI_IFNAME: 'net1' };
const err = <T>(code: number, msg: string): Outcome<T> => ({ ok: false, error: { code, msg } });
const ok = <T>(value: T): Outcome<T> => ({ ok: true, value });

describe('parseEnvironment', () => {
  it.each<[string, Record<string, string>, Environment]>([
    ['ADD with everything', { ...ADD_ENV, CNI_PATH: '/opt/cni/bin', CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=p1;K8S_POD_UID=u-1;K8S_POD_INFRA_CONTAINER_ID=c0ffee;MAC=0a:00:00:00:00:01;FOO=bar' },
      { command: 'ADD', containerId: 'c0ffee', netns: '/var/run/netns/p1', ifName: 'net1', path: '/opt/cni/bin', timeoutMs: 50_000,
        args: { ignoreUnknown: true, podNamespace: 'default', podName: 'p1', podUid: 'u-1', infraContainerId: 'c0ffee', mac: '0a:00:00:00:00:01' } }],
    ['DEL without a netns', { CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c.1_x-2', CNI_IFNAME: 'eth0' },
      { command: 'DEL', containerId: 'c.1_x-2', ifName: 'eth0', timeoutMs: 50_000, args: { ignoreUnknown: false } }],
    ['VERSION alone', { CNI_COMMAND: 'VERSION' }, { command: 'VERSION', timeoutMs: 50_000, args: { ignoreUnknown: false } }],
    ['STATUS alone, with a timeout', { CNI_COMMAND: 'STATUS', KUBE_OVN_CNI_TIMEOUT_MS: '1500' }, { command: 'STATUS', timeoutMs: 1500, args: { ignoreUnknown: false } }],
    ['GC alone', { CNI_COMMAND: 'GC', CNI_PATH: '/opt/cni/bin' }, { command: 'GC', path: '/opt/cni/bin', timeoutMs: 50_000, args: { ignoreUnknown: false } }],
    ['empty variables as unset', { CNI_COMMAND: 'VERSION', CNI_ARGS: '', KUBE_OVN_CNI_TIMEOUT_MS: '' }, { command: 'VERSION', timeoutMs: 50_000, args: { ignoreUnknown: false } }],
  ])('reads %s', (_name, env, expected) => {
    expect(parseEnvironment(env)).toEqual(ok(expected));
  });

  it.each<[string, Record<string, string>, string]>([
    ['no CNI_COMMAND', {}, 'CNI_COMMAND is not set (expected ADD, DEL, CHECK, VERSION, STATUS or GC)'],
    ['an unknown command', { CNI_COMMAND: 'add' }, 'CNI_COMMAND "add" is not a CNI command (expected ADD, DEL, CHECK, VERSION, STATUS or GC)'],
    ['ADD without anything', { CNI_COMMAND: 'ADD' }, 'ADD needs the environment variables CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, which are not set'],
    ['CHECK without a netns', { ...ADD_ENV, CNI_COMMAND: 'CHECK', CNI_NETNS: '' }, 'CHECK needs the environment variable CNI_NETNS, which is not set'],
    ['DEL without an interface', { CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c' }, 'DEL needs the environment variable CNI_IFNAME, which is not set'],
    ['a container ID with a slash', { ...ADD_ENV, CNI_CONTAINERID: 'a/b' },
      'CNI_CONTAINERID "a/b" has invalid characters (expected a letter or digit, then letters, digits, "_", "." or "-")'],
    ['a container ID starting with a dash', { ...ADD_ENV, CNI_CONTAINERID: '-a' },
      'CNI_CONTAINERID "-a" has invalid characters (expected a letter or digit, then letters, digits, "_", "." or "-")'],
    ['a long interface name', { ...ADD_ENV, CNI_IFNAME: 'abcdefghijklmnop' }, 'CNI_IFNAME "abcdefghijklmnop" is longer than 15 bytes'],
    ['interface name ..', { ...ADD_ENV, CNI_IFNAME: '..' }, 'CNI_IFNAME ".." is not a valid interface name'],
    ['an interface name with a colon', { ...ADD_ENV, CNI_IFNAME: 'eth0:1' }, 'CNI_IFNAME "eth0:1" contains "/", ":" or white space'],
    ['a bad timeout', { CNI_COMMAND: 'VERSION', KUBE_OVN_CNI_TIMEOUT_MS: '5s' }, 'KUBE_OVN_CNI_TIMEOUT_MS "5s" is not a positive whole number of milliseconds'],
    ['a zero timeout', { CNI_COMMAND: 'VERSION', KUBE_OVN_CNI_TIMEOUT_MS: '0' }, 'KUBE_OVN_CNI_TIMEOUT_MS "0" is not a positive whole number of milliseconds'],
    ['several problems at once', { ...ADD_ENV, CNI_IFNAME: 'a b', CNI_ARGS: 'K8S_POD_NAME' },
      'CNI_IFNAME "a b" contains "/", ":" or white space; CNI_ARGS has an invalid pair "K8S_POD_NAME" (expected KEY=VALUE)'],
  ])('rejects %s with code 4', (_name, env, msg) => {
    expect(parseEnvironment(env)).toEqual(err(4, msg));
  });
});

describe('parseCniArgs', () => {
  it.each<[string, string | undefined, object]>([
    ['nothing', undefined, { ignoreUnknown: false }],
    ['empty segments and unknown keys', ';;K8S_POD_NAME=p;;X=1;', { ignoreUnknown: false, podName: 'p' }],
    ['a value with "="', 'K8S_POD_NAME=a=b', { ignoreUnknown: false, podName: 'a=b' }],
    ['IgnoreUnknown=true', 'IgnoreUnknown=true', { ignoreUnknown: true }],
    ['IgnoreUnknown=0', 'IgnoreUnknown=0', { ignoreUnknown: false }],
    ['an empty value as absent', 'K8S_POD_UID=', { ignoreUnknown: false }],
    ['a MAC with dashes', 'MAC=0A-58-0A-10-00-05', { ignoreUnknown: false, mac: '0A-58-0A-10-00-05' }],
  ])('reads %s', (_name, text, expected) => {
    expect(parseCniArgs(text)).toEqual(ok(expected));
  });

  it.each<[string, string, string]>([
    ['a pair without "="', 'FOO', 'CNI_ARGS has an invalid pair "FOO" (expected KEY=VALUE)'],
    ['a pair without a key', '=x', 'CNI_ARGS has an invalid pair "=x" (expected KEY=VALUE)'],
    ['a bad IgnoreUnknown', 'IgnoreUnknown=yes', 'CNI_ARGS IgnoreUnknown "yes" is not a boolean (expected 1, 0, true or false)'],
    ['a bad MAC', 'MAC=0a:58:0a:10:00', 'CNI_ARGS MAC "0a:58:0a:10:00" is not a MAC address (expected six hex octets, like 0a:58:0a:10:00:05)'],
    ['a MAC with mixed separators', 'MAC=0a:58-0a:10:00:05', 'CNI_ARGS MAC "0a:58-0a:10:00:05" is not a MAC address (expected six hex octets, like 0a:58:0a:10:00:05)'],
  ])('rejects %s with code 4', (_name, text, msg) => {
    expect(parseCniArgs(text)).toEqual(err(4, msg));
  });
});

describe('podIdentity', () => {
  it.each<[string, object, Outcome<unknown>]>([
    ['a pod with its UID', { ignoreUnknown: true, podNamespace: 'default', podName: 'p1', podUid: 'u' }, ok({ namespace: 'default', name: 'p1', uid: 'u' })],
    ['a pod without UID', { ignoreUnknown: true, podNamespace: 'default', podName: 'p1' }, ok({ namespace: 'default', name: 'p1' })],
    ['no name', { ignoreUnknown: true, podNamespace: 'default' },
      err(4, 'CNI_ARGS has no K8S_POD_NAME (the runtime passes the pod as K8S_POD_NAMESPACE=…;K8S_POD_NAME=…)')],
    ['no namespace', { ignoreUnknown: true, podName: 'p1' },
      err(4, 'CNI_ARGS has no K8S_POD_NAMESPACE (the runtime passes the pod as K8S_POD_NAMESPACE=…;K8S_POD_NAME=…)')],
    ['neither', { ignoreUnknown: false },
      err(4, 'CNI_ARGS has no K8S_POD_NAMESPACE and no K8S_POD_NAME (the runtime passes the pod as K8S_POD_NAMESPACE=…;K8S_POD_NAME=…)')],
  ])('%s', (_name, args, expected) => {
    expect(podIdentity(args as never)).toEqual(expected);
  });
});

describe('parsePluginConfig', () => {
  it.each<[string, object, PluginConfig]>([
    ['the main plugin (seed example 07)', { cniVersion: '0.3.0', type: 'kube-ovn', server_socket: SOCKET, provider: 'attachnet.default.ovn',
      routes: [{ dst: '19.10.0.0/16' }, { dst: '19.20.0.0/16', gw: '19.10.0.1' }] },
    { cniVersion: '0.3.0', type: 'kube-ovn', role: 'main', serverSocket: SOCKET, provider: 'attachnet.default.ovn',
      routes: [{ dst: '19.10.0.0/16' }, { dst: '19.20.0.0/16', gw: '19.10.0.1' }] }],
    ['the IPAM of macvlan (seed example 01)', { cniVersion: '0.3.0', type: 'macvlan', master: 'eth0', mode: 'bridge',
      ipam: { type: 'kube-ovn', server_socket: '/tmp/d.sock', provider: 'macvlan.default', routes: [{ gw: 'fd00::1' }] } },
    { cniVersion: '0.3.0', type: 'macvlan', role: 'ipam', serverSocket: '/tmp/d.sock', provider: 'macvlan.default', routes: [{ gw: 'fd00::1' }] }],
    ['defaults for empty socket and provider', { cniVersion: '1.1.0', name: 'net', type: 'kube-ovn', server_socket: '', provider: '' },
      { cniVersion: '1.1.0', name: 'net', type: 'kube-ovn', role: 'main', serverSocket: SOCKET, provider: 'ovn', routes: [] }],
    ['IPAM fields only from the ipam section', { cniVersion: '1.0.0', type: 'ipvlan', provider: 'top', ipam: { type: 'kube-ovn' } },
      { cniVersion: '1.0.0', type: 'ipvlan', role: 'ipam', serverSocket: SOCKET, provider: 'ovn', routes: [] }],
    ['the main role winning over an ipam section', { cniVersion: '0.4.0', type: 'kube-ovn', provider: 'a.b.ovn', ipam: { type: 'kube-ovn', provider: 'x' } },
      { cniVersion: '0.4.0', type: 'kube-ovn', role: 'main', serverSocket: SOCKET, provider: 'a.b.ovn', routes: [] }],
    ['runtimeConfig mac and prevResult', { cniVersion: '1.0.0', type: 'macvlan', ipam: { type: 'kube-ovn', provider: 'm.d', routes: null },
      runtimeConfig: { mac: '0a:00:00:00:00:02', portMappings: [] }, prevResult: { ips: [] } },
    { cniVersion: '1.0.0', type: 'macvlan', role: 'ipam', serverSocket: SOCKET, provider: 'm.d', routes: [], runtimeMac: '0a:00:00:00:00:02', prevResult: { ips: [] } }],
  ])('reads %s', (_name, conf, expected) => {
    expect(parsePluginConfig(JSON.stringify(conf))).toEqual(ok(expected));
  });

  it.each<[string, string, number, string]>([
    ['empty stdin', '  \n', 6, 'the network configuration on stdin is empty'],
    ['malformed JSON (V8 says where)', '{"cniVersion": "1.0.0",', 6, 'the network configuration on stdin is not JSON: Expected double-quoted property name in JSON at position 23'],
    ['a JSON array', '[]', 6, 'the network configuration on stdin is not a JSON object (got [])'],
    // Nested 100,000 deep (issue 14 item 7): code 6, not a stack overflow.
    ['arrays nested 100,000 deep', `${'['.repeat(100_000)}${']'.repeat(100_000)}`, 6, 'the network configuration on stdin nests 100000 levels deep (at most 64)'],
    ['objects nested 100,000 deep', `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`, 6, 'the network configuration on stdin nests 100000 levels deep (at most 64)'],
    ['brackets inside strings do not nest', `{"cniVersion": 1, "type": "${'['.repeat(100)}"}`, 7, 'cniVersion is not a version (got 1) (supported: 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0)'],
    ['a long value is shown cut to 80 characters', `{"cniVersion": "1.0.0", "type": "kube-ovn", "runtimeConfig": ["${'x'.repeat(200)}"]}`, 7, `runtimeConfig is not an object (got ["${'x'.repeat(75)}...)`],
    ['no cniVersion', '{"type": "kube-ovn"}', 7, 'cniVersion is missing (supported: 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0)'],
    ['a numeric cniVersion', '{"cniVersion": 1, "type": "kube-ovn"}', 7, 'cniVersion is not a version (got 1) (supported: 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0)'],
    ['an old cniVersion', '{"cniVersion": "0.2.0", "type": "kube-ovn"}', 1, 'cniVersion "0.2.0" is not supported (supported: 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0)'],
    ['a future cniVersion', '{"cniVersion": "2.0.0", "type": "kube-ovn"}', 1, 'cniVersion "2.0.0" is not supported (supported: 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0)'],
    ['no type', '{"cniVersion": "1.0.0"}', 7, 'type is missing (expected "kube-ovn", or an ipam section with type "kube-ovn")'],
    ['a numeric type', '{"cniVersion": "1.0.0", "type": 3}', 7, 'type is not a plugin name (got 3) (expected "kube-ovn", or an ipam section with type "kube-ovn")'],
    ['another plugin without ipam', '{"cniVersion": "1.0.0", "type": "bridge"}', 7,
      'type is "bridge" and there is no ipam section (expected type "kube-ovn", or ipam.type "kube-ovn")'],
    ['another IPAM', '{"cniVersion": "1.0.0", "type": "bridge", "ipam": {"type": "host-local"}}', 7,
      'neither type ("bridge") nor ipam.type ("host-local") is "kube-ovn"'],
    ['an ipam that is a string', '{"cniVersion": "1.0.0", "type": "bridge", "ipam": "kube-ovn"}', 7, 'ipam is not an object (got "kube-ovn")'],
    ['a numeric socket', '{"cniVersion": "1.0.0", "type": "kube-ovn", "server_socket": 1}', 7, 'server_socket is not a string (got 1)'],
    ['a numeric IPAM provider', '{"cniVersion": "1.0.0", "type": "macvlan", "ipam": {"type": "kube-ovn", "provider": true}}', 7, 'ipam.provider is not a string (got true)'],
    ['routes that are not a list', '{"cniVersion": "1.0.0", "type": "kube-ovn", "routes": {"dst": "0.0.0.0/0"}}', 7,
      'routes is not a list of routes (expected [{"dst": "10.0.0.0/8", "gw": "10.16.0.1"}], got {"dst":"0.0.0.0/0"})'],
    ['bad IPAM routes, all named', JSON.stringify({ cniVersion: '1.0.0', type: 'macvlan', ipam: { type: 'kube-ovn', routes: [
      'x', {}, { dst: 5 }, { dst: '10.0.0.0' }, { dst: '10.0.0.0/33' }, { gw: '10.0.0.256' }, { dst: 'fd00::/64', gw: '10.0.0.1' }, { dst: '10.0.0.0/8', gw: '10.0.0.1' }] } }), 7,
    'ipam.routes[0] is not an object (got "x"); ipam.routes[1] has neither dst nor gw; ipam.routes[2].dst is not a string (got 5); '
      + 'ipam.routes[3].dst "10.0.0.0" is not a CIDR (expected address/prefix, like 10.0.0.0/16); '
      + 'ipam.routes[4].dst "10.0.0.0/33" is not a CIDR (expected address/prefix, like 10.0.0.0/16); '
      + 'ipam.routes[5].gw "10.0.0.256" is not an IP address; '
      + 'ipam.routes[6].gw "10.0.0.1" and ipam.routes[6].dst "fd00::/64" are of different IP families'],
    ['a runtimeConfig that is a list', '{"cniVersion": "1.0.0", "type": "kube-ovn", "runtimeConfig": []}', 7, 'runtimeConfig is not an object (got [])'],
    ['a bad runtimeConfig mac', '{"cniVersion": "1.0.0", "type": "kube-ovn", "runtimeConfig": {"mac": "zz:00:00:00:00:00"}}', 7,
      'runtimeConfig.mac "zz:00:00:00:00:00" is not a MAC address (expected six hex octets, like 0a:58:0a:10:00:05)'],
    ['a prevResult that is a string', '{"cniVersion": "1.0.0", "type": "kube-ovn", "prevResult": "{}"}', 7, 'prevResult is not an object (got "{}")'],
    ['a numeric name', '{"cniVersion": "1.0.0", "name": 1, "type": "kube-ovn"}', 7, 'name is not a string (got 1)'],
  ])('rejects %s', (_name, stdin, code, msg) => {
    expect(parsePluginConfig(stdin)).toEqual(err(code, msg));
  });

  it('names the version of stdin for error results, when it is one we speak', () => {
    expect([declaredVersion('{"cniVersion": "0.4.0"}'), declaredVersion('{"cniVersion": "9"}'), declaredVersion('nope')])
      .toEqual(['0.4.0', undefined, undefined]);
  });
});

describe('requireVersion', () => {
  const config = (cniVersion: PluginConfig['cniVersion']): PluginConfig =>
    ({ cniVersion, type: 'kube-ovn', role: 'main', serverSocket: SOCKET, provider: 'ovn', routes: [] });
  it.each(SUPPORTED_VERSIONS.map((v) => [v] as const))('CHECK and GC under %s', (v) => {
    const tooOld = (since: '0.4.0' | '1.1.0', command: 'CHECK' | 'GC') =>
      ({ code: 1, msg: `${command} needs cniVersion ${since} or later, and the configuration says ${v}` });
    expect([requireVersion(config(v), '0.4.0', 'CHECK'), requireVersion(config(v), '1.1.0', 'GC')]).toEqual([
      v.startsWith('0.3') ? tooOld('0.4.0', 'CHECK') : undefined,
      v === '1.1.0' ? undefined : tooOld('1.1.0', 'GC'),
    ]);
  });
});

describe('buildRequest', () => {
  const env = (args: Environment['args']): Environment => ({ command: 'ADD', containerId: 'c0ffee', netns: '/var/run/netns/p1', ifName: 'net1', timeoutMs: 50_000, args });
  const config: PluginConfig = { cniVersion: '1.0.0', type: 'macvlan', role: 'ipam', serverSocket: SOCKET, provider: 'macvlan.default', routes: [{ gw: '172.17.0.1' }] };

  it('carries the pod, the interface, the provider, the routes and the deadline', () => {
    expect(buildRequest(config, env({ ignoreUnknown: true, mac: '0a:00:00:00:00:01' }), { namespace: 'default', name: 'p1', uid: 'u1' }, 47_500)).toEqual({
      cni_type: 'macvlan', pod_name: 'p1', pod_namespace: 'default', pod_uid: 'u1', container_id: 'c0ffee', net_ns: '/var/run/netns/p1',
      if_name: 'net1', provider: 'macvlan.default', routes: [{ gw: '172.17.0.1' }], mac: '0a:00:00:00:00:01', deadline_ms: 47_500,
    });
  });

  it('prefers runtimeConfig mac to CNI_ARGS MAC, and leaves out what is absent', () => {
    expect(buildRequest({ ...config, runtimeMac: '0a:00:00:00:00:02' }, { command: 'DEL', containerId: 'c', ifName: 'net1', timeoutMs: 1, args: { ignoreUnknown: false, mac: '0a:00:00:00:00:01' } },
      { namespace: 'ns', name: 'p' }, 100)).toEqual({
      cni_type: 'macvlan', pod_name: 'p', pod_namespace: 'ns', container_id: 'c', net_ns: '', if_name: 'net1', provider: 'macvlan.default',
      routes: [{ gw: '172.17.0.1' }], mac: '0a:00:00:00:00:02', deadline_ms: 100,
    });
  });
});

describe('addresses', () => {
  it.each<[string, 4 | 6 | undefined, string | undefined]>([
    ['10.16.0.5', 4, '10.16.0.5'],
    ['0.0.0.0', 4, '0.0.0.0'],
    ['10.16.0.05', undefined, undefined],
    ['10.16.0', undefined, undefined],
    ['256.0.0.1', undefined, undefined],
    ['FD00:0:0:0:0:0:0:0A', 6, 'fd00::a'],
    ['fd00::', 6, 'fd00::'],
    ['::', 6, '::'],
    ['::1', 6, '::1'],
    ['2001:db8:0:1:0:0:0:1', 6, '2001:db8:0:1::1'],
    ['2001:0:0:1:0:0:1:1', 6, '2001::1:0:0:1:1'],
    ['2001:db8:1:1:1:1:0:1', 6, '2001:db8:1:1:1:1:0:1'],
    ['::ffff:10.0.0.1', 6, '::ffff:a00:1'],
    ['1:2:3:4:5:6:7', undefined, undefined],
    ['1::2::3', undefined, undefined],
    ['1:2:3:4:5:6:7:8:9', undefined, undefined],
    ['1:2:3:4::5:6:7:8', undefined, undefined],
    ['fe80::1%eth0', undefined, undefined],
    ['12345::', undefined, undefined],
  ])('%s', (text, family, canonical) => {
    expect([addressFamily(text), canonicalAddress(text)]).toEqual([family, canonical]);
  });

  it.each<[string, string | undefined]>([
    ['10.16.0.0/16', '10.16.0.0/16'],
    ['FD00::/64', 'fd00::/64'],
    ['10.16.0.5/32', '10.16.0.5/32'],
    ['10.16.0.0/016', undefined],
    ['10.16.0.0', undefined],
    ['fd00::/129', undefined],
    ['10.0.0.0/8/8', undefined],
  ])('CIDR %s', (text, canonical) => {
    expect(canonicalCidr(text)).toEqual(canonical);
  });
});

// `kube-ovn-ipam plan` end to end, in process: real files, fake standard streams. Planner
// allocations are not asserted here (the planner's own tests do that); the command's contract
// is: exit codes, exact messages naming file, document, object and field, and stable output.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { runCli, usage } from '../../src/cli/commands.js';
import type { CliIo } from '../../src/cli/io.js';
import { overlayDocuments, parsePlanArgs, planHelp, runPlan } from '../../src/cli/plan.js';
import type { RawDocument } from '../../src/domain/Snapshot.js';

const examples = fileURLToPath(new URL('../../../shared/seed/examples/', import.meta.url));

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command line in process; standard input is `stdin`, or fails the test when read. */
const run = async (command: (argv: readonly string[], io: CliIo) => Promise<number>, argv: readonly string[], stdin?: string): Promise<Run> => {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (text) => { stdout += text; },
    stderr: (text) => { stderr += text; },
    readStdin: () => (stdin === undefined ? Promise.reject(new Error('standard input was read')) : Promise.resolve(stdin)),
  };
  const code = await command(argv, io);
  return { code, stdout, stderr };
};
const plan = (argv: readonly string[], stdin?: string): Promise<Run> => run(runPlan, argv, stdin);

let dir = '';
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kube-ovn-ipam-cli-plan-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const subnet = (name: string, spec: string): string =>
  `apiVersion: kubeovn.io/v1\nkind: Subnet\nmetadata:\n  name: ${name}\nspec:\n${spec}`;
const goodSubnet = subnet('good', '  cidrBlock: 10.0.0.0/24\n');

describe('plan: input that cannot be decoded', () => {
  it('exits 2 naming file, document, object and field, with nothing on stdout', async () => {
    const path = file('bad-subnet.yaml', `${goodSubnet}---\n${subnet('bad', '  protocol: IPv4\n')}`);
    expect(await plan(['--snapshot', path])).toEqual({
      code: 2,
      stdout: '',
      stderr: `kube-ovn-ipam plan: ${path}: document 1: Subnet "bad": spec.cidrBlock: is required\n`,
    });
  });

  it('reports every problem of every file, one per line, in input order', async () => {
    const first = file('problems-1.yaml', `${subnet('no-cidr', '  mtu: 1400\n')}---\nmetadata:\n  name: kindless\n`);
    const second = file('problems-2.json', JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'ns1' } }));
    const result = await plan(['-s', first, second, '--output', 'json']);
    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr: [
        `kube-ovn-ipam plan: ${first}: document 0: Subnet "no-cidr": spec.cidrBlock: is required`,
        `kube-ovn-ipam plan: ${first}: document 1: object "kindless": kind: is required`,
        `kube-ovn-ipam plan: ${second}: document 0: Pod "ns1/<unnamed>": metadata.name: is required; spec: is required`,
        '',
      ].join('\n'),
    });
  });

  it('exits 2 on a YAML syntax error, naming file, document, line and column', async () => {
    const path = file('syntax.yaml', `${goodSubnet}---\nspec:\n  cidrBlock: [10.0.0.0/24\nkind: Subnet\n`);
    expect(await plan([path])).toEqual({
      code: 2,
      stdout: '',
      stderr: `kube-ovn-ipam plan: ${path}: document 1: line 10, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]\n`,
    });
  });

  it('exits 2 on a missing file', async () => {
    expect(await plan(['--snapshot', join(dir, 'nope.yaml')])).toEqual({
      code: 2,
      stdout: '',
      stderr: `kube-ovn-ipam plan: ${join(dir, 'nope.yaml')}: no such file or directory\n`,
    });
  });

  it('names standard input "-"', async () => {
    expect(await plan(['--snapshot', '-'], subnet('from-stdin', '  cidrBlock: 7\n'))).toEqual({
      code: 2,
      stdout: '',
      stderr: 'kube-ovn-ipam plan: -: document 0: Subnet "from-stdin": spec.cidrBlock: expected a string, got the number 7\n',
    });
  });
});

describe('plan: a plan', () => {
  it('two objects of one kind and name: the later is used and stderr says so (issue 14 item 7)', async () => {
    const first = file('dup-1.yaml', subnet('twin', '  cidrBlock: 10.0.0.0/24\n'));
    const second = file('dup-2.yaml', `${subnet('other', '  cidrBlock: 10.9.0.0/24\n')}---\n${subnet('twin', '  cidrBlock: 10.1.0.0/24\n')}`);
    const result = await plan(['--snapshot', first, '--snapshot', second, '--output', 'json']);
    expect({ code: result.code, stderr: result.stderr }).toEqual({
      code: 0,
      stderr: `kube-ovn-ipam plan: warning: ${second}: document 1: Subnet twin is also in ${first}: document 0; the later one is used, as kubectl apply of both would leave it\n`,
    });
    const status = (JSON.parse(result.stdout) as { actions: { type: string; target: string; reason: string }[] }).actions.find((a) => a.target === 'twin');
    expect(status?.reason).toBe('IPv4 0 in use, 253 available');
  });

  it('prints JSON with allocations, actions and errors for the seed examples', async () => {
    const result = await plan(['--snapshot', examples, '--output', 'json']);
    // The seed's examples are alternatives: a later file redefines a NAD or a pod of an earlier one.
    const twice = (later: string, what: string, earlier: string) =>
      `kube-ovn-ipam plan: warning: ${examples}${later}: document 0: ${what} is also in ${examples}${earlier}: document 0; the later one is used, as kubectl apply of both would leave it\n`;
    expect({ code: result.code, stderr: result.stderr }).toEqual({
      code: 0,
      stderr: twice('07-nad-attachnet-ovn-routes.yaml', 'NetworkAttachmentDefinition default/attachnet', '06-nad-attachnet-ovn.yaml') +
        twice('08-pod-attachnet-random.yaml', 'Pod default/samplepod', '03-pod-random.yaml') +
        twice('10-pod-attachnet-static-ip.yaml', 'Pod default/static-ip', '04-pod-static-ip.yaml') +
        twice('11-pod-multi-nic-same-subnet.yaml', 'Pod default/spec-subnet', '09-pod-attachnet-spec-subnet.yaml'),
    });
    const printed = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(Object.keys(printed)).toEqual(['allocations', 'actions', 'errors']);
    for (const key of ['allocations', 'actions', 'errors']) expect(Array.isArray(printed[key])).toBe(true);
    expect(result.stdout.endsWith('}\n')).toBe(true);
  });

  it('reads KubeVirt VirtualMachines from snapshot files: a restarted VM\'s pod is given what its IP object holds', async () => {
    const text = [
      'apiVersion: kubeovn.io/v1\nkind: Subnet\nmetadata: {name: ovn-default}\nspec: {cidrBlock: 10.16.0.0/24, provider: ovn}',
      'apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata: {name: vm1, namespace: default}\nspec: {runStrategy: Always}',
      'apiVersion: kubeovn.io/v1\nkind: IP\nmetadata: {name: vm1.default, labels: {ovn.kubernetes.io/subnet: ovn-default}, finalizers: [kube-ovn-ipam.io/ip]}\nspec: {podName: vm1, namespace: default, subnet: ovn-default, nodeName: "", ipAddress: 10.16.0.7, v4IpAddress: 10.16.0.7, v6IpAddress: "", macAddress: "00:00:00:aa:bb:cc", containerID: "", podType: VirtualMachine}',
      'apiVersion: v1\nkind: Pod\nmetadata: {name: virt-launcher-vm1-xyz12, namespace: default, uid: uid-2, ownerReferences: [{apiVersion: kubevirt.io/v1, kind: VirtualMachineInstance, name: vm1, uid: uid-vmi}]}\nspec: {}',
    ].join('\n---\n');
    const result = await plan(['-s', '-', '-o', 'json'], text);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    const printed = JSON.parse(result.stdout) as { allocations: { pod: string; ipAddress: string; macAddress: string; source: string }[]; actions: { type: string; target: string }[] };
    expect(printed.allocations.map((a) => [a.pod, a.ipAddress, a.macAddress, a.source])).toEqual([['default/virt-launcher-vm1-xyz12', '10.16.0.7', '00:00:00:aa:bb:cc', 'existing']]);
    expect(printed.actions.map((a) => `${a.type} ${a.target}`)).toEqual(['PatchPodAnnotations default/virt-launcher-vm1-xyz12', 'UpdateSubnetStatus ovn-default']);
  });

  it.each([['json'], ['table']])('prints the same bytes for the same input (%s)', async (output) => {
    const argv = ['-s', examples, '-o', output, '--now', '2025-01-31T12:00:00Z', '--cooldown', '60'];
    const first = await plan(argv);
    const second = await plan(argv);
    expect(first.code).toBe(0);
    expect(first.stdout).not.toBe('');
    expect(second).toEqual(first);
  });

  it('--ovn adds the logical switches, the router and ports a controller with --ovn-nb writes (seed 06-11); without it there are none', async () => {
    const ovnExamples = fileURLToPath(new URL('../../examples/ovn-attachments/', import.meta.url));
    const actions = async (argv: string[]) => (JSON.parse((await plan(['-s', ovnExamples, '-o', 'json', ...argv])).stdout) as { actions: { type: string; target: string }[] }).actions
      .filter((a) => a.type.includes('LogicalSwitch')).map((a) => `${a.type} ${a.target}`);
    expect(await actions([])).toEqual([]);
    expect(await actions(['--ovn'])).toEqual([
      'EnsureLogicalSwitch ovn-default', 'EnsureLogicalSwitch attachnet',
      'EnsureLogicalSwitchPort samplepod.default', 'EnsureLogicalSwitchPort samplepod.default.attachnet.default.ovn',
      'EnsureLogicalSwitch ovn-default', 'EnsureLogicalSwitch my-subnet',
      'EnsureLogicalSwitchPort static-ip.default', 'EnsureLogicalSwitchPort static-ip.default.attachnet.default.ovn',
      'EnsureLogicalSwitch my-subnet',
      'EnsureLogicalSwitchPort spec-subnet.default', 'EnsureLogicalSwitchPort spec-subnet.default.attachnet.default.ovn',
    ]);
    // With each pod's switches, the router and those Subnets' gateway ports (OvnRouter.ts).
    const router = (JSON.parse((await plan(['-s', ovnExamples, '-o', 'json', '--ovn'])).stdout) as { actions: { type: string; target: string; reason: string }[] }).actions
      .filter((a) => a.type.includes('LogicalRouter')).map((a) => `${a.type} ${a.target}: ${a.reason}`);
    const R = 'EnsureLogicalRouter ovn-cluster: the logical router of the default VPC (ovn-cluster), the gateway of the OVN subnets';
    const port = (subnet: string, at: string): string => `EnsureLogicalRouterPort ovn-cluster-${subnet}: connect OVN subnet ${subnet} to router ovn-cluster at its gateway ${at}`;
    expect(router).toEqual([
      R, port('ovn-default', '10.17.0.1/16'), port('attachnet', '172.18.0.1/16'),
      R, port('ovn-default', '10.17.0.1/16'), port('my-subnet', '172.17.0.1/16'),
      R, port('my-subnet', '172.17.0.1/16'),
    ]);
  });

  it('prints the IPPools\' status actions; a pool that is not ready is said in its action, and is no error (errors are pods\')', async () => {
    const pool = (name: string, ips: string): string => `apiVersion: kubeovn.io/v1\nkind: IPPool\nmetadata:\n  name: ${name}\nspec:\n  subnet: good\n  ips: [${ips}]\n`;
    const path = file('pools.yaml', [goodSubnet, pool('in', '10.0.0.5..10.0.0.6'), pool('out', '10.1.0.0/30')].join('---\n'));
    expect(await plan([path])).toEqual({ code: 0, stdout: 'ACTIONS\n1 UpdateSubnetStatus, 2 UpdateIPPoolStatus\n', stderr: '' });
    const printed = JSON.parse((await plan([path, '--output', 'json'])).stdout) as { actions: unknown[]; errors: unknown[] };
    expect(printed.actions.slice(1)).toEqual([
      { type: 'UpdateIPPoolStatus', target: 'in', reason: 'IPv4 0 in use, 2 available' },
      { type: 'UpdateIPPoolStatus', target: 'out', reason: 'mark it not ready: ippool out has IPs outside subnet good: 10.1.0.0-10.1.0.3 (outside 10.0.0.0/24)' },
    ]);
    expect(printed.errors).toEqual([]);
  });

  it('prints a table by default, and reads standard input', async () => {
    // Kinds the IPAM does not read are skipped: an empty snapshot, an empty plan.
    expect(await plan(['-'], 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n'))
      .toEqual({ code: 0, stdout: 'No pods to plan.\n', stderr: '' });
  });
});

describe('plan: the command line', () => {
  it.each([
    [['--bogus'], 'unknown flag --bogus'],
    [['-x', examples], 'unknown flag -x'],
    [['-s', examples, '--output'], 'flag --output needs a value'],
    [['-s', examples, '--output', 'yaml'], '--output: expected table or json, got "yaml"'],
    [['-s', examples, '--now', 'yesterday'], '--now: expected an RFC 3339 time such as 2025-01-31T12:00:00Z, got "yesterday"'],
    [['-s', examples, '--now', '2025-02-29T00:00:00Z'], '--now: "2025-02-29T00:00:00Z" is not a valid date and time'],
    [['-s', examples, '--cooldown=-5'], '--cooldown: expected a number of seconds such as 300, got "-5"'],
    [['-s', examples, '--cooldown', '-5'], 'flag --cooldown needs a value (write --cooldown=VALUE for a value that starts with "-")'],
    [['--help=yes'], 'flag --help takes no value'],
    [[], 'no input: give --snapshot PATH (a file, a folder, or - for standard input) or --kubeconfig FILE'],
  ])('%j is a usage error', async (argv, message) => {
    expect(await plan(argv)).toEqual({
      code: 2,
      stdout: '',
      stderr: `kube-ovn-ipam plan: ${message}\nRun 'kube-ovn-ipam plan --help' for usage.\n`,
    });
  });

  it('refuses a kubeconfig that cannot be read, also when files are given beside it', async () => {
    for (const argv of [['--kubeconfig', '/nonexistent/kubeconfig'], ['--kubeconfig', '/nonexistent/kubeconfig', '--snapshot', 'x']]) {
      const missing = await plan(argv);
      expect([missing.code, missing.stdout, missing.stderr]).toEqual([2, '', "kube-ovn-ipam plan: cannot read kubeconfig /nonexistent/kubeconfig: ENOENT: no such file or directory, open '/nonexistent/kubeconfig'\n"]);
    }
  });

  it('lays files over the cluster\'s objects as kubectl apply would (overlayDocuments)', () => {
    const doc = (file: string, value: object): RawDocument => ({ origin: { file, document: 0 }, value });
    const cluster = [
      doc('cluster', { kind: 'Subnet', metadata: { name: 'a' }, spec: { cidrBlock: '10.0.0.0/24' } }),
      doc('cluster', { kind: 'Pod', metadata: { name: 'p', namespace: 'default' } }),
      doc('cluster', { kind: 'Pod', metadata: { name: 'p', namespace: 'other' } }),
    ];
    const files = [
      doc('f.yaml', { kind: 'Pod', metadata: { name: 'q' } }),
      doc('f.yaml', { kind: 'Pod', metadata: { name: 'p' }, spec: { new: true } }),
      doc('f.yaml', { kind: 'Subnet', metadata: { name: 'a', namespace: 'ignored' } }),
    ];
    expect(overlayDocuments(cluster, files)).toEqual([files[2], files[1], cluster[2], files[0]]);
    expect(overlayDocuments([], files)).toBe(files);
  });

  it('documents every flag with an example under --help and -h', async () => {
    expect(await plan(['--help'])).toEqual({ code: 0, stdout: planHelp, stderr: '' });
    expect(await plan(['-s', 'ignored', '-h'])).toEqual({ code: 0, stdout: planHelp, stderr: '' });
    for (const flag of ['-s, --snapshot PATH', '-o, --output FORMAT', '--now TIME', '--cooldown SECONDS', '--kubeconfig FILE', '--ovn', '-h, --help']) {
      expect(planHelp).toMatch(new RegExp(`^ {2,6}${flag} `, 'm'));
    }
    for (const example of ['--snapshot cluster.yaml', '-s -', '--output json', '--now 2025-01-31T12:00:00Z', '--cooldown 300', '--ovn']) {
      expect(planHelp).toMatch(new RegExp(`^ +(kubectl .* \\| )?kube-ovn-ipam plan (.* )?${example}( |$)`, 'm'));
    }
  });

  it('takes snapshot paths from flags and positions, in command-line order', () => {
    expect(E.map((c: { snapshots: readonly string[] }) => c.snapshots)(parsePlanArgs(['a', '--snapshot', 'b', 'c', '-s', 'd', '--snapshot=e', '--', '-f'])))
      .toEqual(E.right(['a', 'b', 'c', 'd', 'e', '-f']));
  });

  it('turns --now and --cooldown into the planner options, with the epoch by default', () => {
    const options = (argv: readonly string[]): unknown => E.map((c: { options: unknown }) => c.options)(parsePlanArgs(argv));
    expect(options(['x'])).toEqual(E.right({ now: 0 }));
    expect(options(['x', '--now', '2025-01-31T13:00:00.5+01:00', '--cooldown', '1.5']))
      .toEqual(E.right({ now: Date.UTC(2025, 0, 31, 12, 0, 0, 500), cooldownMs: 1500 }));
  });
});

describe('kube-ovn-ipam', () => {
  it('lists its commands on stderr and exits 2 without one', async () => {
    expect(await run(runCli, [])).toEqual({ code: 2, stdout: '', stderr: usage });
    expect(usage).toContain('  plan    ');
    expect(usage).toContain('  help    ');
  });

  it.each([[['help']], [['--help']], [['-h']]])('%j prints the usage', async (argv) => {
    expect(await run(runCli, argv)).toEqual({ code: 0, stdout: usage, stderr: '' });
  });

  it('prints a command\'s help', async () => {
    expect(await run(runCli, ['help', 'plan'])).toEqual({ code: 0, stdout: planHelp, stderr: '' });
    expect(await run(runCli, ['plan', '--help'])).toEqual({ code: 0, stdout: planHelp, stderr: '' });
  });

  it.each([[['help', 'toString']], [['constructor']]])('%j is an unknown command', async (argv) => {
    expect(await run(runCli, argv)).toEqual({
      code: 2,
      stdout: '',
      stderr: `kube-ovn-ipam: unknown command ${JSON.stringify(argv[argv.length - 1])}\nRun 'kube-ovn-ipam help' for usage.\n`,
    });
  });

  it('runs plan', async () => {
    expect(await run(runCli, ['plan', '-o', 'json', '-'], '')).toEqual({
      code: 0, stdout: '{\n  "allocations": [],\n  "actions": [],\n  "errors": []\n}\n', stderr: '',
    });
  });
});

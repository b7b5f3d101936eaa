// Command-line value parsing: RFC 3339 times and seconds, exact values and messages; and every
// command's answer to a bad flag.
import { describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import { parseFlags, parseSeconds, parseTimestamp } from '../../src/cli/args.js';
import { runCli } from '../../src/cli/commands.js';

describe('parseTimestamp', () => {
  it.each([
    ['2025-01-31T12:00:00Z', Date.UTC(2025, 0, 31, 12)],
    ['2025-01-31t12:00:00z', Date.UTC(2025, 0, 31, 12)],
    ['2025-01-31 12:00:00Z', Date.UTC(2025, 0, 31, 12)],
    ['2025-01-31T13:30:00+01:30', Date.UTC(2025, 0, 31, 12)],
    ['2025-01-31T10:00:00.25-02:00', Date.UTC(2025, 0, 31, 12, 0, 0, 250)],
    ['2025-01-31T12:00:00.123456789Z', Date.UTC(2025, 0, 31, 12, 0, 0, 123)],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
    ['1970-01-01T00:00:00Z', 0],
  ])('%s is %d', (text, ms) => {
    expect(parseTimestamp(text)).toEqual(E.right(ms));
  });

  it.each([
    ['2025-02-29T00:00:00Z', 'is not a valid date and time'],
    ['2025-04-31T00:00:00Z', 'is not a valid date and time'],
    ['2025-13-01T00:00:00Z', 'is not a valid date and time'],
    ['2025-01-01T24:00:00Z', 'is not a valid date and time'],
    ['2025-01-01T23:59:60Z', 'is not a valid date and time'],
    ['2025-01-01T00:00:00+24:00', 'is not a valid date and time'],
  ])('%s is refused: %s', (text, message) => {
    expect(parseTimestamp(text)).toEqual(E.left(`${JSON.stringify(text)} ${message}`));
  });

  it.each([['2025-01-31'], ['2025-01-31T12:00:00'], ['1738324800'], ['now'], ['']])('%j is not RFC 3339', (text) => {
    expect(parseTimestamp(text)).toEqual(E.left(`expected an RFC 3339 time such as 2025-01-31T12:00:00Z, got ${JSON.stringify(text)}`));
  });
});

describe('parseSeconds', () => {
  it.each([['0', 0], ['300', 300_000], ['1.5', 1500], ['0.0004', 0]])('%s seconds is %d ms', (text, ms) => {
    expect(parseSeconds(text)).toEqual(E.right(ms));
  });

  it.each([['-1'], ['1e3'], ['5m'], [''], ['.5'], ['Infinity']])('%j is refused', (text) => {
    expect(parseSeconds(text)).toEqual(E.left(`expected a number of seconds such as 300, got ${JSON.stringify(text)}`));
  });
});

describe('parseFlags', () => {
  const options = { name: { type: 'string', short: 'n', multiple: true }, verbose: { type: 'boolean', short: 'v' } } as const;

  it('returns flags and positional arguments in command-line order', () => {
    expect(parseFlags(['a', '-n', 'b', '--verbose', '--name=c', 'd', '--', '-e'], options)).toEqual(E.right([
      { kind: 'positional', value: 'a' },
      { kind: 'flag', name: 'name', value: 'b' },
      { kind: 'flag', name: 'verbose', value: undefined },
      { kind: 'flag', name: 'name', value: 'c' },
      { kind: 'positional', value: 'd' },
      { kind: 'positional', value: '-e' },
    ]));
  });
});

// Issue 14 item 6: a bad flag of any long-running command is one line on stderr (an unknown
// flag adds the usage hint) and exit 2, never a throw. The daemon's own rows are in
// test/daemon/cli.test.ts, plan's in test/cli/plan.test.ts, install-cni's in installCni.test.ts.
describe('every command: a bad flag is exit 2 and one line, no stack trace', () => {
  const run = async (argv: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    const out = { stdout: '', stderr: '' };
    const code = await runCli(argv, { stdout: (t) => void (out.stdout += t), stderr: (t) => void (out.stderr += t), readStdin: async () => '' });
    return { code, ...out };
  };
  const hint = (command: string) => `Run 'kube-ovn-ipam ${command} --help' for usage.\n`;
  it.each<[readonly string[], string]>([
    [['controller', '--nope'], `kube-ovn-ipam controller: unknown flag --nope\n${hint('controller')}`],
    [['controller', '--gc-interval', 'soon'], 'kube-ovn-ipam controller: --gc-interval "soon": expected a duration such as 360s or 5m, at most 596h\n'],
    [['controller', '--lease-duration', '0s'], 'kube-ovn-ipam controller: --lease-duration "0s": expected a duration from 3s to 596h\n'],
    [['controller', '--workers', 'many'], 'kube-ovn-ipam controller: --workers "many": expected a positive integer\n'],
    [['controller', '--log-level', 'loud'], 'kube-ovn-ipam controller: --log-level "loud": expected debug, info, warn or error\n'],
    [['webhook', '--nope'], `kube-ovn-ipam webhook: unknown flag --nope\n${hint('webhook')}`],
    [['webhook', '--cert-validity', 'forever'], 'kube-ovn-ipam webhook: --cert-validity "forever": expected a duration of at least 1h, such as 8760h\n'],
    [['webhook', '--listen', '99999'], 'kube-ovn-ipam webhook: --listen "99999": expected HOST:PORT\n'],
    [['webhook', '--log-level', 'loud'], 'kube-ovn-ipam webhook: --log-level "loud": expected debug, info, warn or error\n'],
    [['daemon', '--log-level', 'loud'], 'kube-ovn-ipam daemon: --log-level "loud": expected debug, info, warn or error\n'],
  ])('%j', async (argv, stderr) => {
    expect(await run([...argv, '--kubeconfig', '/nonexistent'])).toEqual({ code: 2, stdout: '', stderr });
  });
});

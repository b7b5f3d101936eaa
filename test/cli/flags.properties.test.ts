// Command-line values are parsed totally (issue 14, item 1): any argv gives a command or one
// line naming the flag and the value (exit 2), never a throw; and a duration a timer cannot hold
// is refused, where Node would have fired it after 1 ms (`--gc-interval 600h` swept every
// millisecond). The snapshot files' YAML too: any text gives documents or the file's error.
import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { parseFlags, parseSeconds, parseTimestamp } from '../../src/cli/args.js';
import { MAX_TIMER_MS, parseDuration, runController } from '../../src/cli/controller.js';
import { parseListen, runDaemon } from '../../src/cli/daemon.js';
import { parsePlanArgs } from '../../src/cli/plan.js';
import { parseDocuments } from '../../src/adapters/snapshotFiles.js';
import { nearMissText } from '../domain/decoders/hostile.js';

const captured = () => {
  const io = { out: '', err: '', stdout: (t: string) => void (io.out += t), stderr: (t: string) => void (io.err += t), readStdin: () => Promise.resolve('') };
  return io;
};

describe('a duration no timer can hold is refused (it fired after 1 ms)', () => {
  it.each<[string, (argv: readonly string[], io: ReturnType<typeof captured>) => Promise<number>, readonly string[], string]>([
    ['controller --gc-interval 600h', runController, ['--gc-interval', '600h'], 'kube-ovn-ipam controller: --gc-interval "600h": expected a duration such as 360s or 5m, at most 596h\n'],
    ['controller --lease-duration 9999999999', runController, ['--lease-duration', '9999999999'], 'kube-ovn-ipam controller: --lease-duration "9999999999": expected a duration from 3s to 596h\n'],
    ['daemon --ovn-installed-timeout 700h', runDaemon, ['--ovn-installed-timeout', '700h'], 'kube-ovn-ipam daemon: --ovn-installed-timeout "700h": expected a duration such as 30s, at most 596h\n'],
  ])('%s', async (_name, run, argv, stderr) => {
    const io = captured();
    expect(await run(argv, io)).toBe(2);
    expect(io.err).toBe(stderr);
  });

  it('596h is the longest', () => {
    expect(parseDuration('596h')).toBeLessThanOrEqual(MAX_TIMER_MS);
    expect(parseDuration('597h')).toBeGreaterThan(MAX_TIMER_MS);
  });
});

const flagValue = fc.oneof(nearMissText, fc.string({ maxLength: 12 }), fc.constantFrom('90s', '5m', '1.5', '2025-01-31T12:00:00Z', '0', '-1', '1e3', '9'.repeat(400), ':', '[::1]:80', ':99999'));

describe('the value parsers never throw (fast-check)', () => {
  it('durations, seconds, times and HOST:PORT: a value, or undefined / an error quoting the text', () => {
    fc.assert(fc.property(flagValue, (text) => {
      const d = parseDuration(text);
      if (d !== undefined) expect(Number.isNaN(d)).toBe(false);
      const s = parseSeconds(text);
      if (E.isLeft(s)) expect(s.left).toContain(JSON.stringify(text));
      const t = parseTimestamp(text);
      if (E.isLeft(t)) expect(t.left).toContain(JSON.stringify(text));
      const l = parseListen(text);
      if (l !== undefined) expect(l.port).toBeLessThanOrEqual(65535);
    }), { numRuns: 2000 });
  });

  it('plan\'s command line: a command, or one problem naming a flag', () => {
    const flags = fc.constantFrom('--snapshot', '--output', '--now', '--cooldown', '--kubeconfig', '--default-subnet', '--ovn', '--help', '--nosuch', '-o', '--', '-');
    const argv = fc.array(fc.oneof(flags, flagValue), { maxLength: 6 });
    fc.assert(fc.property(argv, (args) => {
      const r = parsePlanArgs(args);
      if (E.isLeft(r)) expect(r.left).toMatch(/(--?[\w-]+|flag|argument)/);
      parseFlags(args, { output: { type: 'string', short: 'o' }, ovn: { type: 'boolean' } });
    }), { numRuns: 2000 });
  });
});

describe('snapshot files: documents, or the file\'s first error with its document (fast-check)', () => {
  it.each<[string, string, unknown]>([
    ['an alias bomb', `a: &a [x, x, x, x, x, x, x, x, x, x]\n${Array.from({ length: 10 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`).join('\n')}\n`,
      E.left({ file: 'f.yaml', document: 0, message: expect.stringMatching(/alias/i) as unknown })],
    ['an unresolved alias', 'a: *nowhere\n', E.left({ file: 'f.yaml', document: 0, message: expect.any(String) as unknown })],
    // yaml reports its own stack overflow as a syntax error: the file and a position, no throw.
    ['a flow sequence nested 100,000 deep', `${'['.repeat(100_000)}${']'.repeat(100_000)}\n`,
      E.left({ file: 'f.yaml', document: 0, message: expect.stringMatching(/^line 1, column \d+: Maximum call stack size exceeded$/) as unknown })],
  ])('%s', (_name, text, expected) => {
    expect(parseDocuments('f.yaml', text)).toEqual(expected);
  });

  it('any text', () => {
    const yamlish = fc.array(fc.oneof(nearMissText, fc.constantFrom('---\n', 'kind: Pod\n', 'a: &x 1\n', 'b: *x\n', '  - ', ': ', '{', '[', '!!binary ', '!!str ', '%YAML 1.2\n', '? ', '|\n', '"', "'", '\t', '#')), { maxLength: 12 }).map((xs) => xs.join(''));
    fc.assert(fc.property(fc.oneof(yamlish, fc.string({ maxLength: 60 })), (text) => {
      const r = parseDocuments('f.yaml', text);
      if (E.isLeft(r)) {
        expect(r.left.file).toBe('f.yaml');
        expect(r.left.message).toMatch(/\S/);
      }
    }), { numRuns: 2000 });
  });
});

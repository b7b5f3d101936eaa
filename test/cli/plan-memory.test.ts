// `plan` reads the allocator memory of a Subnet's status (AllocatorMemory.ts): from snapshot
// files as from a cluster. A readable record steers the next dynamic address (never-used first,
// released ones only after --cooldown); an unreadable one is ignored with a warning on stderr.
import { describe, expect, it } from '@jest/globals';
import type { CliIo } from '../../src/cli/io.js';
import { runPlan } from '../../src/cli/plan.js';

const plan = async (argv: readonly string[], stdin: string): Promise<{ code: number; stdout: string; stderr: string }> => {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; }, readStdin: () => Promise.resolve(stdin) };
  const code = await runPlan(argv, io);
  return { code, stdout, stderr };
};

const input = (allocator: string): string => [
  `apiVersion: kubeovn.io/v1\nkind: Subnet\nmetadata: {name: ovn-default}\nspec: {cidrBlock: 10.9.0.0/29, provider: ovn}\nstatus: {allocator: ${allocator}}`,
  'apiVersion: v1\nkind: Pod\nmetadata: {name: e, namespace: default, uid: uid-e}\nspec: {}',
].join('\n---\n');
// .2 and .3 were handed out; .2 released at 2026-12-07T15:00:00Z, .3 too (long ago: implied).
const RECORD = '{v4: {usedUpTo: 10.9.0.3, released: [{ip: 10.9.0.2, at: 1796655600000}]}}';

describe('plan reads status.allocator', () => {
  it.each([
    ['never-used first', RECORD, ['--now', '2026-12-07T15:01:00Z', '--cooldown', '300'], ['10.9.0.4'], ''],
    ['no record: the lowest free', '{}', ['--now', '2026-12-07T15:01:00Z', '--cooldown', '300'], ['10.9.0.2'], ''],
    ['unreadable: ignored, with a warning', '{v4: {usedUpTo: nonsense}}', ['--now', '2026-12-07T15:01:00Z'], ['10.9.0.2'],
      'kube-ovn-ipam plan: warning: Subnet ovn-default: status.allocator.v4.usedUpTo "nonsense" is not an IPv4 address; ignored (released addresses and never-used-first are not known)\n'],
  ])('%s', async (_what, allocator, flags, addresses, stderr) => {
    const r = await plan(['-s', '-', '-o', 'json', ...flags], input(allocator));
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr });
    expect((JSON.parse(r.stdout) as { allocations: { ipAddress: string }[] }).allocations.map((a) => a.ipAddress)).toEqual(addresses);
  });

  it('with every never-used address taken, the released one waits for its cooldown', async () => {
    const full = '{v4: {usedUpTo: 10.9.0.6, released: [{ip: 10.9.0.2, at: 1796655600000}]}}';
    const at = async (now: string) => (JSON.parse((await plan(['-s', '-', '-o', 'json', '--now', now, '--cooldown', '300'], input(full))).stdout) as { allocations: { ipAddress: string }[]; errors: { code: string }[] });
    const early = await at('2026-12-07T15:04:59Z');
    const late = await at('2026-12-07T15:05:00Z');
    expect([early.allocations.map((a) => a.ipAddress), early.errors.map((e) => e.code)]).toEqual([['10.9.0.3'], []]);
    expect([late.allocations.map((a) => a.ipAddress), late.errors.map((e) => e.code)]).toEqual([['10.9.0.2'], []]);
  });
});

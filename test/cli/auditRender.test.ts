// `audit --output table`: what a person reads (exact text), and the flags it refuses (exit 2,
// one line). Pure: no cluster is read (the real one is test/cli/audit.test.ts).
import { describe, expect, it } from '@jest/globals';
import { auditHelp, renderAuditTable, renderFixed, runAudit } from '../../src/cli/audit.js';
import type { CliIo } from '../../src/cli/io.js';
import type { AuditResult } from '../../src/domain/Audit.js';

const RESULT: AuditResult = {
  findings: [
    { kind: 'ClaimWithoutPod', object: 'IP/d.default', message: 'IP object d.default holds 10.16.0.5 in subnet ovn-default, but pod default/d is gone' },
    { kind: 'StatusCountsDisagree', object: 'Subnet/ovn-default', message: 'Subnet ovn-default\'s status says v4usingIPs 4; the claims give v4usingIPs 3' },
  ],
  actions: [
    { type: 'DeleteIP', target: 'd.default', reason: 'release its addresses: pod default/d is gone' },
    { type: 'UpdateSubnetStatus', target: 'ovn-default', reason: 'IPv4 3 in use, 65530 available', status: { v4availableIPs: 65530, v4usingIPs: 3, v4availableIPrange: '', v4usingIPrange: '', v6availableIPs: 0, v6usingIPs: 0, v6availableIPrange: '', v6usingIPrange: '', conditions: [] } },
  ],
};

const run = async (argv: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; }, readStdin: () => Promise.reject(new Error('stdin read')) };
  return { code: await runAudit(argv, io), stdout, stderr };
};

describe('audit: the table', () => {
  it('findings, then the repair plan, columns padded', () => {
    expect(renderAuditTable(RESULT, false)).toBe([
      'FINDINGS',
      'KIND                   OBJECT               MESSAGE',
      'ClaimWithoutPod        IP/d.default         IP object d.default holds 10.16.0.5 in subnet ovn-default, but pod default/d is gone',
      'StatusCountsDisagree   Subnet/ovn-default   Subnet ovn-default\'s status says v4usingIPs 4; the claims give v4usingIPs 3',
      '',
      'REPAIR PLAN (apply with --fix)',
      'TYPE                 TARGET        REASON',
      'DeleteIP             d.default     release its addresses: pod default/d is gone',
      'UpdateSubnetStatus   ovn-default   IPv4 3 in use, 65530 available',
      '',
    ].join('\n'));
  });

  it('nothing found; what --fix applied, or where it stopped', () => {
    expect(renderAuditTable({ findings: [], actions: [] }, false)).toBe('No findings.\n');
    expect(renderFixed(RESULT, { applied: 2 })).toBe('\nAPPLIED 2 of 2 actions\n');
    expect(renderFixed(RESULT, { applied: 1, failed: { type: 'UpdateSubnetStatus', target: 'ovn-default', error: 'forbidden\nby RBAC' } }))
      .toBe('\nAPPLIED 1 of 2 actions; UpdateSubnetStatus ovn-default failed: forbidden by RBAC\n');
  });
});

describe('audit: the command line', () => {
  it.each([
    [['--output', 'yaml'], 'kube-ovn-ipam audit: --output: expected table or json, got "yaml"\nRun \'kube-ovn-ipam audit --help\' for usage.\n'],
    [['--ovn-nb', '/run/ovn/nb.sock'], 'kube-ovn-ipam audit: --ovn-nb "/run/ovn/nb.sock": expected an OVSDB address such as unix:/run/ovn/ovnnb_db.sock or tcp:10.0.0.1:6641\nRun \'kube-ovn-ipam audit --help\' for usage.\n'],
    [['--ovs-db', 'unix:/x'], 'kube-ovn-ipam audit: --ovs-db and --bridge need --node NAME\nRun \'kube-ovn-ipam audit --help\' for usage.\n'],
    [['--frob'], 'kube-ovn-ipam audit: unknown flag --frob\nRun \'kube-ovn-ipam audit --help\' for usage.\n'],
    [['--kubeconfig', '/nonexistent/kc'], 'kube-ovn-ipam audit: cannot read kubeconfig /nonexistent/kc: ENOENT: no such file or directory, open \'/nonexistent/kc\'\n'],
  ])('%j: exit 2, one message', async (argv, stderr) => {
    expect(await run(argv)).toEqual({ code: 2, stdout: '', stderr });
  });

  it('--help: the usage on stdout, exit 0', async () => {
    expect(await run(['--help'])).toEqual({ code: 0, stdout: auditHelp, stderr: '' });
  });
});

// The chaos run of issue 14 in its short form (the long form, 2,000 pods: `npm run chaos`):
// pods with three networks each created, ADDed and deleted, 8 at a time, while the controller
// and the daemon are SIGKILLed, the API server is SIGKILLed and restarted, and our requests meet
// injected 500s, 409s, lost answers, slow answers and cut watches. At the end `audit` finds
// nothing, and every live pod's last ADD answer is the address its annotation holds. What runs
// and what is left out: test/harness/chaos.ts.
import { expect, it } from '@jest/globals';
import { runChaos } from '../harness/chaos.js';

const PODS = Number(process.env['CHAOS_PODS'] ?? 240);

it(`${PODS} pods x 3 networks through controller and daemon SIGKILLs, an API server restart and injected faults: audit finds nothing`, async () => {
  const report = await runChaos({
    pods: PODS, concurrency: 8, deleteShare: 0.7, sameNameShare: 0.1,
    controllerKills: 3, daemonKills: 3, apiRestarts: 1,
    rates: { error500: 0.03, conflict409: 0.03, lostAnswer: 0.03, slow: 0.03, watchCut: 0.2 },
    seed: Number(process.env['CHAOS_SEED'] ?? 14),
    log: (line) => process.stderr.write(`chaos: ${line}\n`),
  });
  process.stderr.write(`chaos report: ${JSON.stringify(report)}\n`);
  expect({ problems: report.problems, audit: { code: report.audit.code, findings: report.audit.findings } })
    .toEqual({ problems: [], audit: { code: 0, findings: [] } });
  expect(report.created).toBe(PODS);
  expect({ controllerKills: report.controllerKills, daemonKills: report.daemonKills, apiRestarts: report.apiRestarts })
    .toEqual({ controllerKills: 3, daemonKills: 3, apiRestarts: 1 });
  // The faults did happen: every kind at least once.
  for (const kind of ['error500', 'conflict409', 'alreadyExists409', 'lostAnswer', 'slow', 'watchCut'] as const) {
    expect([kind, report.faults[kind] > 0]).toEqual([kind, true]);
  }
}, 900_000);

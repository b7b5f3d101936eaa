// `npm run chaos`: the long form of the chaos run of issue 14 (test/harness/chaos.ts; its short
// form is test/chaos/chaos.test.ts in the tests): 2,000 pod creations with three networks each,
// most of them deleted again, through controller and daemon SIGKILLs, API server restarts and
// injected faults. Prints the report as JSON and one line per figure; exits 1 when the run
// found a problem or `audit` found anything at the end.
//   CHAOS_PODS (default 2000), CHAOS_CONCURRENCY (16), CHAOS_SEED (14).
import { runChaos } from '../test/harness/chaos.js';

const pods = Number(process.env['CHAOS_PODS'] ?? 2_000);
const report = await runChaos({
  pods, concurrency: Number(process.env['CHAOS_CONCURRENCY'] ?? 16), deleteShare: 0.75, sameNameShare: 0.1,
  controllerKills: 10, daemonKills: 10, apiRestarts: 2,
  rates: { error500: 0.03, conflict409: 0.03, lostAnswer: 0.03, slow: 0.03, watchCut: 0.2 },
  seed: Number(process.env['CHAOS_SEED'] ?? 14),
  log: (line) => process.stderr.write(`chaos: ${line}\n`),
});
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
const ok = report.problems.length === 0 && report.audit.code === 0 && report.audit.findings.length === 0;
process.stdout.write(`chaos: ${report.created} pods created, ${report.deleted} deleted (${report.sameName} under an earlier pod's name), ${report.livePods} live at the end\n`);
process.stdout.write(`chaos: ${report.adds} ADDs (${report.addRetries} answered "try again"), ${report.dels} DELs; ${report.controllerKills} controller and ${report.daemonKills} daemon SIGKILLs, ${report.apiRestarts} API server restarts\n`);
process.stdout.write(`chaos: faults injected ${JSON.stringify(report.faults)}\n`);
process.stdout.write(`chaos: pod created to its ADDs answered p50 ${report.addLatencyMs.p50} ms, p99 ${report.addLatencyMs.p99} ms, max ${report.addLatencyMs.max} ms; run ${report.runMs} ms; converged ${report.convergeMs} ms after the faults stopped\n`);
process.stdout.write(`chaos: ${ok ? 'audit found nothing' : `FAILED: ${report.problems.length} problems, audit exit ${report.audit.code} with ${report.audit.findings.length} findings`}\n`);
process.exitCode = ok ? 0 : 1;

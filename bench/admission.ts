// Admission latency (issue 12): 1,000 pod creations through the real API server with our
// webhooks registered, beside the same 1,000 with the webhook configurations removed (same
// cluster, same run, alternating blocks of 250). The creations are server-side dry runs
// (`?dryRun=All`): the API server runs every admission step, webhooks included (ours declare
// sideEffects None), and writes nothing, so what is measured is admission and nothing else —
// no scheduling, no sandbox, no allocation load on the controller.
// Each pod asks for what makes both of our webhooks work: an IPAM-only attachment with a
// static MAC (mutated into the networks annotation) and a static address (validated against
// the claims). A block with the webhooks checks that the answer came back mutated; a block
// without checks that it did not: a block never measures the other case by accident.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import type { Cluster } from '../test/harness/cluster.js';
import { percentile, report } from './report.js';

const CREATIONS = 1000;
const BLOCK = 250;
const CONFIG = 'kube-ovn-ipam-webhook';
const KINDS = ['mutatingwebhookconfiguration', 'validatingwebhookconfiguration'] as const;

interface Answer { readonly status: number; readonly body: string }

const podOf = (nad: string, i: number): object => ({
  apiVersion: 'v1', kind: 'Pod',
  metadata: {
    name: `admission-bench-${i}`, namespace: 'default',
    annotations: {
      'k8s.v1.cni.cncf.io/networks': nad,
      [`${nad}.default.kubernetes.io/mac_address`]: `02:00:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`,
      [`${nad}.default.kubernetes.io/ip_address`]: `172.30.${200 + Math.floor(i / 250)}.${(i % 250) + 1}`,
    },
  },
  spec: { containers: [{ name: 'c', image: 'alpine' }] },
});

/** One dry-run create; resolves with the status, the body and the milliseconds it took. */
function dryRunCreate(c: Cluster, agent: Agent, body: string): Promise<Answer & { readonly ms: number }> {
  const url = new URL('/api/v1/namespaces/default/pods?dryRun=All', c.url);
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const req = request(url, {
      method: 'POST', agent,
      headers: { authorization: `Bearer ${c.token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: Number(process.hrtime.bigint() - start) / 1e6 }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const mutated = (answer: Answer): boolean => {
  const networks = (JSON.parse(answer.body) as { metadata?: { annotations?: Record<string, string> } }).metadata?.annotations?.['k8s.v1.cni.cncf.io/networks'] ?? '';
  return networks.startsWith('[');
};

/** Waits until the API server's admission chain does (or does not) call our webhooks. */
async function untilWebhooks(c: Cluster, agent: Agent, nad: string, on: boolean): Promise<void> {
  const probe = JSON.stringify(podOf(nad, 0));
  for (const start = Date.now(); Date.now() - start < 60_000;) {
    const answer = await dryRunCreate(c, agent, probe);
    if (answer.status === 201 && mutated(answer) === on) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`admission bench: the webhooks did not become ${on ? 'active' : 'inactive'} within 60 s`);
}

export async function benchAdmission(c: Cluster, nad: string): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: readFileSync(c.caPath) });
  const saved = await Promise.all(KINDS.map(async (kind) => {
    const o = JSON.parse(await c.kubectlOk(['get', kind, CONFIG, '-o', 'json'])) as { metadata: Record<string, unknown> };
    const { name, labels } = o.metadata;
    return { ...o, metadata: { name, labels } };
  }));
  const bodies = Array.from({ length: CREATIONS }, (_, i) => JSON.stringify(podOf(nad, i)));
  const withWebhooks: number[] = [];
  const without: number[] = [];
  try {
    for (let block = 0; block < (CREATIONS / BLOCK) * 2; block++) {
      const on = block % 2 === 0;
      if (on) {
        await c.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: saved }) });
      } else {
        await c.kubectlOk(['delete', ...KINDS.map((k) => `${k}/${CONFIG}`), '--ignore-not-found']);
      }
      await untilWebhooks(c, agent, nad, on);
      const first = Math.floor(block / 2) * BLOCK;
      for (let i = first; i < first + BLOCK; i++) {
        const answer = await dryRunCreate(c, agent, bodies[i]!);
        if (answer.status !== 201 || mutated(answer) !== on) throw new Error(`admission bench: pod ${i} ${on ? 'with' : 'without'} webhooks: ${answer.status} ${answer.body.slice(0, 300)}`);
        (on ? withWebhooks : without).push(answer.ms);
      }
    }
  } finally {
    await c.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: saved }) });
    agent.destroy();
  }
  for (const p of [50, 99]) {
    const [ours, bare] = [percentile(withWebhooks, p), percentile(without, p)];
    report({
      name: `admission.podCreate.dryRun.p${p}`, value: ours, unit: 'ms', baseline: bare,
      baselineName: 'same creations, webhook configurations removed', ratio: ours / bare,
    });
  }
  const webhookP99 = percentile(withWebhooks, 99) - percentile(without, 99);
  process.stderr.write(`admission bench: ${withWebhooks.length} creations with the webhooks, ${without.length} without; p99 difference ${webhookP99.toFixed(1)} ms (target: the webhook answers in < 100 ms p99)\n`);
}

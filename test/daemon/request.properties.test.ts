// The daemon's socket over hostile requests (issue 14, item 1): the real daemon (startNodeDaemon,
// the command's own wiring, against a real kube-apiserver) on a temp unix socket, asked by HTTP.
// Whatever the body, the answer is a CniResponse `{error, code}` with the spec's code — 6 for a
// body that is not a JSON object, 7 for a field of the wrong type or value, naming the field —
// or 11 when the request is good but the pod never gets its allocation (the daemon's 500 for
// that); never a stack, never code 999, and the daemon keeps answering.
// Only ADD is asked with generated requests: a DEL of an OVN provider would unplug host links.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { startNodeDaemon, type RunningDaemon } from '../../src/cli/daemon.js';
import { startApiServer, type ApiServer } from '../harness/apiserver.js';
import { memoryLog, stopNodeCluster } from '../harness/inProcess.js';
import { makeTempDir, type TempDir } from '../harness/tmp.js';
import { jsonTextFrom } from '../domain/decoders/hostile.js';

interface Answer { readonly status: number; readonly body: unknown }

/** POSTs `payload` to the socket; the status and the parsed body (the text when not JSON). */
const post = (socketPath: string, path: string, payload: string): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const req = httpRequest({ socketPath, path, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = text === '' ? undefined : JSON.parse(text) as unknown;
        } catch {
          // kept as text: the assertion shows it
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });

const valid = {
  cni_type: 'kube-ovn', pod_name: 'nobody', pod_namespace: 'default', container_id: 'c0ffee01', net_ns: '/var/run/netns/x', if_name: 'net1',
  provider: 'macvlan.default', routes: [{ dst: '10.0.0.0/8', gw: '172.17.0.1' }], pod_uid: 'u-1', mac: '02:00:00:00:00:07', deadline_ms: 50, check: false,
};

describe('the daemon socket over hostile requests', () => {
  let api: ApiServer;
  let running: RunningDaemon;
  let tmp: TempDir;
  let socket: string;

  beforeAll(async () => {
    api = await startApiServer();
    // The seed's macvlan Subnet binds macvlan.default: a good request then waits for its pod.
    await api.kubectlOk(['apply', '-f', '-'], { input: readFileSync(new URL('../../examples/macvlan-ipam/02-subnet-macvlan.yaml', import.meta.url), 'utf8') });
    tmp = makeTempDir('daemon-requests');
    socket = `${tmp.path}/kube-ovn-daemon.sock`;
    running = await startNodeDaemon({
      kubeconfig: api.kubeconfigPath, nodeName: 'node-a', socket, mtu: 1400, bridge: 'br-int', ovnInstalledTimeoutMs: 0, defaultDeadlineMs: 50,
    }, memoryLog());
  }, 90_000);

  afterAll(() => stopNodeCluster({ running, api, tmp }), 60_000);

  it.each<[string, string, number, unknown]>([
    ['not JSON', '{"pod_name":', 400, { code: 6, error: 'the request body is not JSON: Unexpected end of JSON input' }],
    ['an array', '[{}]', 400, { code: 6, error: 'the request body must be a JSON object (a CniRequest)' }],
    ['a number pod_name', JSON.stringify({ ...valid, pod_name: 7 }), 400, { code: 7, error: 'CNI request: pod_name: expected a string, got the number 7' }],
    ['routes of the wrong shape', JSON.stringify({ ...valid, routes: [{ dst: 1 }, 'x'] }), 400,
      { code: 7, error: 'CNI request: routes[0].dst: expected a string, got the number 1; routes[1]: expected an object, got the string "x"' }],
    ['a route that is no CIDR', JSON.stringify({ ...valid, routes: [{ dst: '10.0.0.0/033' }] }), 400,
      { code: 7, error: 'invalid CNI request: routes[0].dst: "10.0.0.0/033" has an invalid prefix length (expected 0 to 32)' }],
    ['a 16-byte if_name', JSON.stringify({ ...valid, if_name: 'abcdefghijklmnop' }), 400, { code: 7, error: 'invalid CNI request: if_name "abcdefghijklmnop" is longer than 15 bytes' }],
    ['deadline_ms 1.5', JSON.stringify({ ...valid, deadline_ms: 1.5 }), 400, { code: 7, error: 'invalid CNI request: deadline_ms 1.5 must be a positive integer' }],
    ['__proto__ holding the fields', `{"__proto__":${JSON.stringify(valid)}}`, 400,
      { code: 7, error: 'invalid CNI request: container_id "" must be letters, digits, "_", "-" and "." (CNI_CONTAINERID); if_name "" is empty; pod_name is empty (K8S_POD_NAME in CNI_ARGS); pod_namespace is empty (K8S_POD_NAMESPACE in CNI_ARGS)' }],
    // Decoded (dns passes unread), then waited for: the pod does not exist.
    ['dns nested 100,000 deep', JSON.stringify({ ...valid, dns: 0 }).replace('"dns":0', `"dns":${'['.repeat(100_000)}${']'.repeat(100_000)}`), 500,
      { code: 11, error: expect.stringMatching(/^no address allocated to pod default\/nobody for provider macvlan\.default within /) as unknown }],
    ['a provider no Subnet binds', JSON.stringify({ ...valid, provider: 'nosuch.default' }), 400,
      { code: 7, error: 'provider nosuch.default is not bound to any subnet (no Subnet has spec.provider nosuch.default)' }],
  ])('%s', async (_name, payload, status, body) => {
    expect(await post(socket, '/api/v1/add', payload)).toEqual({ status, body });
  });

  it('any body: a CniResponse with code 6, 7 or 11 naming what is wrong; 500 only for \'not allocated in time\', never 999 (fast-check)', async () => {
    // A request that is good apart from its deadline waits that long: keep it short.
    const shortDeadline = (v: unknown): unknown =>
      typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as { deadline_ms?: unknown }).deadline_ms === 'number'
        ? { ...v, deadline_ms: Math.min(50, (v as { deadline_ms: number }).deadline_ms) } : v;
    const bodies = jsonTextFrom(valid, shortDeadline);
    await fc.assert(fc.asyncProperty(bodies, async (payload) => {
      const { status, body } = await post(socket, '/api/v1/add', payload);
      expect(body).toEqual({ code: expect.any(Number) as unknown, error: expect.any(String) as unknown });
      const { code, error } = body as { code: number; error: string };
      expect([6, 7, 11]).toContain(code);
      // 500 is the daemon's answer for "not allocated in time" (code 11) only, never for what it decodes.
      expect([status, code]).toEqual(status === 500 ? [500, 11] : [400, expect.any(Number)]);
      if (status === 500) expect(error).toMatch(/^no address allocated to pod /);
      expect(error).not.toMatch(/\n\s+at /);
      if (code === 6) expect(error).toMatch(/^the request body /);
      if (code === 7) expect(error).toMatch(/\b(cni_type|pod_name|pod_namespace|container_id|net_ns|if_name|provider|routes|dns|pod_uid|mac|deadline_ms|check)\b/);
    }), { numRuns: 400 });
  }, 120_000);
});

// The CNI plugin's side of the daemon socket (DESIGN §3.6, Protocol.ts): HTTP over the unix
// socket, `POST /api/v1/add` (200 + CniResponse) and `POST /api/v1/del` (204).
// Rules:
// - Never throws: every outcome is a value with the CNI code the plugin should print.
// - Cannot connect (no socket, refused, reset) or no answer in time: 11 "try again later", with
//   the socket path and the system error, so the runtime retries and a person knows where to look.
// - An answer other than 2xx: the CniResponse's `error` and `code`; without a code, 11 for 5xx
//   (the daemon may succeed later) and 7 for 4xx (the request or its configuration is wrong).
// - One connection per request, closed after (`agent: false`): nothing keeps the plugin alive.
import { request as httpRequest } from 'node:http';
import { CniCode, type CniRequest, type CniResponse } from '../domain/cni/Protocol.js';
import { failure, success, type Outcome } from '../domain/cni/PluginConfig.js';
import { PluginCode } from '../domain/cni/Result.js';

export interface DaemonClient {
  readonly socketPath: string;
  /** POST /api/v1/add; the daemon's answer, or why there is none. */
  readonly add: (req: CniRequest, timeoutMs: number) => Promise<Outcome<CniResponse>>;
  /** POST /api/v1/del; success when the daemon answered 2xx. */
  readonly del: (req: CniRequest, timeoutMs: number) => Promise<Outcome<undefined>>;
  /** Whether the daemon answers HTTP on its socket at all (any status counts). */
  readonly ping: (timeoutMs: number) => Promise<Outcome<undefined>>;
}

interface Answer {
  readonly status: number;
  readonly body: string;
}

const hint = (code: string | undefined): string =>
  code === 'EACCES' || code === 'EPERM'
    ? ' (may this process use the socket? the plugin runs as root on the node)'
    : ' (is the daemon running on this node?)';

/** The system error as `connect ENOENT`, without the path Node appends (we name it once). */
const describe = (err: NodeJS.ErrnoException): string =>
  err.syscall !== undefined && err.code !== undefined ? `${err.syscall} ${err.code}` : err.message;

const exchange = (socketPath: string, method: string, path: string, body: string | undefined, timeoutMs: number): Promise<Outcome<Answer>> =>
  new Promise((resolve) => {
    let settled = false;
    const settle = (outcome: Outcome<Answer>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const req = httpRequest({
      socketPath,
      method,
      path,
      agent: false,
      headers: body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => settle(success({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') })));
      res.on('error', (err: NodeJS.ErrnoException) => settle(failure(CniCode.TryAgainLater,
        `lost the connection to the kube-ovn-ipam daemon at ${socketPath}: ${describe(err)}`)));
    });
    const timer = setTimeout(() => {
      settle(failure(CniCode.TryAgainLater, `the kube-ovn-ipam daemon at ${socketPath} did not answer ${method} ${path} within ${timeoutMs} ms`));
      req.destroy();
    }, Math.max(0, timeoutMs));
    req.on('error', (err: NodeJS.ErrnoException) => {
      settle(failure(CniCode.TryAgainLater, err.syscall === 'connect'
        ? `cannot reach the kube-ovn-ipam daemon at ${socketPath}: ${describe(err)}${hint(err.code)}`
        : `lost the connection to the kube-ovn-ipam daemon at ${socketPath}: ${describe(err)}`));
    });
    req.end(body);
  });

const parseResponse = (text: string): CniResponse | undefined => {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as CniResponse) : undefined;
  } catch {
    return undefined;
  }
};

/** Maps a non-2xx answer to the CNI error it carries. */
const refusal = (socketPath: string, path: string, answer: Answer): Outcome<never> => {
  const parsed = parseResponse(answer.body);
  const fallback = answer.status >= 500 ? CniCode.TryAgainLater : CniCode.InvalidConfig;
  const code = typeof parsed?.code === 'number' && Number.isInteger(parsed.code) && parsed.code > 0 ? parsed.code : fallback;
  const text = typeof parsed?.error === 'string' && parsed.error !== '' ? parsed.error : answer.body.trim();
  return failure(code, text === ''
    ? `the kube-ovn-ipam daemon at ${socketPath} answered ${path} with HTTP ${answer.status}`
    : text, `HTTP ${answer.status} from ${path} on ${socketPath}`);
};

export const daemonClient = (socketPath: string): DaemonClient => ({
  socketPath,
  add: async (req, timeoutMs) => {
    const sent = await exchange(socketPath, 'POST', '/api/v1/add', JSON.stringify(req), timeoutMs);
    if (!sent.ok) return sent;
    const answer = sent.value;
    if (answer.status < 200 || answer.status > 299) return refusal(socketPath, '/api/v1/add', answer);
    const parsed = parseResponse(answer.body);
    if (parsed === undefined) {
      return failure(PluginCode.Internal, `the kube-ovn-ipam daemon at ${socketPath} answered /api/v1/add with something that is not a JSON object`, answer.body.slice(0, 200));
    }
    return success(parsed);
  },
  del: async (req, timeoutMs) => {
    const sent = await exchange(socketPath, 'POST', '/api/v1/del', JSON.stringify(req), timeoutMs);
    if (!sent.ok) return sent;
    if (sent.value.status < 200 || sent.value.status > 299) return refusal(socketPath, '/api/v1/del', sent.value);
    return success(undefined);
  },
  ping: async (timeoutMs) => {
    const sent = await exchange(socketPath, 'GET', '/', undefined, timeoutMs);
    return sent.ok ? success(undefined) : sent;
  },
});

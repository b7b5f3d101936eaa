// A client of the OVSDB management protocol (RFC 7047: JSON-RPC 1.0 over a stream socket), for
// the daemon's Open_vSwitch database: one connection, kept, instead of an ovs-vsctl process
// per call (each of which connects, downloads the tables it needs and exits).
//
// Rules:
// - `unix:PATH` or `tcp:HOST:PORT`. The connection is made on the first call and again after
//   it fails or closes; a call in flight when it fails is rejected.
// - Messages are JSON texts back to back (no separator): they are split by tracking the nesting
//   of brackets outside strings. The server's `echo` is answered.
// - `transact` resolves with the operations' results (an operation that failed has `error`;
//   `failureOf` names the first); an RPC error or no answer within the call's time rejects
//   with an OvsdbError naming the method and what the server said.
// - `monitor` is one monitor per connection for the tables and columns it is asked for at the
//   first call (made again on reconnect); `rows(table)` is what it holds, and `waitFor(check)`
//   resolves once `check()` holds, re-checked on every update the server sends (no polling).
// - The socket holds the process open only while a call or a wait is outstanding.
import { connect, type Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';

export class OvsdbError extends Error {
  constructor(readonly method: string, readonly detail: string, readonly timedOut: boolean) {
    super(`ovsdb ${method}: ${detail}`);
    this.name = 'OvsdbError';
  }
}

/** A row as the monitor holds it: column → OVSDB JSON value. */
export type Row = Readonly<Record<string, unknown>>;

/** The tables and columns the monitor follows. */
export type MonitorSpec = Readonly<Record<string, readonly string[]>>;

export interface OvsdbClient {
  /** One transaction on `database`; resolves with each operation's result (see failureOf). */
  transact(database: string, ops: readonly unknown[], timeoutMs: number): Promise<readonly Row[]>;
  /** Resolves once `check()` (over the monitor's rows) holds; rejects after `timeoutMs`. */
  waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void>;
  /** The monitored rows of `table`, by UUID (empty before the first update). */
  rows(table: string): ReadonlyMap<string, Row>;
  close(): void;
}

/** The first failed operation of a transaction's results (`error: details`), or undefined. */
export const failureOf = (results: readonly Row[]): string | undefined => {
  const failed = results.find((r) => r !== null && typeof r === 'object' && typeof r['error'] === 'string');
  return failed === undefined ? undefined : `${String(failed['error'])}${typeof failed['details'] === 'string' ? `: ${failed['details']}` : ''}`;
};

interface Pending { resolve(result: unknown): void; reject(err: Error): void; readonly method: string }

/** Runs on an answer as it is read, before any later message of the same read is handled. */
type OnAnswer = (result: unknown) => void;

/** Splits a stream of back-to-back JSON texts; `push` returns the complete ones. */
const splitter = (): { push(chunk: Buffer): string[] } => {
  const decoder = new StringDecoder('utf8');
  let buf = '';
  let depth = 0;
  let inString = false;
  let escaped = false;
  let scanned = 0;
  return {
    push: (chunk) => {
      buf += decoder.write(chunk);
      const out: string[] = [];
      let start = 0;
      for (let i = scanned; i < buf.length; i++) {
        const c = buf[i];
        if (inString) {
          if (escaped) escaped = false;
          else if (c === '\\') escaped = true;
          else if (c === '"') inString = false;
        } else if (c === '"') inString = true;
        else if (c === '{' || c === '[') depth++;
        else if ((c === '}' || c === ']') && --depth === 0) {
          out.push(buf.slice(start, i + 1).trim());
          start = i + 1;
        }
      }
      buf = buf.slice(start);
      scanned = buf.length;
      return out;
    },
  };
};

const connectTo = (db: string): Socket => {
  if (db.startsWith('unix:')) return connect(db.slice(5));
  const m = /^tcp:(.+):(\d+)$/.exec(db);
  if (m === null) throw new OvsdbError('connect', `cannot connect to ${db}: only unix:PATH and tcp:HOST:PORT are supported`, false);
  return connect(Number(m[2]), m[1]);
};

export function makeOvsdbClient(db: string, database: string, monitor: MonitorSpec): OvsdbClient {
  let socket: Socket | undefined;
  let nextId = 1;
  const pending = new Map<number, Pending>();
  const tables = new Map<string, Map<string, Row>>(Object.keys(monitor).map((t) => [t, new Map()]));
  const waiters = new Set<() => void>();
  let monitored: Promise<void> | undefined;

  const holdOpen = (): void => {
    if (pending.size > 0 || waiters.size > 0) socket?.ref();
    else socket?.unref();
  };

  const fail = (why: string): void => {
    socket?.destroy();
    socket = undefined;
    monitored = undefined;
    for (const p of pending.values()) p.reject(new OvsdbError(p.method, why, false));
    pending.clear();
    for (const recheck of [...waiters]) recheck();
  };

  const applyUpdates = (updates: Record<string, Record<string, { new?: Row }>>): void => {
    for (const [table, rows] of Object.entries(updates)) {
      const held = tables.get(table);
      if (held === undefined) continue;
      for (const [uuid, change] of Object.entries(rows)) {
        if (change.new === undefined) held.delete(uuid);
        else held.set(uuid, change.new);
      }
    }
    for (const recheck of [...waiters]) recheck();
  };

  const onMessage = (text: string): void => {
    const msg = JSON.parse(text) as { id?: unknown; method?: string; params?: unknown[]; result?: unknown; error?: unknown };
    if (msg.method === 'echo') {
      socket?.write(JSON.stringify({ id: msg.id, result: msg.params ?? [], error: null }));
      return;
    }
    if (msg.method === 'update') {
      applyUpdates((msg.params?.[1] ?? {}) as Record<string, Record<string, { new?: Row }>>);
      return;
    }
    const call = typeof msg.id === 'number' ? pending.get(msg.id) : undefined;
    if (call === undefined) return;
    pending.delete(msg.id as number);
    holdOpen();
    if (msg.error !== null && msg.error !== undefined) call.reject(new OvsdbError(call.method, JSON.stringify(msg.error), false));
    else call.resolve(msg.result);
  };

  const open = (): Socket => {
    if (socket !== undefined) return socket;
    const s = connectTo(db);
    const split = splitter();
    s.on('data', (chunk: Buffer) => {
      try {
        for (const text of split.push(chunk)) onMessage(text);
      } catch (err) {
        fail(`unreadable answer from ${db}: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
    s.on('error', (err) => fail(`${db}: ${err.message}`));
    s.on('close', () => {
      if (socket === s) fail(`${db}: the connection closed`);
    });
    socket = s;
    return s;
  };

  const call = (method: string, params: readonly unknown[], timeoutMs: number, onAnswer?: OnAnswer): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        if (!pending.delete(id)) return;
        holdOpen();
        reject(new OvsdbError(method, `no answer from ${db} within ${timeoutMs} ms`, true));
      }, timeoutMs);
      const settle = <T>(f: (v: T) => void) => (v: T): void => {
        clearTimeout(timer);
        f(v);
      };
      pending.set(id, {
        method, reject: settle(reject),
        resolve: settle((result: unknown) => {
          onAnswer?.(result);
          resolve(result);
        }),
      });
      try {
        open().write(JSON.stringify({ id, method, params }));
      } catch (err) {
        pending.delete(id);
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      }
      holdOpen();
    });

  /** The monitor of this connection, started once per connection. */
  const ensureMonitor = (timeoutMs: number): Promise<void> => {
    monitored ??= (async () => {
      const requests = Object.fromEntries(Object.entries(monitor).map(([t, columns]) => [t, { columns }]));
      // The initial rows are taken as the answer is read: an update the server sent right
      // after it (maybe in the same read) is newer and must land on top, not under them.
      await call('monitor', [database, null, requests], timeoutMs, (initial) => {
        for (const held of tables.values()) held.clear();
        applyUpdates(initial as Record<string, Record<string, { new?: Row }>>);
      });
    })().catch((err: unknown) => {
      monitored = undefined;
      throw err;
    });
    return monitored;
  };

  return {
    transact: async (dbName, ops, timeoutMs) => await call('transact', [dbName, ...ops], timeoutMs) as readonly Row[],
    waitFor: async (check, timeoutMs, what) => {
      const deadline = Date.now() + timeoutMs;
      await ensureMonitor(timeoutMs);
      if (check()) return;
      await new Promise<void>((resolve, reject) => {
        const done = (err?: Error): void => {
          clearTimeout(timer);
          waiters.delete(recheck);
          holdOpen();
          if (err === undefined) resolve();
          else reject(err);
        };
        const recheck = (): void => {
          if (check()) done();
          else if (monitored === undefined) done(new OvsdbError('monitor', `the connection to ${db} was lost while waiting for ${what}`, false));
        };
        const timer = setTimeout(() => done(new OvsdbError('monitor', `${what} did not happen within ${timeoutMs} ms`, true)), Math.max(0, deadline - Date.now()));
        waiters.add(recheck);
        holdOpen();
      });
    },
    rows: (table) => tables.get(table) ?? new Map(),
    close: () => fail('the client was closed'),
  };
}

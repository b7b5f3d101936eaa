// Network namespaces and veth pairs for tests ("pods are network namespaces", DESIGN.md §4).
//
// Rules:
// - Names are unique per test process: namespaces `kovt-<pid>-<n>`, host-side links
//   `kv<pid>-<n><suffix>` (at most 15 bytes, the kernel's limit), so parallel jest workers
//   never collide and a leftover can be traced to the process that made it.
// - Everything created here is tracked twice: in this module (so `destroyAll` in afterAll
//   removes what this test file made) and by the reaper (so a crash removes it anyway).
// - Deletes are idempotent: deleting what is already gone succeeds.
import { existsSync, readdirSync } from 'node:fs';
import { describeFailure, run, runOk, sleep, type RunOptions, type RunResult } from './exec.js';
import { track, uniqueNumber, untrack } from './reaper.js';

export const NETNS_PREFIX = 'kovt-';
export const NETNS_DIR = '/var/run/netns';
export const LINK_PREFIX = 'kv';
const IFNAMSIZ = 15;

/** The path a CNI runtime passes as CNI_NETNS for the namespace `name`. */
export function netnsPath(name: string): string {
  return `${NETNS_DIR}/${name}`;
}

/** True when the named namespace exists. */
export function netnsExists(name: string): boolean {
  return existsSync(netnsPath(name));
}

/** The namespaces whose names this process would make (for leak checks). */
export function ownNetnsNames(): string[] {
  if (!existsSync(NETNS_DIR)) return [];
  return readdirSync(NETNS_DIR).filter((n) => n.startsWith(`${NETNS_PREFIX}${process.pid}-`));
}

// What this module instance (one test file) created and has not deleted: name → reaper id.
const namespaces = new Map<string, number>();
const links = new Map<string, { readonly end: LinkEnd; readonly id: number }>();
const linkKey = (end: LinkEnd): string => `${end.netns ?? ''}/${end.name}`;

/** Creates an empty network namespace with `lo` up; resolves with its name. */
export async function createNetns(): Promise<string> {
  const name = `${NETNS_PREFIX}${process.pid}-${uniqueNumber()}`;
  const id = track({ kind: 'netns', name });
  namespaces.set(name, id);
  await runOk(['ip', 'netns', 'add', name]);
  await runOk(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
  return name;
}

/** Deletes a namespace (and with it every link inside); succeeds when it is already gone. */
export async function deleteNetns(name: string): Promise<void> {
  if (netnsExists(name)) {
    const result = await run(['ip', 'netns', 'del', name]);
    if (result.code !== 0 && netnsExists(name)) throw new Error(describeFailure(result));
  }
  const id = namespaces.get(name);
  if (id !== undefined) untrack(id);
  namespaces.delete(name);
}

/** Runs argv inside the namespace (`ip netns exec`); never throws for a non-zero exit. */
export function inNetns(name: string, argv: readonly string[], options?: RunOptions): Promise<RunResult> {
  return run(['ip', 'netns', 'exec', name, ...argv], options);
}

/** Like `inNetns`, but rejects unless the command exits 0; resolves with its stdout. */
export function inNetnsOk(name: string, argv: readonly string[], options?: RunOptions): Promise<string> {
  return runOk(['ip', 'netns', 'exec', name, ...argv], options);
}

/** A fresh link name `kv<pid>-<n><suffix>` that fits IFNAMSIZ. */
export function uniqueLinkName(suffix = ''): string {
  const name = `${LINK_PREFIX}${process.pid}-${uniqueNumber()}${suffix}`;
  if (Buffer.byteLength(name) > IFNAMSIZ) throw new Error(`link name ${name} is longer than ${IFNAMSIZ} bytes`);
  return name;
}

/** One end of a link: its name and namespace (undefined: this process's namespace). */
export interface LinkEnd {
  readonly name: string;
  readonly netns?: string | undefined;
}

const ipIn = (netns: string | undefined): string[] => (netns === undefined ? ['ip'] : ['ip', '-n', netns]);

/**
 * Creates a veth pair with `a` and `b` each directly in its namespace (so `b` may be named
 * `eth0` inside a pod even though the host has one) and, unless `up` is false, sets both up.
 */
export async function createVethPair(a: LinkEnd, b: LinkEnd, { up = true } = {}): Promise<void> {
  const id = track({ kind: 'link', name: a.name, ...(a.netns === undefined ? {} : { netns: a.netns }) });
  links.set(linkKey(a), { end: a, id });
  await runOk([...ipIn(a.netns), 'link', 'add', a.name, 'type', 'veth', 'peer', 'name', b.name,
    ...(b.netns === undefined ? [] : ['netns', b.netns])]);
  if (up) {
    await setLinkUp(a);
    await setLinkUp(b);
  }
}

/** Sets a link up. */
export async function setLinkUp(end: LinkEnd): Promise<void> {
  await runOk([...ipIn(end.netns), 'link', 'set', 'dev', end.name, 'up']);
}

/** True when the link exists (in `end.netns`, or here). */
export async function linkExists(end: LinkEnd): Promise<boolean> {
  if (end.netns !== undefined && !netnsExists(end.netns)) return false;
  return (await run([...ipIn(end.netns), 'link', 'show', 'dev', end.name])).code === 0;
}

/** Deletes a link (a veth end takes its peer with it); succeeds when it is already gone. */
export async function deleteLink(end: LinkEnd): Promise<void> {
  if (await linkExists(end)) {
    const result = await run([...ipIn(end.netns), 'link', 'del', 'dev', end.name]);
    if (result.code !== 0 && await linkExists(end)) throw new Error(describeFailure(result));
  }
  const entry = links.get(linkKey(end));
  if (entry !== undefined) untrack(entry.id);
  links.delete(linkKey(end));
}

/** Removes every link and namespace this test file created and has not deleted yet. */
export async function destroyAll(): Promise<void> {
  const errors: string[] = [];
  for (const { end } of [...links.values()].reverse()) {
    await deleteLink(end).catch((e: unknown) => errors.push(String(e)));
  }
  for (const name of [...namespaces.keys()].reverse()) {
    await deleteNetns(name).catch((e: unknown) => errors.push(String(e)));
  }
  if (errors.length > 0) throw new Error(`destroyAll: ${errors.join('; ')}`);
}

/** The links and namespaces this test file created and has not deleted (for leak checks). */
export function liveResources(): { readonly namespaces: readonly string[]; readonly links: readonly LinkEnd[] } {
  return { namespaces: [...namespaces.keys()], links: [...links.values()].map((l) => l.end) };
}

/** What `ip -j addr show` says about one link. */
export interface LinkState {
  readonly name: string;
  readonly mac: string;
  readonly mtu: number;
  readonly up: boolean;
  /** `address/prefix`, global scope only, in the kernel's order. */
  readonly addresses: readonly string[];
}

/** Reads a link's MAC, MTU, state and global addresses. */
export async function linkState(end: LinkEnd): Promise<LinkState> {
  const out = await runOk([...ipIn(end.netns), '-j', 'addr', 'show', 'dev', end.name]);
  const [link] = JSON.parse(out) as {
    ifname: string; address: string; mtu: number; flags: string[];
    addr_info: { local: string; prefixlen: number; scope: string }[];
  }[];
  if (link === undefined) throw new Error(`no link ${end.name} in ${end.netns ?? 'this namespace'}`);
  return {
    name: link.ifname,
    mac: link.address,
    mtu: link.mtu,
    up: link.flags.includes('UP'),
    addresses: link.addr_info.filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`),
  };
}

/**
 * Pings `address` once from inside `netns`, up to `attempts` times (`ping -c 1 -W 2`), and
 * resolves with the successful result; rejects with the last attempt's output.
 */
export async function ping(netns: string, address: string, { attempts = 5, delayMs = 200 } = {}): Promise<RunResult> {
  let last: RunResult | undefined;
  for (let i = 0; i < attempts; i += 1) {
    last = await inNetns(netns, ['ping', '-c', '1', '-W', '2', address]);
    if (last.code === 0) return last;
    await sleep(delayMs);
  }
  throw new Error(`ping ${address} from ${netns} failed ${attempts} times: ${last === undefined ? '' : describeFailure(last)}`);
}

// Cleanup that survives a crashed or interrupted test process.
//
// Rules:
// - Every resource the harness creates outside this process (daemon, netns, link, temp dir,
//   lock file) is recorded with `track` *before or right after* it is made, and `untrack`ed
//   once the harness removed it itself. The record is an append-only JSON-lines manifest,
//   one per test process: `<tmpdir>/kube-ovn-ipam-reaper-<pid>.jsonl`.
// - One detached reaper process per test process watches the test process's pid. When the
//   test process is gone (normal exit, crash, SIGKILL, Ctrl-C of jest), the reaper removes
//   whatever is still tracked: processes first (only when the pid still has the recorded
//   start time, so a reused pid is never killed), then links, namespaces, files, directories.
// - Why not process.on('exit' | 'SIGINT')? Inside jest a test file sees a copy of `process`
//   whose listeners are never called by the real process (checked with jest 30): such
//   handlers would silently do nothing. A separate process is the only reliable place.
// - A manifest whose owner and reaper are both dead (everything was SIGKILLed) is reaped by
//   the next test process that tracks something (`sweepStale`).
// The harness's own teardown (afterAll) is still the normal path; the reaper is the net.
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type Resource =
  | { readonly kind: 'process'; readonly pid: number; readonly startTime: string; readonly name: string }
  | { readonly kind: 'netns'; readonly name: string }
  | { readonly kind: 'link'; readonly name: string; readonly netns?: string }
  | { readonly kind: 'dir'; readonly path: string }
  /** Removed only while its content is still `content` (a lock file another process may own). */
  | { readonly kind: 'file'; readonly path: string; readonly content: string }
  /** A bash script that undoes what plain records cannot name (the cluster tier's node: its
   *  containers' cgroups and mounts); run after the processes are stopped, before the rest. */
  | { readonly kind: 'script'; readonly path: string };

type Entry =
  | { readonly op: 'reaper'; readonly pid: number }
  | { readonly op: 'reserve'; readonly id: number }
  | { readonly op: 'add'; readonly id: number; readonly resource: Resource }
  | { readonly op: 'del'; readonly id: number };

export const MANIFEST_PREFIX = 'kube-ovn-ipam-reaper-';

/** The manifest of the test process `pid`. */
export function manifestPath(pid: number = process.pid): string {
  return join(tmpdir(), `${MANIFEST_PREFIX}${pid}.jsonl`);
}

function readEntries(path: string): Entry[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Entry);
}

/** The state of `pid` from /proc, or undefined when there is no such process. */
function procStat(pid: number): { state: string; startTime: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', startTime: fields[19] ?? '' };
  } catch {
    return undefined;
  }
}

/** True when `pid` is a running process (not a zombie), with `startTime` when given. */
export function processAlive(pid: number, startTime?: string): boolean {
  const stat = procStat(pid);
  if (stat === undefined || stat.state === 'Z' || stat.state === 'X') return false;
  return startTime === undefined || stat.startTime === startTime;
}

/** The kernel start time of `pid` (field 22 of /proc/<pid>/stat), to recognise it later. */
export function processStartTime(pid: number): string {
  const stat = procStat(pid);
  if (stat === undefined) throw new Error(`process ${pid} does not exist`);
  return stat.startTime;
}

// The reaper itself: plain CommonJS for `node -e`, run outside jest. argv: manifest owner-pid mode.
const REAPER_SCRIPT = String.raw`
const fs = require('fs'); const cp = require('child_process');
const [manifest, ownerArg, mode] = process.argv.slice(1); const owner = Number(ownerArg);
const pause = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const stat = (pid) => { try { const s = fs.readFileSync('/proc/' + pid + '/stat', 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' '); return { state: f[0], start: f[19] }; } catch { return undefined; } };
const alive = (pid, start) => { const s = stat(pid); return !!s && s.state !== 'Z' && s.state !== 'X' && (start === undefined || s.start === start); };
const quiet = (argv) => { try { cp.execFileSync(argv[0], argv.slice(1), { stdio: 'ignore', timeout: 10000 }); } catch {} };
function reap() {
  const taken = manifest + '.reaping';
  try { fs.renameSync(manifest, taken); } catch { process.exit(0); }
  try { fs.utimesSync(taken, new Date(), new Date()); } catch {}
  const live = new Map();
  for (const line of fs.readFileSync(taken, 'utf8').split('\n')) {
    if (line === '') continue;
    try { const e = JSON.parse(line); if (e.op === 'add') live.set(e.id, e.resource); if (e.op === 'del') live.delete(e.id); } catch {}
  }
  const rs = [...live.values()].reverse();
  const procs = rs.filter((r) => r.kind === 'process' && alive(r.pid, r.startTime));
  for (const p of procs) { try { process.kill(p.pid, 'SIGTERM'); } catch {} }
  for (let i = 0; i < 50 && procs.some((p) => alive(p.pid, p.startTime)); i++) pause(100);
  for (const p of procs) if (alive(p.pid, p.startTime)) { try { process.kill(p.pid, 'SIGKILL'); } catch {} }
  for (const r of rs) if (r.kind === 'script') { try { cp.execFileSync('bash', [r.path], { stdio: 'ignore', timeout: 120000 }); } catch {} }
  for (const r of rs) if (r.kind === 'link') quiet(r.netns ? ['ip', '-n', r.netns, 'link', 'del', r.name] : ['ip', 'link', 'del', r.name]);
  for (const r of rs) if (r.kind === 'netns') quiet(['ip', 'netns', 'del', r.name]);
  for (const r of rs) if (r.kind === 'file') { try { if (fs.readFileSync(r.path, 'utf8') === r.content) fs.rmSync(r.path); } catch {} }
  for (const r of rs) if (r.kind === 'dir') { try { fs.rmSync(r.path, { recursive: true, force: true }); } catch {} }
  fs.rmSync(taken, { force: true });
  process.exit(0);
}
if (mode === 'now') reap();
setInterval(() => { if (!alive(owner)) reap(); }, 250);
`;

function spawnReaper(manifest: string, owner: number, mode: 'watch' | 'now'): number {
  const child = spawn(process.execPath, ['-e', REAPER_SCRIPT, manifest, String(owner), mode], {
    detached: true,
    stdio: 'ignore',
    env: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
  });
  child.unref();
  if (child.pid === undefined) throw new Error('could not start the reaper process');
  return child.pid;
}

/** Hands manifests left by dead test processes (whose reaper died too) to a fresh reaper. */
export function sweepStale(): void {
  for (const name of readdirSync(tmpdir())) {
    const m = new RegExp(`^${MANIFEST_PREFIX}(\\d+)\\.jsonl$`).exec(name);
    const owner = Number(m?.[1]);
    if (m === null || owner === process.pid || processAlive(owner)) continue;
    spawnReaper(join(tmpdir(), name), owner, 'now');
  }
}

let nextId = 0;
let ready = false;

/** Starts (or, for a second test file in the same jest worker, finds) this process's reaper. */
function ensureReaper(): void {
  if (ready) return;
  const path = manifestPath();
  const entries = readEntries(path);
  const reaper = entries.filter((e) => e.op === 'reaper').at(-1);
  nextId = Math.max(0, ...entries.map((e) => (e.op === 'reaper' ? 0 : e.id)));
  if (reaper === undefined || !processAlive(reaper.pid)) {
    sweepStale();
    appendFileSync(path, '');
    append({ op: 'reaper', pid: spawnReaper(path, process.pid, 'watch') });
  }
  ready = true;
}

function append(entry: Entry): void {
  appendFileSync(manifestPath(), `${JSON.stringify(entry)}\n`);
}

/**
 * A number unique within this test process (across test files that share a jest worker:
 * it is recorded in the manifest), for resource names.
 */
export function uniqueNumber(): number {
  ensureReaper();
  nextId += 1;
  append({ op: 'reserve', id: nextId });
  return nextId;
}

/** Records a resource for the reaper; returns the id to `untrack` it with. */
export function track(resource: Resource): number {
  ensureReaper();
  nextId += 1;
  append({ op: 'add', id: nextId, resource });
  return nextId;
}

/** Tells the reaper that the harness removed the resource itself. */
export function untrack(id: number): void {
  append({ op: 'del', id });
}

/** The resources this process tracks and has not released: what a clean teardown leaves empty. */
export function trackedResources(): readonly Resource[] {
  const live = new Map<number, Resource>();
  for (const e of readEntries(manifestPath())) {
    if (e.op === 'add') live.set(e.id, e.resource);
    if (e.op === 'del') live.delete(e.id);
  }
  return [...live.values()];
}

// Snapshot files: reads the YAML/JSON documents a dry-run plan is computed from (DESIGN §3.7).
// Rules:
// - A path is a file (read whatever its extension), a folder (its `*.yaml`, `*.yml` and `*.json`
//   files, recursively, sorted by relative path by code unit so the order never depends on the
//   file system or the locale), or `-` for standard input (read once, however often it is named).
//   Paths are read in the order given. A folder with no such file is an error: a mistyped folder
//   must not plan as an empty cluster.
// - Every file is parsed as multi-document YAML 1.2, which also reads JSON. Documents are numbered
//   from 0 in their file; empty ones (nothing, or `null`) are skipped but keep their number, so
//   `document N` always means the N-th document of the file.
// - Origins name the file as given on the command line, joined with its path inside a folder.
// - The first problem stops the read: a syntax error names file, document, line and column; a
//   path that cannot be read names the path. Nothing is thrown.
// - Streamed: a file's documents are composed one at a time and each is handed on as soon as it
//   is read (`forEachSnapshotDocument`), so a file of 100,000 pods never holds more than one
//   document's YAML syntax tree; the caller keeps only what it decodes.
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { Composer, LineCounter, Parser } from 'yaml';
import type { RawDocument } from '../domain/Snapshot.js';

export interface InputError {
  /** The path as given (or inside a given folder), `-` for standard input. */
  readonly file: string;
  /** 0-based document index, when the problem is inside one document. */
  readonly document?: number;
  readonly message: string;
}

const extensions = ['.yaml', '.yml', '.json'];

/** Reads every path into raw documents, in order; the first problem is the answer. */
export const readSnapshotDocuments = async (
  paths: readonly string[],
  stdin?: () => Promise<string>,
): Promise<E.Either<InputError, RawDocument[]>> => {
  const documents: RawDocument[] = [];
  const read = await forEachSnapshotDocument(paths, stdin, (doc) => documents.push(doc));
  return E.map(() => documents)(read);
};

/** Hands every path's non-empty documents to `onDocument`, in order, one at a time (see the
 *  file's rules); the first problem stops the read and is the answer. */
export const forEachSnapshotDocument = async (
  paths: readonly string[],
  stdin: (() => Promise<string>) | undefined,
  onDocument: (doc: RawDocument) => void,
): Promise<E.Either<InputError, void>> => {
  let stdinText: Promise<E.Either<InputError, string>> | undefined;
  for (const path of paths) {
    if (path === '-') {
      stdinText ??= readStdin(stdin);
      const text = await stdinText;
      if (E.isLeft(text)) return text;
      const parsed = eachDocument('-', text.right, onDocument);
      if (E.isLeft(parsed)) return parsed;
      continue;
    }
    const files = await listFiles(path);
    if (E.isLeft(files)) return files;
    for (const file of files.right) {
      const text = await readText(file);
      if (E.isLeft(text)) return text;
      const parsed = eachDocument(file, text.right, onDocument);
      if (E.isLeft(parsed)) return parsed;
    }
  }
  return E.right(undefined);
};

/** Parses one file's text into its non-empty documents, or the first syntax error. */
export const parseDocuments = (file: string, text: string): E.Either<InputError, RawDocument[]> => {
  const documents: RawDocument[] = [];
  return E.map(() => documents)(eachDocument(file, text, (doc) => documents.push(doc)));
};

/**
 * Composes `text` document by document (what yaml's parseAllDocuments does, without keeping
 * every document's syntax tree) and hands each non-empty one on as plain data; stops at the
 * first document with a syntax error or one that cannot become data.
 */
const eachDocument = (file: string, text: string, onDocument: (doc: RawDocument) => void): E.Either<InputError, void> => {
  const lines = new LineCounter();
  const documents = new Composer().compose(new Parser(lines.addNewLine).parse(text));
  let index = 0;
  for (const doc of documents) {
    const error = doc.errors[0];
    if (error !== undefined) {
      // What parseAllDocuments' prettyErrors would add: the line and column of the error.
      const at = error.pos[0] === -1 ? undefined : lines.linePos(error.pos[0]);
      const where = at === undefined ? '' : `line ${at.line}, column ${at.col}: `;
      return E.left({ file, document: index, message: where + firstLine(error.message) });
    }
    let value: unknown;
    try {
      // toJS throws on an unresolved alias or an alias bomb (yaml's maxAliasCount).
      value = doc.toJS();
    } catch (e) {
      return E.left({ file, document: index, message: e instanceof Error ? e.message : String(e) });
    }
    if (value !== null && value !== undefined) onDocument({ origin: { file, document: index }, value });
    index++;
  }
  return E.right(undefined);
};

/** yaml's message without its own ` at line L, column C:` suffix and source excerpt. */
const firstLine = (message: string): string =>
  (message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');

const readStdin = async (stdin: (() => Promise<string>) | undefined): Promise<E.Either<InputError, string>> => {
  if (stdin === undefined) return E.left({ file: '-', message: 'standard input is not available here' });
  try {
    return E.right(await stdin());
  } catch (e) {
    return E.left({ file: '-', message: describeError(e) });
  }
};

const readText = async (file: string): Promise<E.Either<InputError, string>> => {
  try {
    return E.right(await readFile(file, 'utf8'));
  } catch (e) {
    return E.left({ file, message: describeError(e) });
  }
};

/** The path itself when it is a file, else the snapshot files of the folder, sorted. */
const listFiles = async (path: string): Promise<E.Either<InputError, string[]>> => {
  try {
    if (!(await stat(path)).isDirectory()) return E.right([path]);
    const relative = (await walk(path, '', new Set())).sort(byCodeUnit);
    if (relative.length === 0) return E.left({ file: path, message: 'no .yaml, .yml or .json files in this folder' });
    return E.right(relative.map((rel) => join(path, rel)));
  } catch (e) {
    return E.left({ file: failedPath(e) ?? path, message: describeError(e) });
  }
};

/**
 * Relative paths (with `/`) of the snapshot files under `root/dir`. Symbolic links are followed;
 * `seen` holds the folders already visited (by device and inode), so a link cycle ends and a
 * folder reached twice is read once. A dangling link is skipped.
 */
const walk = async (root: string, dir: string, seen: Set<string>): Promise<string[]> => {
  const here = await stat(join(root, dir));
  const id = `${here.dev}:${here.ino}`;
  if (seen.has(id)) return [];
  seen.add(id);
  const found: string[] = [];
  for (const name of await readdir(join(root, dir))) {
    const rel = dir === '' ? name : `${dir}/${name}`;
    const info = await stat(join(root, rel)).catch(() => undefined);
    if (info?.isDirectory() === true) append(found, await walk(root, rel, seen));
    else if (info?.isFile() === true && extensions.some((ext) => name.endsWith(ext))) found.push(rel);
  }
  return found;
};

/** `push(...items)` without its argument limit: a snapshot may hold 100k documents. */
const append = <A>(target: A[], items: readonly A[]): void => {
  for (const item of items) target.push(item);
};

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const messages: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  ELOOP: 'too many levels of symbolic links',
};

/** A Node.js system error in words, without the syscall and path Node puts around it. */
const describeError = (e: unknown): string => {
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  if (typeof code === 'string' && messages[code] !== undefined) return messages[code];
  return e instanceof Error ? e.message : String(e);
};

const failedPath = (e: unknown): string | undefined => {
  const path = typeof e === 'object' && e !== null ? (e as { path?: unknown }).path : undefined;
  return typeof path === 'string' ? path : undefined;
};

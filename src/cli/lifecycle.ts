// The life of a long-running command: it stops on SIGTERM or SIGINT (an AbortSignal every step
// can follow), and a start-up step that needs the API server is retried rather than exit (a
// pod that exits is restarted anyway, and a log line per failure says more than a crash loop).
import type { Log } from '../effects/ports.js';

/**
 * An AbortController aborted by the first SIGTERM or SIGINT (logged), and a promise that
 * resolves when it is aborted, by a signal or by the command itself.
 */
export const stopOnSignals = (log: Log): { readonly stopping: AbortController; readonly stopped: Promise<void> } => {
  const stopping = new AbortController();
  const stopped = new Promise<void>((resolve) => stopping.signal.addEventListener('abort', () => resolve(), { once: true }));
  const shutdown = (signal: string) => {
    log.info('shutting down', { signal });
    stopping.abort();
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  return { stopping, stopped };
};

/** Resolves after `ms`, or at once when `signal` aborts. */
export const sleepUnlessAborted = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise<void>((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });

/**
 * Runs `attempt` until it resolves, `signal` aborts or `goOn()` says no (then undefined),
 * waiting `firstMs` doubling to `maxMs` between tries and reporting each failure through
 * `failed` with the wait that follows.
 */
export const retryUntil = async <A>(
  attempt: () => Promise<A>, failed: (error: string, retryMs: number) => void, signal: AbortSignal,
  { firstMs, maxMs, goOn = () => true }: { readonly firstMs: number; readonly maxMs: number; readonly goOn?: () => boolean },
): Promise<A | undefined> => {
  for (let delay = firstMs; !signal.aborted && goOn(); delay = Math.min(delay * 2, maxMs)) {
    try {
      return await attempt();
    } catch (err) {
      if (signal.aborted) return undefined;
      failed(err instanceof Error ? err.message : String(err), delay);
      await sleepUnlessAborted(delay, signal);
    }
  }
  return undefined;
};

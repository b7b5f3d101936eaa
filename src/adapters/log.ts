// Structured JSON logs (pino) behind the Log port: one line per decision, to stdout.
import { pino } from 'pino';
import type { Log } from '../effects/ports.js';

export const makeLog = (level: string, name = 'kube-ovn-ipam'): Log => {
  const logger = pino({ name, level, base: { component: name }, timestamp: pino.stdTimeFunctions.isoTime });
  return {
    info: (msg, fields) => logger.info(fields ?? {}, msg),
    warn: (msg, fields) => logger.warn(fields ?? {}, msg),
    error: (msg, fields) => logger.error(fields ?? {}, msg),
    debug: (msg, fields) => logger.debug(fields ?? {}, msg),
  };
};

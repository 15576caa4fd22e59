import { afterEach, beforeEach, vi } from 'vitest';

/** Fields Powertools' Logger adds to every line, left out so that tests assert what a handler logged. */
const POWERTOOLS_FIELDS = ['message', 'timestamp', 'service', 'sampling_rate', 'cold_start', 'function_name', 'function_memory_size', 'function_arn', 'function_request_id', 'xray_trace_id'];

/**
 * Captures the handlers' JSON log lines (Powertools' Logger writes through the global console under
 * POWERTOOLS_DEV, set in vitest.config.ts) for the tests of this file, so that a test can assert
 * what was logged and the run's output stays readable. A handler's line reads back as
 * `{ level: 'info' | 'warn' | 'error', event, ...fields }`; the raw lines (Powertools' own fields,
 * metrics in embedded metric format) are in `raw()`.
 */
export function captureLogs(): { lines: () => Record<string, unknown>[]; events: (name: string) => Record<string, unknown>[]; raw: () => Record<string, unknown>[] } {
  let captured: Record<string, unknown>[] = [];
  let raw: Record<string, unknown>[] = [];
  beforeEach(() => {
    captured = [];
    raw = [];
    for (const method of ['log', 'info', 'debug', 'warn', 'error'] as const) {
      vi.spyOn(console, method).mockImplementation((line: unknown) => {
        let parsed: Record<string, unknown>;
        try {
          parsed = JSON.parse(String(line)) as Record<string, unknown>;
        } catch {
          parsed = { text: String(line) };
        }
        raw.push(parsed);
        if (typeof parsed.level === 'string' && typeof parsed.event === 'string') {
          const line = Object.fromEntries(Object.entries(parsed).filter(([k]) => !POWERTOOLS_FIELDS.includes(k)));
          captured.push({ ...line, level: parsed.level.toLowerCase() });
        } else captured.push(parsed);
      });
    }
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  return { lines: () => captured, events: (name) => captured.filter((l) => l.event === name), raw: () => raw };
}

/**
 * Runs `work` with the console's output dropped: for handlers run in a `beforeAll`, which
 * captureLogs' capture (per test) does not cover, and whose lines no test reads.
 */
export async function quietly<T>(work: () => Promise<T>): Promise<T> {
  const spies = (['log', 'info', 'debug', 'warn', 'error'] as const).map((method) => vi.spyOn(console, method).mockImplementation(() => {}));
  try {
    return await work();
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}

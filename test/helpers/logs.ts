import { afterEach, beforeEach, vi } from 'vitest';

/**
 * Captures the handlers' JSON log lines (console.log/warn/error) for the tests of this file, so
 * that a test can assert what was logged and the run's output stays readable.
 */
export function captureLogs(): { lines: () => Record<string, unknown>[]; events: (name: string) => Record<string, unknown>[] } {
  let captured: Record<string, unknown>[] = [];
  beforeEach(() => {
    captured = [];
    for (const method of ['log', 'warn', 'error'] as const) {
      vi.spyOn(console, method).mockImplementation((line: unknown) => {
        try {
          captured.push(JSON.parse(String(line)) as Record<string, unknown>);
        } catch {
          captured.push({ text: String(line) });
        }
      });
    }
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  return { lines: () => captured, events: (name) => captured.filter((l) => l.event === name) };
}

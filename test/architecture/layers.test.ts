import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseResult, type IFlattenedRuleSet } from 'dependency-cruiser';
import { describe, expect, it } from 'vitest';

/*
 * The layers of README.md's "How it is built" hold in the imports (issue 23): the rules of
 * .dependency-cruiser.cjs (each layer knows only the layers it lists; no cycle; every module in a
 * layer), checked on src/ and handlers/ by dependency-cruiser, type-only imports included. The same
 * rules run on a small fixture with a wrong-direction import, a cycle and a folder in no layer, to
 * show the check fails when it should.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const config = createRequire(import.meta.url)('../../.dependency-cruiser.cjs') as { forbidden: IFlattenedRuleSet['forbidden']; options: Record<string, unknown> };

async function check(baseDir: string, paths: string[]): Promise<{ violations: string[]; cruised: number }> {
  const { output } = await cruise(paths, {
    ...config.options,
    baseDir,
    validate: true,
    ruleSet: { forbidden: config.forbidden },
    tsConfig: { fileName: `${ROOT}tsconfig.json` },
  });
  const result = output as ICruiseResult;
  const violations = result.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}${v.cycle ? ` (cycle: ${v.cycle.map((c) => (typeof c === 'string' ? c : c.name)).join(' → ')})` : ''}`);
  return { violations, cruised: result.summary.totalCruised };
}

describe('the import direction of the layers', () => {
  // Parsing some 260 modules with TypeScript: a few seconds on a quiet machine, more on a busy one.
  it('src/ and handlers/ import only the layers each layer knows, with no cycle', { timeout: 120_000 }, async () => {
    // Act
    const { violations, cruised } = await check(ROOT, ['src', 'handlers']);

    // Assess
    expect(cruised).toBeGreaterThan(200);
    expect(violations, `imports against the layers (.dependency-cruiser.cjs, README "How it is built"):\n${violations.join('\n')}`).toEqual([]);
  });

  it('reports a wrong-direction import, a cycle and a folder in no layer in a fixture, and not the right-direction import', { timeout: 60_000 }, async () => {
    // Prepare: the domain imports the protocol (wrong way), the protocol imports the domain (right
    // way), two stores import each other, and a folder no layer holds imports the domain.
    const fixture = fileURLToPath(new URL('fixtures/wrong-way/', import.meta.url));

    // Act
    const { violations } = await check(fixture, ['src']);

    // Assess
    expect(violations).toContain('layer-domain: src/domain/job.ts → src/protocol/round.ts');
    expect(violations).toContain('no-circular: src/stores/a.ts → src/stores/b.ts (cycle: src/stores/b.ts → src/stores/a.ts)');
    expect(violations).toContain('in-a-layer: src/newthing/tool.ts → src/domain/job.ts');
    expect(violations.filter((v) => v.startsWith('layer-protocol'))).toEqual([]);
  });
});

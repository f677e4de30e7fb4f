import { describe, expect, it } from 'vitest';
import { compareRuns, type Check, type RunResults } from '../../scripts/conformance/compare.ts';

const run = (scenarios: Record<string, Check[]>): RunResults =>
  new Map(Object.entries(scenarios).map(([scenario, checks]) => [scenario, new Map(checks.map((c) => [c.id, c]))]));

describe('conformance comparison of direct and gateway runs', () => {
  it('counts a check that passes directly and fails through the gateway as a regression', () => {
    const [row] = compareRuns(
      run({ 'tools-list': [{ id: 'tools-list', status: 'SUCCESS' }] }),
      run({ 'tools-list': [{ id: 'tools-list', status: 'FAILURE', errorMessage: 'boom' }] }),
    );
    expect(row?.regressions).toEqual([{ id: 'tools-list', gateway: 'FAILURE', message: 'boom' }]);
  });

  it('reports an undeclared resources/subscribe answered "Method not found" as not applicable, with the reason', () => {
    const [row] = compareRuns(
      run({ 'resources-subscribe': [{ id: 'resources-subscribe', status: 'SUCCESS' }] }),
      run({ 'resources-subscribe': [{ id: 'resources-subscribe', status: 'FAILURE', errorMessage: 'Failed: Method not found' }] }),
    );
    expect(row?.regressions).toEqual([]);
    expect(row?.notApplicable).toEqual([{ id: 'resources-subscribe', gateway: 'FAILURE', message: expect.stringContaining('without sessions') as unknown as string }]);
  });

  it('still counts any other failure of resources/subscribe as a regression', () => {
    const [row] = compareRuns(
      run({ 'resources-subscribe': [{ id: 'resources-subscribe', status: 'SUCCESS' }] }),
      run({ 'resources-subscribe': [{ id: 'resources-subscribe', status: 'FAILURE', errorMessage: 'Internal error' }] }),
    );
    expect(row?.regressions.map((r) => r.id)).toEqual(['resources-subscribe']);
  });

  it('counts checks only the gateway passes as improvements', () => {
    const [row] = compareRuns(
      run({ 'tools-list': [{ id: 'wire-schema-valid', status: 'FAILURE' }] }),
      run({ 'tools-list': [{ id: 'wire-schema-valid', status: 'SUCCESS' }] }),
    );
    expect(row?.improvements).toEqual(['wire-schema-valid']);
  });
});

import { describe, expect, it } from 'vitest';
import { paletteScore } from '../../src-shared/paletteScore.ts';

describe('the command palette ranks what was typed', () => {
  const rank = (typed: string, entries: Array<[string, string[]]>) =>
    entries
      .map(([label, keywords]) => ({ label, s: paletteScore(label, keywords, typed) }))
      .filter((x) => x.s > 0)
      .sort((a, b) => b.s - a.s)
      .map((x) => x.label);
  const entries: Array<[string, string[]]> = [
    ['Sync all tenants', ['Actions']],
    ['calls', ['Resources']],
    ['call_transcripts', ['Resources']],
    ['Sync Globex Corporation', ['Actions', 'fetch', 'cache']],
    ['Globex Corporation', ['Tenants']],
    ['Migration', ['Views']],
    ['Plan the migration', ['Actions', 'company_id']],
  ];
  it('the label itself first, then its start, then a word of it; a keyword or letters in order last; what matches nothing is hidden', () => {
    // the letters of "calls" in order are also in "Sync all tenants" and "call_transcripts": found, but after
    expect(rank('calls', entries)).toEqual(['calls', 'Sync all tenants', 'call_transcripts']);
    expect(rank('call', entries)[0]).toBe('calls');
    expect(rank('migration', entries)).toEqual(['Migration', 'Plan the migration']);
    expect(rank('company_id', entries)).toEqual(['Plan the migration']);
    expect(rank('zzz', entries)).toEqual([]);
  });
  it('every word typed must be found: "sync globex" is the tenant’s sync, not every sync', () => {
    expect(rank('sync globex', entries)).toEqual(['Sync Globex Corporation']);
    expect(rank('globex', entries)[0]).toBe('Globex Corporation');
  });
  it('takes what is typed as text, not a pattern', () => {
    expect(paletteScore('a (b)', [], '(b')).toBeGreaterThan(0);
    expect(paletteScore('a.b', [], '.*')).toBe(0);
  });
});

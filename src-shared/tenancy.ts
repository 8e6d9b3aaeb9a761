import { z } from 'zod';

/** The words used everywhere: UI, CLI, reports and code. */
export const RoleSchema = z.enum(['super_admin', 'company_admin', 'user']);
export type Role = z.infer<typeof RoleSchema>;

export const ROLE_LABEL: Record<Role, string> = {
  super_admin: 'Super admin',
  company_admin: 'Company admin',
  user: 'User',
};

/** What a verdict means to everything that shows, counts or reports it. */
export interface VerdictInfo {
  /** the colour of its cell and its word (a CSS colour) */
  colour: string;
  /** the glyph in its cell, for those who do not tell the colours apart */
  mark: string;
  /**
   * how a report takes it: 'fail' (a JUnit failure and a SARIF result), 'error' (the probe could
   * not tell: a JUnit error), 'pass', 'skip'
   */
  outcome: 'fail' | 'error' | 'pass' | 'skip';
  /** its SARIF level when it fails */
  sarifLevel?: 'error' | 'warning';
  /** what it does to "this endpoint is proven isolated": proves it, counts against it, or neither */
  proof: 'proves' | 'against' | 'neither';
  /** one line: what the CRM did */
  meaning: string;
}

/**
 * Every verdict of the isolation runner, worst first: the one place a verdict is defined. Lists,
 * sort orders, colours, report formats and the audit's SQL derive from it; adding a verdict is an
 * entry here and the code that decides it (tests/fast/verdicts.test.ts walks the table).
 */
const VERDICT_TABLE = {
  leak: {
    colour: 'var(--danger)',
    mark: '!',
    outcome: 'fail',
    sarifLevel: 'error',
    proof: 'against',
    meaning: "Another tenant's data was returned, changed or deleted",
  },
  suspect: {
    colour: 'var(--warn)',
    mark: '~',
    outcome: 'fail',
    sarifLevel: 'warning',
    proof: 'against',
    meaning: 'The server said yes but nothing observable changed',
  },
  'exists-oracle': {
    colour: '#a35bd6',
    mark: '?',
    outcome: 'fail',
    sarifLevel: 'warning',
    proof: 'against',
    meaning: "403 on another tenant's id but 404 on an unknown id: existence disclosed",
  },
  error: {
    colour: '#6b7280',
    mark: '',
    outcome: 'error',
    proof: 'against',
    meaning: 'The probe could not tell (the CRM failed or answered something unexpected)',
  },
  enforced: { colour: 'var(--ok)', mark: '', outcome: 'pass', proof: 'proves', meaning: "The CRM refused or hid another tenant's record" },
  skipped: { colour: 'transparent', mark: '', outcome: 'skip', proof: 'neither', meaning: 'Not probed (read-only run, or the resource has no such endpoint)' },
} as const satisfies Record<string, VerdictInfo>;

export type Verdict = keyof typeof VERDICT_TABLE;
export const VERDICTS: Readonly<Record<Verdict, VerdictInfo>> = VERDICT_TABLE;
/** worst first */
export const VERDICT_ORDER = Object.keys(VERDICTS) as Verdict[];
export const VerdictSchema = z.enum(VERDICT_ORDER as [Verdict, ...Verdict[]]);
export const verdictsWhere = (test: (v: VerdictInfo) => boolean): Verdict[] => VERDICT_ORDER.filter((v) => test(VERDICTS[v]));
/** a count for every verdict, each at zero */
export const noVerdicts = (): Record<Verdict, number> => Object.fromEntries(VERDICT_ORDER.map((v) => [v, 0])) as Record<Verdict, number>;

export const PrioritySchema = z.enum(['HIGH', 'MEDIUM', 'LOW']);
export type Priority = z.infer<typeof PrioritySchema>;

export const TenancyClassSchema = z.enum(['tenant', 'user-owned', 'global', 'system']);
export type TenancyClass = z.infer<typeof TenancyClassSchema>;

/** The seed's message for a non-super user without a company. */
export const NO_COMPANY_MESSAGE = 'No company associated';

import { z } from 'zod';

/** The words used everywhere: UI, CLI, reports and code. */
export const RoleSchema = z.enum(['super_admin', 'company_admin', 'user']);
export type Role = z.infer<typeof RoleSchema>;

export const ROLE_LABEL: Record<Role, string> = {
  super_admin: 'Super admin',
  company_admin: 'Company admin',
  user: 'User',
};

export const VerdictSchema = z.enum(['enforced', 'leak', 'suspect', 'exists-oracle', 'error', 'skipped']);
export type Verdict = z.infer<typeof VerdictSchema>;

export const PrioritySchema = z.enum(['HIGH', 'MEDIUM', 'LOW']);
export type Priority = z.infer<typeof PrioritySchema>;

export const TenancyClassSchema = z.enum(['tenant', 'user-owned', 'global', 'system']);
export type TenancyClass = z.infer<typeof TenancyClassSchema>;

/** The seed's message for a non-super user without a company. */
export const NO_COMPANY_MESSAGE = 'No company associated';

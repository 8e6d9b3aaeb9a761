import { auditHtml, auditMarkdown } from '../../../src-shared/reports/audit.ts';
import { acceptFinding, runAudit } from '../../audit/auditService.ts';
import type { HandlersFor, Kernel } from '../kernel.ts';
import { caller, requireWholeCompany, tenantOf } from '../scope.ts';

type Channels = 'audit:run' | 'audit:report' | 'audit:accept';

export function auditHandlers(k: Kernel): HandlersFor<Channels> {
  /** a company admin's audit reads their own partition; a super admin's every partition, or the one tenant asked for */
  const audit = async (tenant?: string) => {
    requireWholeCompany(k, 'The audit');
    const { s, scope } = caller(k);
    const company = scope.own ?? (tenant ? tenantOf(k, tenant).id : null);
    return { s, result: runAudit((await k.cacheFor(s.connection)).raw, k.connections.get(s.connection).catalog, { company }) };
  };
  return {
    'audit:run': async ({ tenant }) => (await audit(tenant)).result,
    'audit:report': async ({ format }) => {
      const { s, result } = await audit();
      const text = format === 'html' ? auditHtml(result, s.connection) : auditMarkdown(result, s.connection);
      return { fileName: `tenantscope-audit-${s.connection}-${result.generatedAt.slice(0, 10)}.${format}`, text };
    },
    'audit:accept': async ({ id, reason }) => {
      const { s } = caller(k);
      acceptFinding((await k.cacheFor(s.connection)).raw, id, reason, s.user.email);
      return { accepted: id };
    },
  };
}

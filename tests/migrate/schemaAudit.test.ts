import { describe, expect, it } from 'vitest';
import { ConnectionProfileSchema } from '../../src-shared/profile.ts';
import { auditSchema } from '../../src-main/migrate/schemaAudit.ts';
import { startTestCrm } from '../support/crm.ts';
import { referenceProfile } from '../support/console.ts';

describe("schema audit of the CRM's PostgreSQL", () => {
  it("reads the seed's before-state: 11 tables with company_id, 21 without; the verify counts; indexes, foreign keys, a child of another company, a unique key without company_id", async () => {
    const crm = await startTestCrm({ profile: 'legacy' });
    try {
      const catalog = ConnectionProfileSchema.parse(referenceProfile('ref', crm.url)).catalog;
      // plant a unique index on contacts that leaves company_id out (it tells one tenant which emails another has)
      await crm.pool.query('CREATE UNIQUE INDEX contacts_email_unique ON contacts (email) WHERE email IS NOT NULL');
      const before = await auditSchema(crm.databaseUrl, catalog);
      const t = (name: string) => before.find((x) => x.resource === name)!;
      expect(
        before
          .filter((x) => x.hasCompanyId)
          .map((x) => x.resource)
          .sort(),
      ).toEqual([
        'activities',
        'contacts',
        'deals',
        'payment_history',
        'phone_numbers',
        'pipelines',
        'scheduled_sms',
        'sms_messages',
        'sms_templates',
        'twilio_settings',
        'users',
      ]);
      expect(before.filter((x) => !x.hasCompanyId)).toHaveLength(21);
      // the seed's verify query, table by table
      for (const x of before) {
        const { rows } = await crm.pool.query(`SELECT count(*)::int AS total FROM ${x.table}`);
        expect(x.total, x.table).toBe(rows[0].total);
        expect(x.missing, x.table).toBe(
          x.hasCompanyId ? (await crm.pool.query(`SELECT count(*)::int AS n FROM ${x.table} WHERE company_id IS NULL`)).rows[0].n : x.total,
        );
      }
      expect(t('contacts').uniqueWithoutCompany).toEqual(['contacts_email_unique (email)']);
      expect(t('contacts').citus.ready).toBe(false);
      expect(t('calls').citus).toEqual({ ready: false, blockers: ['no company_id column to distribute by'] });
      // the shipped schema indexes company_id and points it at companies where the column exists
      const indexed = await crm.pool.query(`SELECT count(*)::int AS n FROM pg_indexes WHERE tablename = 'deals' AND indexdef LIKE '%(company_id%'`);
      expect(t('deals').indexOnCompanyId).toBe(indexed.rows[0].n > 0);
      expect(t('deals').foreignKeyOnCompanyId).toBe(true);

      // a signature whose company differs from its document's: after both tables gain company_id
      await crm.pool.query(
        'ALTER TABLE documents ADD COLUMN company_id uuid REFERENCES companies(id); ALTER TABLE document_signatures ADD COLUMN company_id uuid REFERENCES companies(id)',
      );
      await crm.pool.query('UPDATE documents d SET company_id = u.company_id FROM users u WHERE u.id = d.owner_id');
      await crm.pool.query('UPDATE document_signatures s SET company_id = d.company_id FROM documents d WHERE d.id = s.document_id');
      const other = (await crm.pool.query(`SELECT id FROM companies WHERE slug = 'initech'`)).rows[0].id;
      await crm.pool.query(
        `UPDATE document_signatures SET company_id = $1 WHERE id = (SELECT s.id FROM document_signatures s JOIN documents d ON d.id = s.document_id WHERE d.company_id <> $1 LIMIT 1)`,
        [other],
      );
      // a deal whose contact is another company's: both tables have company_id already
      const deal = (
        await crm.pool.query(
          `UPDATE deals SET contact_id = (SELECT c.id FROM contacts c WHERE c.company_id = $1 LIMIT 1)
            WHERE id = (SELECT d.id FROM deals d WHERE d.company_id <> $1 AND d.company_id IS NOT NULL ORDER BY d.id LIMIT 1) RETURNING id`,
          [other],
        )
      ).rows[0].id as string;
      const after = await auditSchema(crm.databaseUrl, catalog);
      expect(after.find((x) => x.resource === 'document_signatures')!.childMismatches).toBe(1);
      const byContact = after.find((x) => x.resource === 'deals')!.crossReferences.find((x) => x.field === 'contact_id')!;
      const truth = (
        await crm.pool.query(
          'SELECT count(*)::int AS n FROM deals d JOIN contacts c ON c.id = d.contact_id WHERE d.company_id IS NOT NULL AND c.company_id IS NOT NULL AND d.company_id <> c.company_id',
        )
      ).rows[0].n as number;
      expect(byContact).toMatchObject({ resource: 'contacts', table: 'contacts', count: truth });
      expect(truth).toBeGreaterThan(0);
      if (truth <= 20) expect(byContact.ids).toContain(deal);
      expect(after.find((x) => x.resource === 'document_signatures')!.indexOnCompanyId).toBe(false);
    } finally {
      await crm.close();
    }
  }, 60_000);

  it('a wrong password or an unreachable database is said so', async () => {
    await expect(auditSchema('postgres://nobody:wrong@127.0.0.1:1/x', { users: 'users', resources: [] })).rejects.toMatchObject({ code: 'unreachable' });
  });
});

import { describe, expect, it } from 'vitest';
import { MODELS } from '../../src-crm/models.ts';
import { seedScale, companyShares } from '../../src-crm/seed.ts';
import { startTestCrm } from '../support/crm.ts';

describe('seeders', () => {
  it('demo: three companies, an admin and two users each, a super admin, a user with no company, every model filled', async () => {
    const crm = await startTestCrm();
    try {
      const q = async (text: string) => (await crm.pool.query(text)).rows;
      expect((await q('SELECT slug FROM companies ORDER BY slug')).map((r) => r.slug)).toEqual(['acme', 'globex', 'initech']);
      const users = await q('SELECT u.email, u.role, c.slug FROM users u LEFT JOIN companies c ON c.id = u.company_id');
      expect(
        users
          .filter((u) => u.role === 'company_admin')
          .map((u) => u.slug)
          .sort(),
      ).toEqual(['acme', 'globex', 'initech']);
      expect(users.filter((u) => u.role === 'user' && u.slug).length).toBe(6);
      expect(users.find((u) => u.email === 'super@tenantscope.test')).toMatchObject({ role: 'super_admin', slug: null });
      expect(users.find((u) => u.email === 'nobody@tenantscope.test')).toMatchObject({ role: 'user', slug: null });
      for (const m of MODELS) {
        const n = Number((await q(`SELECT count(*) FROM ${m.name}`))[0].count);
        expect(n, m.name).toBeGreaterThanOrEqual(3);
      }
      // every fixed sign-in name works with the password "demo"
      for (const email of [
        'super@tenantscope.test',
        'admin@acme.test',
        'user@acme.test',
        'admin@globex.test',
        'user@globex.test',
        'admin@initech.test',
        'nobody@tenantscope.test',
      ]) {
        await crm.login(email);
      }
    } finally {
      await crm.close();
    }
  });

  it('scale: N companies, exactly M rows over the model tables, the largest company holding 40%', async () => {
    const crm = await startTestCrm({ seed: false });
    try {
      await seedScale(crm.db, crm.pool, { tenants: 6, rows: 20000 });
      let total = 0;
      for (const m of MODELS) total += Number((await crm.pool.query(`SELECT count(*) FROM ${m.name}`)).rows[0].count);
      expect(total).toBe(20000);
      const perCompany = (await crm.pool.query(`SELECT company_id, count(*)::int AS n FROM contacts GROUP BY company_id ORDER BY n DESC`)).rows;
      const contacts = perCompany.reduce((a: number, r: any) => a + r.n, 0);
      expect(perCompany.length).toBe(6);
      expect(perCompany[0].n / contacts).toBeCloseTo(0.4, 1);
      expect(companyShares(6).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    } finally {
      await crm.close();
    }
  });
});

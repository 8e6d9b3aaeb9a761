import { sql } from 'kysely';
import type { Db } from './db.ts';
import { MODELS, MODEL_BY_NAME, type ModelDef } from './models.ts';

export interface Column {
  name: string;
  dataType: string;
  nullable: boolean;
  hasDefault: boolean;
}

/** Live view of the CRM's tables: which columns each has right now (company_id comes and goes with migrations). */
export class Catalog {
  private columns = new Map<string, Column[]>();
  private loadedAt = 0;

  constructor(
    private readonly db: Db,
    private readonly ttlMs = 2000,
  ) {}

  async refresh(): Promise<void> {
    const { rows } = await sql<{ table_name: string; column_name: string; data_type: string; is_nullable: string; column_default: string | null }>`
      SELECT table_name, column_name, data_type, is_nullable, column_default
      FROM information_schema.columns
      WHERE table_schema = current_schema()
      ORDER BY table_name, ordinal_position`.execute(this.db);
    const next = new Map<string, Column[]>();
    for (const r of rows) {
      const list = next.get(r.table_name) ?? [];
      list.push({ name: r.column_name, dataType: r.data_type, nullable: r.is_nullable === 'YES', hasDefault: r.column_default !== null });
      next.set(r.table_name, list);
    }
    for (const m of MODELS) if (!next.has(m.name)) throw new Error(`table ${m.name} is missing: migrations did not run`);
    this.columns = next;
    this.loadedAt = Date.now();
  }

  /** Re-reads the columns when the last read is older than the TTL. */
  async fresh(): Promise<this> {
    if (Date.now() - this.loadedAt > this.ttlMs) await this.refresh();
    return this;
  }

  columnsOf(table: string): Column[] {
    return this.columns.get(table) ?? [];
  }

  hasColumn(table: string, column: string): boolean {
    return this.columnsOf(table).some((c) => c.name === column);
  }

  /** SQL expression for the company a row of `model` belongs to. */
  companyExpr(model: ModelDef, alias: string, depth = 0): string {
    const own = this.hasColumn(model.name, 'company_id') ? `${alias}.company_id` : null;
    let derived: string | null = null;
    if (model.name === 'users') return `${alias}.company_id`;
    if (model.owner) {
      const u = `u${depth}`;
      derived = `(SELECT ${u}.company_id FROM users ${u} WHERE ${u}.id = ${alias}.${model.owner})`;
    } else if (model.parent) {
      const parent = MODEL_BY_NAME.get(model.parent.model)!;
      const p = `p${depth}`;
      derived = `(SELECT ${this.companyExpr(parent, p, depth + 1)} FROM ${parent.name} ${p} WHERE ${p}.id = ${alias}.${model.parent.column})`;
    }
    if (own && derived) return `COALESCE(${own}, ${derived})`;
    return own ?? derived ?? 'NULL::uuid';
  }

  /**
   * SQL condition "this row belongs to company $1", written as semi-joins through the owner or
   * parent so that PostgreSQL can use their indexes (equal to `companyExpr(...) = $1`).
   * The company id is inlined as a quoted literal after validation.
   */
  companyMatch(model: ModelDef, alias: string, companyId: string, depth = 0): string {
    if (!/^[0-9a-f-]{36}$/i.test(companyId)) throw new Error('invalid company id');
    const lit = `'${companyId}'::uuid`;
    const own = this.hasColumn(model.name, 'company_id') ? `${alias}.company_id = ${lit}` : null;
    let derived: string | null = null;
    if (model.name === 'users') return `${alias}.company_id = ${lit}`;
    if (model.owner) {
      derived = `${alias}.${model.owner} IN (SELECT u${depth}.id FROM users u${depth} WHERE u${depth}.company_id = ${lit})`;
    } else if (model.parent) {
      const parent = MODEL_BY_NAME.get(model.parent.model)!;
      const p = `m${depth}`;
      derived = `${alias}.${model.parent.column} IN (SELECT ${p}.id FROM ${parent.name} ${p} WHERE ${this.companyMatch(parent, p, companyId, depth + 1)})`;
    }
    if (own && derived) return `(${own} OR (${alias}.company_id IS NULL AND ${derived}))`;
    return own ?? derived ?? 'FALSE';
  }

  /** SQL expression for the user who owns a row of `model` (through its parent for child rows). */
  ownerExpr(model: ModelDef, alias: string, depth = 0): string {
    if (model.owner) return `${alias}.${model.owner}`;
    if (model.parent) {
      const parent = MODEL_BY_NAME.get(model.parent.model)!;
      const p = `q${depth}`;
      return `(SELECT ${this.ownerExpr(parent, p, depth + 1)} FROM ${parent.name} ${p} WHERE ${p}.id = ${alias}.${model.parent.column})`;
    }
    return 'NULL::uuid';
  }
}

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { auditSource } from '../../src-main/codeaudit/codeAudit.ts';
import { crossCheck } from '../../src-main/codeaudit/crossCheck.ts';
import type { CodeAuditResult } from '../../src-shared/contract/code.ts';
import { CatalogSchema, type Catalog } from '../../src-shared/catalog.ts';
import { codeSarif } from '../../src-shared/reports/code.ts';

// The source audit on small backends written here: each tricky way of scoping (or not) a query
// is read for what it is, and every fix it writes applies with git apply and, applied, leaves
// nothing for the audit to find.

const MODELS = `
from sqlalchemy import Column, ForeignKey, String
from sqlalchemy.dialects.postgresql import UUID
from app.database import Base


class Company(Base):
    __tablename__ = "companies"
    id = Column(UUID(as_uuid=True), primary_key=True)


class User(Base):
    __tablename__ = "users"
    id = Column(UUID(as_uuid=True), primary_key=True)
    company_id = Column(UUID(as_uuid=True), ForeignKey("companies.id"), nullable=True)


class Contact(Base):
    __tablename__ = "contacts"
    id = Column(UUID(as_uuid=True), primary_key=True)
    company_id = Column(UUID(as_uuid=True), ForeignKey("companies.id"), nullable=True)
    name = Column(String)


class Note(Base):
    __tablename__ = "notes"
    id = Column(UUID(as_uuid=True), primary_key=True)
    owner_id = Column(UUID(as_uuid=True), ForeignKey("users.id"))
    text = Column(String)
`;

const DEPS = `
import uuid
from fastapi import Depends, HTTPException


def get_current_user(token: str = "") -> dict:
    return {}


def require_company(current_user: dict = Depends(get_current_user)) -> uuid.UUID:
    company_id = uuid.UUID(current_user["company_id"]) if current_user.get("company_id") else None
    if not company_id:
        raise HTTPException(status_code=403, detail="No company associated")
    return company_id


def is_super_admin(current_user: dict) -> bool:
    return current_user.get("role") == "super_admin"
`;

const HEAD = `import uuid
from fastapi import APIRouter, Depends, HTTPException
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session
from app.deps import get_current_user, require_company
from app.models import Contact, Note

router = APIRouter(prefix="/things")
`;

function backend(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'codeaudit-'));
  const all: Record<string, string> = {
    'app/__init__.py': '',
    'app/database.py': 'Base = object\n',
    'app/models.py': MODELS,
    'app/deps.py': DEPS,
    'app/main.py': 'from fastapi import FastAPI\nfrom app.api import things\n\napp = FastAPI()\napp.include_router(things.router, prefix="/api")\n',
    'app/api/__init__.py': '',
    ...files,
  };
  for (const [path, text] of Object.entries(all)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

/** A handler module with one route: `body` is the handler's body (indented four spaces). */
const route = (sig: string, body: string, extra = '') => ({
  'app/api/things.py': `${HEAD}${extra}\n\n@router.get("/{thing_id}")\ndef handler(${sig}):\n${body
    .trim()
    .split('\n')
    .map((l) => '    ' + l)
    .join('\n')}\n`,
});
const USER = 'thing_id: uuid.UUID, db: Session = Depends(get_db), current_user: dict = Depends(get_current_user)';

const scopingOf = async (root: string) => {
  const r = await auditSource(root);
  return { r, h: r.handlers.find((h) => h.handler === 'handler')! };
};

/** Applies the audit's patch (git apply --check first) and audits again. */
function applyPatch(root: string, r: CodeAuditResult): void {
  const file = join(root, '..', `${root.split('/').pop()}.patch`);
  writeFileSync(file, r.patch);
  execFileSync('git', ['apply', '--check', file], { cwd: root });
  execFileSync('git', ['apply', file], { cwd: root });
}

const CASES: Array<[string, string, string, 'by-company' | 'by-user' | 'by-id' | 'unscoped', string?]> = [
  ['an aliased model', USER, 'return db.query(C).filter(C.id == thing_id).first()', 'by-id', 'from app.models import Contact as C'],
  [
    'an aliased model, scoped',
    USER,
    'company_id = require_company(current_user)\nreturn db.query(C).filter(C.id == thing_id, C.company_id == company_id).first()',
    'by-company',
    'from app.models import Contact as C',
  ],
  ['filter_by by id', USER, 'return db.query(Contact).filter_by(id=thing_id).first()', 'by-id'],
  [
    'filter_by with the company',
    USER,
    'company_id = require_company(current_user)\nreturn db.query(Contact).filter_by(id=thing_id, company_id=company_id).first()',
    'by-company',
  ],
  [
    'and_ with the company',
    USER,
    'company_id = require_company(current_user)\nreturn db.query(Contact).filter(and_(Contact.id == thing_id, Contact.company_id == company_id)).first()',
    'by-company',
  ],
  [
    'or_ weakens it',
    USER,
    'company_id = require_company(current_user)\nreturn db.query(Contact).filter(or_(Contact.id == thing_id, Contact.company_id == company_id)).first()',
    'by-id',
  ],
  ['select() by id', USER, 'return db.execute(select(Contact).where(Contact.id == thing_id)).scalar_one_or_none()', 'by-id'],
  [
    'select() with the company',
    USER,
    'company_id = require_company(current_user)\nreturn db.scalars(select(Contact).where(Contact.company_id == company_id).where(Contact.id == thing_id)).first()',
    'by-company',
  ],
  ['session.get by id', USER, 'return db.get(Contact, thing_id)', 'by-id'],
  ['no filter at all', USER, 'return db.query(Contact).all()', 'unscoped'],
  ['by the owner only', USER, 'return db.query(Note).filter(Note.owner_id == uuid.UUID(current_user["id"])).all()', 'by-user'],
  [
    'a filter built in a list',
    USER,
    'company_id = require_company(current_user)\nconds = [Contact.id == thing_id]\nconds.append(Contact.company_id == company_id)\nreturn db.query(Contact).filter(*conds).first()',
    'by-company',
  ],
  [
    'a condition in a variable',
    USER,
    'company_id = require_company(current_user)\ncond = and_(Contact.id == thing_id, Contact.company_id == company_id)\nreturn db.query(Contact).filter(cond).first()',
    'by-company',
  ],
  ['a list left without the company', USER, 'conds = [Contact.id == thing_id]\nreturn db.query(Contact).filter(*conds).first()', 'by-id'],
  [
    'the company from a dependency',
    'thing_id: uuid.UUID, db: Session = Depends(get_db), company_id: uuid.UUID = Depends(require_company)',
    'return db.query(Contact).filter(Contact.id == thing_id, Contact.company_id == company_id).first()',
    'by-company',
  ],
  [
    "a note joined to its owner's company",
    USER,
    'company_id = require_company(current_user)\nreturn db.query(Note).join(User, User.id == Note.owner_id).filter(Note.id == thing_id, User.company_id == company_id).first()',
    'by-company',
    'from app.models import User',
  ],
  [
    "the super admin's branch aside",
    USER,
    'if is_super_admin(current_user):\n    return db.query(Contact).all()\ncompany_id = require_company(current_user)\nreturn db.query(Contact).filter(Contact.company_id == company_id).all()',
    'by-company',
    'from app.deps import is_super_admin',
  ],
  [
    'a query reassigned on one branch only',
    USER,
    'query = db.query(Contact).filter(Contact.id == thing_id)\nif thing_id:\n    query = query.filter(Contact.company_id == require_company(current_user))\nreturn query.first()',
    'by-id',
  ],
];

describe('the source audit reads how a handler scopes its queries', () => {
  it.each(CASES)('%s', async (_name, sig, body, expected, extra) => {
    const root = backend(route(sig, body, extra));
    const { r, h } = await scopingOf(root);
    expect(h, JSON.stringify(r.handlers)).toBeDefined();
    expect(h.scoping).toBe(expected);
    const leaks = r.findings.filter((f) => f.kind === 'id-only-query' || f.kind === 'unscoped-query');
    expect(leaks.length > 0).toBe(expected === 'by-id' || expected === 'unscoped');
    if (leaks.length) {
      expect(leaks[0]).toMatchObject({ file: 'app/api/things.py', handler: 'handler', method: 'GET', path: '/api/things/{thing_id}', operation: 'read' });
      expect(readFileSync(join(root, 'app/api/things.py'), 'utf8').split('\n')[leaks[0]!.line - 1]).toMatch(/query\(|select\(|\.get\(/);
      // the fix applies to the checkout and, applied, leaves nothing to find
      applyPatch(root, r);
      const again = await auditSource(root);
      expect(again.findings.filter((f) => f.kind !== 'model-without-company')).toEqual([]);
      expect(again.handlers.find((x) => x.handler === 'handler')!.scoping).toBe('by-company');
    }
  });

  it('follows a helper in another module to the line the query is on', async () => {
    const root = backend({
      'app/services/contacts.py':
        'from app.models import Contact\n\n\ndef find(db, thing_id, current_user):\n    return db.query(Contact).filter(Contact.id == thing_id).first()\n',
      ...route(USER, 'return find(db, thing_id, current_user)', 'from app.services.contacts import find'),
    });
    const { r, h } = await scopingOf(root);
    expect(h.scoping).toBe('by-id');
    expect(h.queries).toEqual([expect.objectContaining({ file: 'app/services/contacts.py', line: 5, via: ['handler', 'find'] })]);
    expect(r.findings.find((f) => f.kind === 'id-only-query')).toMatchObject({ file: 'app/services/contacts.py', line: 5, handler: 'handler' });
    applyPatch(root, r);
    expect((await auditSource(root)).findings.filter((f) => f.kind !== 'model-without-company')).toEqual([]);
  });

  it('finds a create that leaves company_id out and a model without company_id, with fixes that apply', async () => {
    const root = backend({
      'app/api/things.py': `${HEAD}\n\n@router.post("/")\ndef handler(body: dict, db: Session = Depends(get_db), current_user: dict = Depends(get_current_user)):\n    record = Contact(name=body["name"])\n    db.add(record)\n    return record\n`,
    });
    const r = await auditSource(root);
    expect(r.findings.map((f) => [f.kind, f.file, f.line])).toEqual([
      ['create-without-company', 'app/api/things.py', 13],
      ['model-without-company', 'app/models.py', 25],
    ]);
    expect(r.findings[1]!.diff).toContain('+    company_id = Column(UUID(as_uuid=True), ForeignKey("companies.id"), nullable=True)');
    // the model's fix waits for the migration: it is not in the patch until --after-migration
    expect(r.patch).not.toContain('app/models.py');
    applyPatch(root, r);
    expect((await auditSource(root)).findings.map((f) => f.kind)).toEqual(['model-without-company']);
    const after = await auditSource(root, { afterMigration: true });
    expect(after.patch).toContain('app/models.py');
    applyPatch(root, after);
    expect((await auditSource(root)).findings).toEqual([]);
  });

  it('reports what it could not read and follows nothing out of the tree', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'outside-'));
    writeFileSync(join(outside, 'secret.py'), 'password = "x"\n');
    const root = backend({ 'app/broken.py': 'def f(:\n    pass\n', 'app/blob.py': 'x = 1\u0000\n', ...route(USER, 'return db.get(Contact, thing_id)') });
    symlinkSync(join(outside, 'secret.py'), join(root, 'app', 'linked.py'));
    writeFileSync(join(root, 'app', 'huge.py'), '# ' + 'x'.repeat(3 * 1024 * 1024) + '\n');
    const before = execFileSync('find', ['.', '-type', 'f', '-exec', 'md5sum', '{}', ';'], { cwd: root, encoding: 'utf8' });
    const r = await auditSource(root);
    expect(Object.fromEntries(r.skipped.map((s) => [s.path, s.reason]))).toEqual({
      'app/blob.py': 'binary (a NUL byte)',
      'app/huge.py': expect.stringMatching(/larger than 2 MiB/),
      'app/linked.py': 'a symlink that leaves the source folder (not followed)',
      'app/broken.py': 'not Python at line 1, column 7 (skipped)',
    });
    expect(r.findings.some((f) => f.kind === 'id-only-query')).toBe(true);
    expect(execFileSync('find', ['.', '-type', 'f', '-exec', 'md5sum', '{}', ';'], { cwd: root, encoding: 'utf8' })).toBe(before);
    await expect(auditSource(join(root, 'nope'))).rejects.toThrow(/cannot be read/);
  });

  it('writes SARIF 2.1.0 with physical locations on the lines', async () => {
    const root = backend(route(USER, 'return db.query(Contact).filter(Contact.id == thing_id).first()'));
    const sarif = JSON.parse(codeSarif(await auditSource(root)));
    expect(sarif.version).toBe('2.1.0');
    expect(sarif.runs[0].originalUriBaseIds.SRCROOT.uri).toBe(`file://${root}/`);
    expect(sarif.runs[0].results[0]).toMatchObject({
      ruleId: 'id-only-query',
      level: 'error',
      locations: [{ physicalLocation: { artifactLocation: { uri: 'app/api/things.py', uriBaseId: 'SRCROOT' }, region: { startLine: 13 } } }],
    });
  });

  it('checks each finding against the runner: confirmed, refuted (saying where the analyzer stopped), not probed; a leak no finding explains is a finding', async () => {
    const root = backend({
      'app/api/things.py': `${HEAD}\n\n@router.get("/{thing_id}")\ndef read_one(${USER}):\n    return db.query(Contact).filter(Contact.id == thing_id).first()\n\n\n@router.delete("/{thing_id}")\ndef delete_one(${USER}):\n    company_id = require_company(current_user)\n    return db.query(Contact).filter(Contact.id == thing_id, Contact.company_id == company_id).delete()\n\n\n@router.get("/")\ndef list_all(${USER}):\n    return db.query(Contact).all()\n`,
    });
    const r = await auditSource(root);
    const run = { runId: 7, startedAt: '2026-12-03T10:00:00Z', connection: 'x' };
    const probe = (operation: string, identity: string, verdict: 'leak' | 'enforced' | 'skipped') => ({ resource: 'contacts', operation, identity, verdict });
    const checked = crossCheck(
      r,
      [
        probe('read', 'Globex admin', 'enforced'),
        probe('read', 'No company', 'enforced'),
        probe('delete', 'Globex admin', 'leak'),
        probe('list', 'Globex admin', 'skipped'),
      ],
      run,
    );
    const by = Object.fromEntries(checked.findings.map((f) => [`${f.kind} ${f.operation}`, f]));
    expect(by['id-only-query read']).toMatchObject({
      dynamic: 'refuted',
      dynamicDetail: expect.stringMatching(/enforced for Globex admin, No company: the scoping happens where the analyzer stopped \(it followed read_one/),
    });
    expect(by['unscoped-query list']).toMatchObject({ dynamic: 'not-probed' });
    expect(by['unexplained-leak delete']).toMatchObject({
      severity: 'HIGH',
      handler: 'delete_one',
      line: 17,
      dynamic: 'confirmed',
      does: expect.stringMatching(/reads as by company/),
    });
    expect(checked.handlers.map((h) => [h.handler, h.dynamic])).toEqual([
      ['read_one', 'enforced'],
      ['delete_one', 'leak'],
      ['list_all', 'not-probed'],
    ]);
    expect(checked.counts.HIGH).toBe(3);
  });

  it('joins to the company the way the catalog derives it (the owner, not another reference)', async () => {
    const models = MODELS.replace(
      '    owner_id = Column(UUID(as_uuid=True), ForeignKey("users.id"))',
      '    contact_id = Column(UUID(as_uuid=True), ForeignKey("contacts.id"))\n    owner_id = Column(UUID(as_uuid=True), ForeignKey("users.id"))',
    );
    const root = backend({ 'app/models.py': models, ...route(USER, 'return db.query(Note).filter(Note.id == thing_id).first()') });
    const diffOf = async (catalog?: Catalog) => (await auditSource(root, { catalog })).findings.find((f) => f.kind === 'id-only-query')!.diff!;
    // by itself, the first reference declared
    expect(await diffOf()).toContain('.join(Contact, Contact.id == Note.contact_id).filter(Contact.company_id == company_id)');
    const catalog = CatalogSchema.parse({
      resources: [
        {
          name: 'notes',
          endpoints: {},
          table: 'notes',
          companyField: null,
          class: 'tenant',
          derivation: { kind: 'owner', field: 'owner_id' },
          priority: 'HIGH',
        },
      ],
    });
    expect(await diffOf(catalog)).toContain('.join(User, User.id == Note.owner_id).filter(User.company_id == company_id)');
  });
});

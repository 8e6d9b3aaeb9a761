// bench/codeaudit: the source audit over a generated backend of 1,000 Python files (about 200k
// lines: models, API modules with a mix of scoped and leaking handlers, helpers, a main that mounts
// every router). Baseline, in the same run: a plain tree-sitter parse of the same files.
// Target: the whole audit (read, parse, routes, models, scoping, fixes and their diffs) ≤ 10 s.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditSource } from '../src-main/codeaudit/codeAudit.ts';
import { pythonParser } from '../src-main/codeaudit/parser.ts';
import { readSource } from '../src-main/codeaudit/source.ts';

const FILES = Number(process.argv[2] ?? 1000);
const MODEL_FILES = Math.max(1, Math.round(FILES / 20));
const API_FILES = FILES - MODEL_FILES - 3;
const log = (line: string) => process.stderr.write(line + '\n');

function modelFile(i: number): string {
  const out = [
    'import uuid',
    'from sqlalchemy import Column, ForeignKey, String, Text',
    'from sqlalchemy.dialects.postgresql import UUID',
    'from app.database import Base',
    '',
  ];
  for (let j = 0; j < 4; j++) {
    const n = i * 4 + j;
    out.push(
      '',
      `class Thing${n}(Base):`,
      `    __tablename__ = "things_${n}"`,
      '',
      '    id = Column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)',
    );
    out.push(
      n % 3 === 0
        ? '    company_id = Column(UUID(as_uuid=True), ForeignKey("companies.id"), nullable=True)'
        : '    owner_id = Column(UUID(as_uuid=True), ForeignKey("users.id"))',
    );
    for (let c = 0; c < 14; c++) out.push(`    field_${c} = Column(${c % 2 ? 'Text' : 'String'}, nullable=True)`);
  }
  return out.join('\n') + '\n';
}

function apiFile(i: number): string {
  const model = `Thing${(i * 4) % (MODEL_FILES * 4)}`;
  const modelFileIndex = Math.floor(((i * 4) % (MODEL_FILES * 4)) / 4);
  const out = [
    'import uuid',
    'from typing import List',
    'from fastapi import APIRouter, Depends, HTTPException, Query',
    'from sqlalchemy import and_, select',
    'from sqlalchemy.orm import Session',
    'from app.deps import get_db, is_super_admin, require_company',
    `from app.models.m${modelFileIndex} import ${model}`,
    'from app.security import get_current_user',
    '',
    `router = APIRouter(prefix="/r${i}", tags=["r${i}"])`,
    '',
    '',
    `def _scoped(db: Session, item_id: uuid.UUID, current_user: dict) -> ${model}:`,
    '    company_id = require_company(current_user)',
    `    record = db.query(${model}).filter(and_(${model}.id == item_id, ${model}.company_id == company_id)).first()`,
    '    if not record:',
    '        raise HTTPException(status_code=404, detail="Not found")',
    '    return record',
  ];
  for (let h = 0; h < 20; h++) {
    const kind = (i + h) % 5;
    out.push('', '', `@router.${['get', 'get', 'put', 'delete', 'get'][kind]}("/${kind === 0 ? '' : '{item_id}'}x${h}")`);
    out.push(
      `def handler_${h}(${kind === 0 ? '' : 'item_id: uuid.UUID, '}skip: int = 0, limit: int = Query(100, le=500), db: Session = Depends(get_db), current_user: dict = Depends(get_current_user)):`,
    );
    if (kind === 0) {
      out.push('    if is_super_admin(current_user):', `        query = db.query(${model})`, '    else:', '        company_id = require_company(current_user)');
      out.push(
        `        query = db.query(${model}).filter(${model}.company_id == company_id)`,
        `    return query.order_by(${model}.id).offset(skip).limit(limit).all()`,
      );
    } else if (kind === 1) {
      out.push(
        `    record = db.query(${model}).filter(${model}.id == item_id).first()`,
        '    if not record:',
        '        raise HTTPException(status_code=404, detail="Not found")',
      );
      out.push('    return record');
    } else if (kind === 2) {
      out.push(
        '    record = _scoped(db, item_id, current_user)',
        '    for key in ("a", "b", "c"):',
        '        setattr(record, key, None)',
        '    db.commit()',
        '    return record',
      );
    } else if (kind === 3) {
      out.push(`    stmt = select(${model}).where(${model}.id == item_id)`, '    record = db.execute(stmt).scalar_one_or_none()', '    if record is None:');
      out.push('        raise HTTPException(status_code=404, detail="Not found")', '    db.delete(record)', '    db.commit()');
    } else {
      out.push('    conds = [' + `${model}.id == item_id]`, '    conds.append(' + `${model}.company_id == require_company(current_user))`);
      out.push(`    return db.query(${model}).filter(*conds).first()`);
    }
  }
  return out.join('\n') + '\n';
}

function generate(root: string): number {
  const files: Record<string, string> = {
    'app/__init__.py': '',
    'app/database.py': 'from sqlalchemy.orm import declarative_base\n\nBase = declarative_base()\n',
    'app/deps.py':
      'import uuid\nfrom fastapi import HTTPException\n\n\ndef get_db():\n    yield None\n\n\ndef require_company(current_user: dict) -> uuid.UUID:\n    company_id = uuid.UUID(current_user["company_id"]) if current_user.get("company_id") else None\n    if not company_id:\n        raise HTTPException(status_code=403, detail="No company associated")\n    return company_id\n\n\ndef is_super_admin(current_user: dict) -> bool:\n    return current_user.get("role") == "super_admin"\n',
    'app/security.py': 'def get_current_user(token: str = "") -> dict:\n    return {}\n',
    'app/models/__init__.py': '',
    'app/models/users.py':
      'from sqlalchemy import Column, ForeignKey\nfrom sqlalchemy.dialects.postgresql import UUID\nfrom app.database import Base\n\n\nclass Company(Base):\n    __tablename__ = "companies"\n    id = Column(UUID(as_uuid=True), primary_key=True)\n\n\nclass User(Base):\n    __tablename__ = "users"\n    id = Column(UUID(as_uuid=True), primary_key=True)\n    company_id = Column(UUID(as_uuid=True), ForeignKey("companies.id"))\n',
    'app/api/__init__.py': '',
  };
  for (let i = 0; i < MODEL_FILES; i++) files[`app/models/m${i}.py`] = modelFile(i);
  const mains = [
    'from fastapi import FastAPI',
    'from app.api import ' + Array.from({ length: API_FILES }, (_, i) => `r${i}`).join(', '),
    '',
    'app = FastAPI()',
  ];
  for (let i = 0; i < API_FILES; i++) {
    files[`app/api/r${i}.py`] = apiFile(i);
    mains.push(`app.include_router(r${i}.router, prefix="/api/v1")`);
  }
  files['app/main.py'] = mains.join('\n') + '\n';
  let lines = 0;
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
    lines += text.split('\n').length;
  }
  return lines;
}

const dir = mkdtempSync(join(tmpdir(), 'bench-codeaudit-'));
try {
  const lines = generate(dir);
  log(`generated ${FILES} files, ${lines.toLocaleString('en-US')} lines`);
  const parser = await pythonParser();
  const baselines: number[] = [];
  const audits: Array<{ seconds: number; result: Awaited<ReturnType<typeof auditSource>> }> = [];
  let readSeconds = 0;
  for (let run = 0; run < 3; run++) {
    let t = performance.now();
    const { files } = readSource(dir, ['.py']);
    readSeconds = (performance.now() - t) / 1000;
    t = performance.now();
    for (const f of files) parser.parse(f.text)?.delete();
    baselines.push((performance.now() - t) / 1000 + readSeconds);
    t = performance.now();
    const result = await auditSource(dir);
    audits.push({ seconds: (performance.now() - t) / 1000, result });
  }
  baselines.sort((a, b) => a - b);
  audits.sort((a, b) => a.seconds - b.seconds);
  const median = audits[1]!;
  const r = median.result;
  log(`plain read + parse: ${baselines.map((s) => s.toFixed(2)).join(', ')} s (read alone ${readSeconds.toFixed(2)} s)`);
  log(
    `audit: ${audits.map((a) => a.seconds.toFixed(2)).join(', ')} s; ${r.handlers.length} handlers, ${r.findings.length} findings, patch ${(r.patch.length / 1024).toFixed(0)} KiB`,
  );
  const result = {
    bench: 'codeaudit',
    files: r.files,
    lines: r.lines,
    handlers: r.handlers.length,
    findings: r.findings.length,
    auditSeconds: +median.seconds.toFixed(2),
    auditSecondsBest: +audits[0]!.seconds.toFixed(2),
    baselineParseSeconds: +baselines[1]!.toFixed(2),
    auditVsParse: +(median.seconds / baselines[1]!).toFixed(1),
    timings: Object.fromEntries(Object.entries(r.timings).map(([k, v]) => [k, +v.toFixed(2)])),
    targets: { auditSeconds: 10 },
    met: median.seconds <= 10,
  };
  process.stdout.write(JSON.stringify(result) + '\n');
} finally {
  rmSync(dir, { recursive: true, force: true });
}

import { useWrites } from '../stores/safetyStore.ts';
import type { RunRecord } from '../../src-shared/migration.ts';
import { bytes as mib, count as fmt } from '../../src-shared/format.ts';
import { useMigration } from '../stores/migrationStore.ts';
import { When } from '../components/When.tsx';

/** What a run's backup is, in a few words, with where it lies on hover. */
function BackupCell({ run }: { run: RunRecord }) {
  const st = useMigration();
  const { writes, why } = useWrites();
  const b = run.backup;
  if (!b) return <span className="muted">–</span>;
  if (!b.taken)
    return (
      <span className="warn-text" title={`${b.reason} (${b.by})`}>
        none
      </span>
    );
  return (
    <span className="row" title={`${b.path}\nsha256 ${b.sha256}${b.note ? `\n${b.note}` : ''}`}>
      {b.format === 'pg_dump' ? b.tool : 'COPY backup'}, {mib(b.bytes)}
      <button
        type="button"
        className="small"
        disabled={!!st.busy || !writes}
        title={why ?? 'Restores the backup into a scratch database on the same server, compares it, drops it'}
        onClick={() => void st.verifyBackup(run.id)}
        data-testid={`mig-backup-verify-${run.id}`}
      >
        {st.busy === 'backup' ? 'Restoring…' : 'Verify'}
      </button>
    </span>
  );
}

/** The last backup restored into a scratch database: per table, rows and fingerprint against the dump's. */
function BackupCheck() {
  const v = useMigration((s) => s.backupCheck);
  if (!v) return null;
  return (
    <div className="card" data-testid="mig-backup-check">
      <strong className={v.ok ? 'ok-text' : 'bad-text'}>
        {v.ok ? `Run ${v.runId}'s backup restores: every table equal to the source as of the dump` : `Run ${v.runId}'s backup does not restore as taken`}
      </strong>
      <div className="small muted">
        {v.path} · checksum {v.checksumEqual ? 'as taken' : 'changed'}
        {v.scratchDatabase ? ` · restored into ${v.scratchDatabase} (dropped) in ${v.seconds.toFixed(1)} s` : ''}
      </div>
      {v.tables.length > 0 && (
        <table className="grid small">
          <thead>
            <tr>
              <th scope="col">Table</th>
              <th scope="col">Rows at the dump</th>
              <th scope="col">Rows restored</th>
              <th scope="col">Fingerprint</th>
            </tr>
          </thead>
          <tbody>
            {v.tables.map((t) => (
              <tr key={t.table}>
                <td>{t.table}</td>
                <td>{fmt(t.rowsAtDump)}</td>
                <td>{fmt(t.rowsRestored)}</td>
                <td className={t.equal ? 'ok-text' : 'bad-text'}>{t.equal ? 'equal' : 'differs'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {v.problems.map((p, i) => (
        <div key={i} className="small bad-text">
          {p}
        </div>
      ))}
    </div>
  );
}

/** Every run recorded in the CRM's database, with its backup and a way to prove it restores. */
export function MigrationRuns() {
  const runs = useMigration((s) => s.status?.runs);
  return (
    <>
      <BackupCheck />
      <div className="card" data-testid="mig-runs">
        <strong>Runs recorded in the CRM's database</strong>
        {runs?.length ? (
          <table className="grid small">
            <thead>
              <tr>
                <th scope="col">Run</th>
                <th scope="col">Status</th>
                <th scope="col">By</th>
                <th scope="col">Started</th>
                <th scope="col">Finished</th>
                <th scope="col">Tables</th>
                <th scope="col">Rows</th>
                <th scope="col">Backup</th>
                <th scope="col">Outcome</th>
              </tr>
            </thead>
            <tbody>
              {runs.map((r) => (
                <tr key={r.id} data-testid={`mig-run-${r.id}`}>
                  <td>{r.id}</td>
                  <td>{r.status}</td>
                  <td>
                    {r.startedBy}
                    {r.rolledBackBy ? ` (rolled back by ${r.rolledBackBy})` : ''}
                  </td>
                  <td>
                    <When at={r.startedAt} />
                  </td>
                  <td>{r.finishedAt ? <When at={r.finishedAt} /> : '–'}</td>
                  <td title={r.tables.join(', ')}>{r.tables.length}</td>
                  <td>{fmt(r.rows)}</td>
                  <td data-testid={`mig-run-backup-${r.id}`}>
                    <BackupCell run={r} />
                  </td>
                  <td>{r.message ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <div className="muted small">No migration has run on this database.</div>
        )}
      </div>
    </>
  );
}

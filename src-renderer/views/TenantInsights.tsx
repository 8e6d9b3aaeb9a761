import { useEffect, useState } from 'react';
import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { Output } from '../../src-shared/contract.ts';
import { ApiError, call } from '../api.ts';
import { count as fmt } from '../../src-shared/format.ts';
import { When } from '../components/When.tsx';

type Overview = Output<'tenants:overview'>;
/** the legend in the order the bars stack (bottom up) and the lines are named: company_id first, then HIGH, MEDIUM, LOW */
const STACK = ['with company_id', 'HIGH', 'MEDIUM', 'LOW'];
const stackOrder = (item: { value?: unknown }) => {
  const i = STACK.indexOf(String(item.value));
  return i < 0 ? STACK.length : i;
};

const COLORS = { company: '#2f9e44', HIGH: '#e03131', MEDIUM: '#f08c00', LOW: '#868e96' };
const day = (iso: string) => new Date(iso).toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });

/**
 * The tenants as numbers and pictures, from the cache: users, rows per priority group, rows still
 * missing company_id, open findings; two tenants side by side; rows per tenant, findings over time
 * and the sync history as charts. `refresh` changes whenever the cache may have changed.
 */
export function TenantInsights({ refresh }: { refresh: unknown }) {
  const [data, setData] = useState<Overview | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [a, setA] = useState('');
  const [b, setB] = useState('');
  useEffect(() => {
    let live = true;
    call('tenants:overview', {}).then(
      (d) => {
        if (live) {
          setData(d);
          setError(null);
        }
      },
      (e: unknown) => {
        if (live) setError(e instanceof ApiError ? e.message : 'The overview could not be read.');
      },
    );
    return () => {
      live = false;
    };
  }, [refresh]);
  if (error)
    return (
      <div className="alert" role="alert">
        {error}
      </div>
    );
  if (!data || !data.tenants.some((t) => t.rows > 0)) return null;
  const tenants = data.tenants;
  const ta = tenants.find((t) => t.id === a) ?? tenants[0]!;
  const tb = tenants.find((t) => t.id === b) ?? tenants[1] ?? tenants[0]!;
  const resources = [...new Set(data.resources.filter((r) => r.tenant === ta.id || r.tenant === tb.id).map((r) => r.resource))].sort();
  const cell = (tenant: string, resource: string) => data.resources.find((r) => r.tenant === tenant && r.resource === resource);
  const rowsChart = tenants.map((t) => ({
    name: t.name,
    'with company_id': t.byPriority.company,
    HIGH: t.byPriority.HIGH,
    MEDIUM: t.byPriority.MEDIUM,
    LOW: t.byPriority.LOW,
  }));
  return (
    <div className="insights" data-testid="tenant-insights">
      <h2>Overview</h2>
      <table className="grid small" data-testid="tenant-overview">
        <thead>
          <tr>
            <th scope="col">Company</th>
            <th scope="col">Users</th>
            <th scope="col">Rows with company_id</th>
            <th scope="col">HIGH</th>
            <th scope="col">MEDIUM</th>
            <th scope="col">LOW</th>
            <th scope="col">Missing company_id</th>
            <th scope="col">Open findings</th>
          </tr>
        </thead>
        <tbody>
          {tenants.map((t) => (
            <tr key={t.id} data-testid={`overview-${t.name}`}>
              <td>{t.name}</td>
              <td>{fmt(t.users)}</td>
              <td>{fmt(t.byPriority.company)}</td>
              <td>{fmt(t.byPriority.HIGH)}</td>
              <td>{fmt(t.byPriority.MEDIUM)}</td>
              <td>{fmt(t.byPriority.LOW)}</td>
              <td className={t.missingCompanyId ? 'bad-text' : ''}>{fmt(t.missingCompanyId)}</td>
              <td>
                {t.openFindings === null ? (
                  <span className="muted">no audit yet</span>
                ) : (
                  <>
                    {t.openFindings}
                    {t.findingsOfAll ? (
                      <span className="muted" title="From the audit of every tenant: run the audit of this tenant alone (Audit view) for its own count">
                        {' '}
                        (audit of all)
                      </span>
                    ) : null}
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>

      <div className="charts">
        <figure className="card" data-testid="chart-rows">
          <figcaption className="small muted">Rows per tenant, by the seed's priority (green: models with company_id)</figcaption>
          <ResponsiveContainer width="100%" height={220}>
            <BarChart data={rowsChart} margin={{ left: 8, right: 8 }}>
              <CartesianGrid strokeDasharray="3 3" />
              <XAxis dataKey="name" tick={{ fontSize: 11 }} interval={0} angle={-20} textAnchor="end" height={52} />
              <YAxis tick={{ fontSize: 11 }} />
              <Tooltip />
              <Legend wrapperStyle={{ fontSize: 11 }} itemSorter={stackOrder} />
              <Bar dataKey="with company_id" stackId="p" fill={COLORS.company} isAnimationActive={false} />
              <Bar dataKey="HIGH" stackId="p" fill={COLORS.HIGH} isAnimationActive={false} />
              <Bar dataKey="MEDIUM" stackId="p" fill={COLORS.MEDIUM} isAnimationActive={false} />
              <Bar dataKey="LOW" stackId="p" fill={COLORS.LOW} isAnimationActive={false} />
            </BarChart>
          </ResponsiveContainer>
        </figure>
        <figure className="card" data-testid="chart-findings">
          <figcaption className="small muted">Open findings over time (every audit run)</figcaption>
          {data.findingsHistory.length ? (
            <ResponsiveContainer width="100%" height={220}>
              <LineChart data={data.findingsHistory.map((f) => ({ ...f, at: day(f.at) }))} margin={{ left: 8, right: 8 }}>
                <CartesianGrid strokeDasharray="3 3" />
                <XAxis dataKey="at" tick={{ fontSize: 11 }} />
                <YAxis allowDecimals={false} tick={{ fontSize: 11 }} />
                <Tooltip />
                <Legend wrapperStyle={{ fontSize: 11 }} itemSorter={stackOrder} />
                <Line dataKey="HIGH" stroke={COLORS.HIGH} isAnimationActive={false} />
                <Line dataKey="MEDIUM" stroke={COLORS.MEDIUM} isAnimationActive={false} />
                <Line dataKey="LOW" stroke={COLORS.LOW} isAnimationActive={false} />
              </LineChart>
            </ResponsiveContainer>
          ) : (
            <p className="muted small">No audit has run: the Audit view measures the cache.</p>
          )}
        </figure>
        <figure className="card" data-testid="chart-syncs">
          <figcaption className="small muted">Sync history on this machine: rows a sync</figcaption>
          {data.syncHistory.length ? (
            <ResponsiveContainer width="100%" height={220}>
              <BarChart data={data.syncHistory.map((s) => ({ ...s, at: day(s.startedAt) }))} margin={{ left: 8, right: 8 }}>
                <CartesianGrid strokeDasharray="3 3" />
                <XAxis dataKey="at" tick={{ fontSize: 11 }} />
                <YAxis tick={{ fontSize: 11 }} />
                <Tooltip />
                <Bar dataKey="rows" fill="#3b5bdb" isAnimationActive={false} />
              </BarChart>
            </ResponsiveContainer>
          ) : (
            <p className="muted small" data-testid="no-sync-history">
              No sync has run on this machine. The rows here came from a sync elsewhere (an imported copy carries its data and when it was synced, not its sync
              history), or nothing is cached yet.
            </p>
          )}
        </figure>
      </div>

      {tenants.length > 1 && (
        <div className="card" data-testid="tenant-compare">
          <div className="row">
            <h2 className="small">Compare</h2>
            <select value={ta.id} onChange={(e) => setA(e.target.value)} aria-label="First tenant" data-testid="compare-a">
              {tenants.map((t) => (
                <option key={t.id} value={t.id}>
                  {t.name}
                </option>
              ))}
            </select>
            <span className="muted">with</span>
            <select value={tb.id} onChange={(e) => setB(e.target.value)} aria-label="Second tenant" data-testid="compare-b">
              {tenants.map((t) => (
                <option key={t.id} value={t.id}>
                  {t.name}
                </option>
              ))}
            </select>
          </div>
          <table className="grid small">
            <thead>
              <tr>
                <th scope="col" />
                <th scope="col">{ta.name}</th>
                <th scope="col">{tb.name}</th>
              </tr>
            </thead>
            <tbody>
              <tr>
                <th scope="row">Users</th>
                <td>{fmt(ta.users)}</td>
                <td>{fmt(tb.users)}</td>
              </tr>
              <tr>
                <th scope="row">Rows</th>
                <td>{fmt(ta.rows)}</td>
                <td>{fmt(tb.rows)}</td>
              </tr>
              <tr>
                <th scope="row">Missing company_id</th>
                <td>{fmt(ta.missingCompanyId)}</td>
                <td>{fmt(tb.missingCompanyId)}</td>
              </tr>
              <tr>
                <th scope="row">Open findings</th>
                <td>{ta.openFindings ?? '–'}</td>
                <td>{tb.openFindings ?? '–'}</td>
              </tr>
              <tr>
                <th scope="row">Last sync</th>
                <td>{ta.lastSync ? <When at={ta.lastSync} /> : '–'}</td>
                <td>{tb.lastSync ? <When at={tb.lastSync} /> : '–'}</td>
              </tr>
              <tr>
                <th scope="row">Proof</th>
                <td>{ta.proof.proven ? `${ta.proof.proven - ta.proof.drifted} in sync, ${ta.proof.drifted} drifted` : 'not proven'}</td>
                <td>{tb.proof.proven ? `${tb.proof.proven - tb.proof.drifted} in sync, ${tb.proof.drifted} drifted` : 'not proven'}</td>
              </tr>
              {resources.map((r) => {
                const x = cell(ta.id, r);
                const y = cell(tb.id, r);
                return (
                  <tr key={r} data-testid={`compare-${r}`}>
                    <th scope="row">
                      <code>{r}</code>
                    </th>
                    <td>{x ? `${fmt(x.rows)}${x.missing && x.priority !== 'company' ? ` (${fmt(x.missing)} missing)` : ''}` : '–'}</td>
                    <td>{y ? `${fmt(y.rows)}${y.missing && y.priority !== 'company' ? ` (${fmt(y.missing)} missing)` : ''}` : '–'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

/**
 * The CRM's 32 models, as the seed audit lists them. What columns a table has is read from the
 * database at run time (so the same server works before and after a company_id migration);
 * this registry only says where each model is served and how it reaches its company.
 */
export type Priority = 'HIGH' | 'MEDIUM' | 'LOW';

export interface ModelDef {
  /** resource name, the table's name */
  name: string;
  /** REST collection path */
  path: string;
  /** the seed's source file, used as the OpenAPI tag */
  tag: string;
  /** the seed's priority for the models missing company_id; null for the 11 finished ones */
  priority: Priority | null;
  /** column naming the user who owns a row */
  owner?: string;
  /** column naming the parent row a child takes its company from */
  parent?: { column: string; model: string };
  /** rows with a NULL owner are shared by every company (system-wide templates) */
  sharedWhenOwnerNull?: boolean;
}

export const MODELS: ModelDef[] = [
  // the 11 models that already carry company_id
  { name: 'users', path: '/api/users', tag: 'users', priority: null, owner: 'id' },
  { name: 'twilio_settings', path: '/api/twilio-settings', tag: 'twilio_settings', priority: null },
  { name: 'phone_numbers', path: '/api/phone-numbers', tag: 'sms', priority: null, owner: 'user_id' },
  { name: 'sms_messages', path: '/api/sms/messages', tag: 'sms', priority: null, owner: 'user_id' },
  { name: 'scheduled_sms', path: '/api/sms/scheduled', tag: 'sms_enhanced', priority: null, owner: 'user_id' },
  { name: 'sms_templates', path: '/api/sms/templates', tag: 'sms_enhanced', priority: null, owner: 'user_id' },
  { name: 'payment_history', path: '/api/payments', tag: 'payments', priority: null },
  { name: 'pipelines', path: '/api/pipelines', tag: 'pipelines', priority: null },
  { name: 'deals', path: '/api/deals', tag: 'deals', priority: null, owner: 'owner_id' },
  { name: 'contacts', path: '/api/contacts', tag: 'contacts', priority: null, owner: 'owner_id' },
  { name: 'activities', path: '/api/activities', tag: 'activities', priority: null, owner: 'user_id' },
  // HIGH: data leakage risk
  { name: 'calls', path: '/api/calls', tag: 'calls', priority: 'HIGH', owner: 'user_id' },
  { name: 'emails', path: '/api/emails', tag: 'emails', priority: 'HIGH', owner: 'owner_id' },
  { name: 'email_templates', path: '/api/emails/templates', tag: 'emails', priority: 'HIGH', owner: 'owner_id', sharedWhenOwnerNull: true },
  { name: 'email_campaigns', path: '/api/emails/campaigns', tag: 'emails', priority: 'HIGH', owner: 'owner_id' },
  { name: 'documents', path: '/api/documents', tag: 'documents', priority: 'HIGH', owner: 'owner_id' },
  { name: 'document_signatures', path: '/api/documents/signatures', tag: 'documents', priority: 'HIGH', parent: { column: 'document_id', model: 'documents' } },
  { name: 'quotes', path: '/api/quotes', tag: 'quotes', priority: 'HIGH', owner: 'owner_id' },
  { name: 'workflows', path: '/api/workflows', tag: 'workflows', priority: 'HIGH', owner: 'owner_id' },
  { name: 'workflow_executions', path: '/api/workflows/executions', tag: 'workflows', priority: 'HIGH', parent: { column: 'workflow_id', model: 'workflows' } },
  { name: 'files', path: '/api/files', tag: 'files', priority: 'HIGH', owner: 'owner_id' },
  { name: 'folders', path: '/api/folders', tag: 'folders', priority: 'HIGH', owner: 'owner_id' },
  // MEDIUM: user-specific, but should have company_id
  { name: 'notifications', path: '/api/notifications', tag: 'notifications', priority: 'MEDIUM', owner: 'user_id' },
  { name: 'call_transcripts', path: '/api/call-transcripts', tag: 'call_transcripts', priority: 'MEDIUM', parent: { column: 'call_id', model: 'calls' } },
  { name: 'user_conversations', path: '/api/conversations', tag: 'conversations', priority: 'MEDIUM', owner: 'user_id' },
  { name: 'bulk_email_campaigns', path: '/api/email-campaigns', tag: 'email_campaigns', priority: 'MEDIUM', owner: 'owner_id' },
  {
    name: 'bulk_email_analytics',
    path: '/api/email-campaigns/analytics',
    tag: 'email_campaigns',
    priority: 'MEDIUM',
    parent: { column: 'campaign_id', model: 'bulk_email_campaigns' },
  },
  { name: 'performance_alerts', path: '/api/performance-alerts', tag: 'performance_alerts', priority: 'MEDIUM', owner: 'user_id' },
  { name: 'inbox', path: '/api/inbox', tag: 'inbox', priority: 'MEDIUM', owner: 'user_id' },
  // LOW: system-wide or already isolated
  { name: 'audit_logs', path: '/api/security/audit-logs', tag: 'security', priority: 'LOW', owner: 'user_id' },
  { name: 'security_logs', path: '/api/security/logs', tag: 'security', priority: 'LOW', owner: 'user_id' },
  { name: 'sessions', path: '/api/security/sessions', tag: 'security', priority: 'LOW', owner: 'user_id' },
];

export const MODEL_BY_NAME = new Map(MODELS.map((m) => [m.name, m]));

/** The models the audit says already carry company_id (the legacy profile scopes them by company). */
export const FINISHED_MODELS = MODELS.filter((m) => m.priority === null).map((m) => m.name);

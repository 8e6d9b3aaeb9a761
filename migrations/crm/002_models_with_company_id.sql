-- The ten other models the audit lists as already carrying company_id.
CREATE TABLE twilio_settings (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  company_id     uuid NOT NULL UNIQUE REFERENCES companies(id),
  account_sid    text NOT NULL,
  auth_token_last4 text,
  default_from   text,
  webhook_url    text,
  created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  deleted_at     timestamptz
);

CREATE TABLE phone_numbers (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  company_id     uuid NOT NULL REFERENCES companies(id),
  user_id        uuid REFERENCES users(id),
  number         text NOT NULL,
  friendly_name  text,
  capabilities   jsonb NOT NULL DEFAULT '{"sms": true, "voice": true}',
  created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  deleted_at     timestamptz
);

CREATE TABLE pipelines (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  company_id     uuid NOT NULL REFERENCES companies(id),
  name           text NOT NULL,
  stages         jsonb NOT NULL DEFAULT '["lead", "qualified", "proposal", "won", "lost"]',
  is_default     boolean NOT NULL DEFAULT false,
  created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  deleted_at     timestamptz
);

CREATE TABLE contacts (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  company_id     uuid NOT NULL REFERENCES companies(id),
  owner_id       uuid REFERENCES users(id),
  first_name     text NOT NULL,
  last_name      text NOT NULL,
  email          text,
  phone          text,
  title          text,
  organization   text,
  created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  deleted_at     timestamptz
);

CREATE TABLE deals (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  company_id     uuid NOT NULL REFERENCES companies(id),
  owner_id       uuid REFERENCES users(id),
  pipeline_id    uuid REFERENCES pipelines(id),
  contact_id     uuid REFERENCES contacts(id),
  title          text NOT NULL,
  value          numeric(12, 2) NOT NULL DEFAULT 0,
  currency       text NOT NULL DEFAULT 'USD',
  stage          text NOT NULL DEFAULT 'lead',
  expected_close date,
  created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  deleted_at     timestamptz
);

CREATE TABLE activities (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  company_id     uuid NOT NULL REFERENCES companies(id),
  user_id        uuid REFERENCES users(id),
  deal_id        uuid REFERENCES deals(id),
  contact_id     uuid REFERENCES contacts(id),
  type           text NOT NULL DEFAULT 'task',
  subject        text NOT NULL,
  due_at         timestamptz,
  completed      boolean NOT NULL DEFAULT false,
  created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  deleted_at     timestamptz
);

CREATE TABLE sms_messages (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  company_id     uuid NOT NULL REFERENCES companies(id),
  user_id        uuid REFERENCES users(id),
  contact_id     uuid REFERENCES contacts(id),
  from_number    text NOT NULL,
  to_number      text NOT NULL,
  body           text NOT NULL,
  direction      text NOT NULL DEFAULT 'outbound',
  status         text NOT NULL DEFAULT 'delivered',
  created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  deleted_at     timestamptz
);

CREATE TABLE scheduled_sms (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  company_id     uuid NOT NULL REFERENCES companies(id),
  user_id        uuid REFERENCES users(id),
  to_number      text NOT NULL,
  body           text NOT NULL,
  send_at        timestamptz NOT NULL,
  status         text NOT NULL DEFAULT 'pending',
  created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  deleted_at     timestamptz
);

CREATE TABLE sms_templates (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  company_id     uuid NOT NULL REFERENCES companies(id),
  user_id        uuid REFERENCES users(id),
  name           text NOT NULL,
  body           text NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  deleted_at     timestamptz
);

CREATE TABLE payment_history (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  company_id     uuid NOT NULL REFERENCES companies(id),
  amount         numeric(12, 2) NOT NULL,
  currency       text NOT NULL DEFAULT 'USD',
  status         text NOT NULL DEFAULT 'paid',
  description    text,
  paid_at        timestamptz,
  created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  deleted_at     timestamptz
);

CREATE INDEX idx_phone_numbers_company_id ON phone_numbers(company_id);
CREATE INDEX idx_pipelines_company_id ON pipelines(company_id);
CREATE INDEX idx_contacts_company_id ON contacts(company_id);
CREATE INDEX idx_deals_company_id ON deals(company_id);
CREATE INDEX idx_activities_company_id ON activities(company_id);
CREATE INDEX idx_sms_messages_company_id ON sms_messages(company_id);
CREATE INDEX idx_scheduled_sms_company_id ON scheduled_sms(company_id);
CREATE INDEX idx_sms_templates_company_id ON sms_templates(company_id);
CREATE INDEX idx_payment_history_company_id ON payment_history(company_id);
CREATE INDEX idx_twilio_settings_sync ON twilio_settings(updated_at, id);
CREATE INDEX idx_phone_numbers_sync ON phone_numbers(updated_at, id);
CREATE INDEX idx_pipelines_sync ON pipelines(updated_at, id);
CREATE INDEX idx_contacts_sync ON contacts(updated_at, id);
CREATE INDEX idx_deals_sync ON deals(updated_at, id);
CREATE INDEX idx_activities_sync ON activities(updated_at, id);
CREATE INDEX idx_sms_messages_sync ON sms_messages(updated_at, id);
CREATE INDEX idx_scheduled_sms_sync ON scheduled_sms(updated_at, id);
CREATE INDEX idx_sms_templates_sync ON sms_templates(updated_at, id);
CREATE INDEX idx_payment_history_sync ON payment_history(updated_at, id);

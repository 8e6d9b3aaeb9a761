-- Companies and users: the tenancy root. users.company_id is nullable (super admins and
-- users the retrofit has not assigned yet).
CREATE TABLE companies (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text NOT NULL,
  slug        text NOT NULL UNIQUE,
  plan        text NOT NULL DEFAULT 'standard',
  created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  deleted_at  timestamptz
);

CREATE TABLE users (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  company_id    uuid REFERENCES companies(id),
  email         text NOT NULL UNIQUE,
  full_name     text NOT NULL,
  role          text NOT NULL DEFAULT 'user' CHECK (role IN ('super_admin', 'company_admin', 'user')),
  password_hash text NOT NULL,
  is_active     boolean NOT NULL DEFAULT true,
  created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
  deleted_at    timestamptz
);
CREATE INDEX idx_users_company_id ON users(company_id);
CREATE INDEX idx_users_sync ON users(updated_at, id);

/** Every call through every door answers with one of these. */
export type Ok<T> = { ok: true; value: T };
export type Err = { ok: false; error: AppErrorData };
export type Result<T> = Ok<T> | Err;

export const ERROR_CODES = [
  'invalid-input', // the payload did not match the contract
  'unknown-channel',
  'unauthenticated', // no operator signed in, or the CRM no longer accepts the session
  'forbidden', // the operator's role does not allow this
  'not-found',
  'conflict',
  'unreachable', // nothing answers at the CRM's address
  'tls', // the CRM's certificate was refused
  'bad-credentials', // the CRM refused the email, password or token
  'no-openapi', // the CRM serves no OpenAPI document where the profile says
  'not-a-crm', // something answers, but not the CRM the profile describes
  'bad-response', // the CRM answered with something the profile cannot read
  'offline',
  'storage', // the cache could not be written (disk full, read-only, I/O error)
  'cancelled', // the operator stopped the work; what was done before stays
  'locked', // the cache is encrypted and the key given (or none) does not open it
  'read-only', // Safe Mode: a production connection refuses writes until the operator unlocks them
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface AppErrorData {
  code: ErrorCode;
  message: string;
  /** field errors for invalid input: path -> message */
  fields?: Record<string, string>;
}

/** A failure meant for the user: its message is shown as it is. */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly fields?: Record<string, string>,
  ) {
    super(message);
    this.name = 'AppError';
  }

  toJSON(): AppErrorData {
    return { code: this.code, message: this.message, ...(this.fields ? { fields: this.fields } : {}) };
  }
}

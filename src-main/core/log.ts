/** Logs go to stderr, never stdout (stdout carries --json documents and the URL lines). */
export type Logger = (line: string) => void;

const SECRETISH = /(password|token|secret|authorization)(["'\s:=]+)([^\s"',}]+)/gi;

export function createLogger(prefix: string, quiet = false): Logger {
  return (line) => {
    if (quiet) return;
    process.stderr.write(`[${prefix}] ${redact(line)}\n`);
  };
}

/** Masks anything that looks like a credential before it reaches a log. */
export function redact(text: string): string {
  return text.replace(SECRETISH, (_m, k: string, sep: string) => `${k}${sep}***`).replace(/(postgres(?:ql)?:\/\/[^:/]+:)[^@]+@/g, '$1***@');
}

// axios, loaded on first use: a command that never talks to a CRM (connections list, --help, the
// source audit) never pays for it (its import is the largest single cost of the CLI's start).
import { createRequire } from 'node:module';
import type { AxiosStatic } from 'axios';

const require = createRequire(import.meta.url);
let loaded: AxiosStatic | undefined;

export function http(): AxiosStatic {
  loaded ??= require('axios') as AxiosStatic;
  return loaded;
}

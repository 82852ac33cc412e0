/**
 * CPU time spent by the processes of a run, read from Linux /proc (user + system time), so a
 * result says what each request cost the machine and not only how fast answers came back: on a
 * machine where the app, PostgreSQL and the load generator share the cores, that cost is what
 * bounds the throughput (docs/performance.md). Elsewhere every figure is undefined.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticksPerSecond;
}

interface ProcessUse {
  /** User plus system CPU milliseconds. */
  cpuMs: number;
  systemMs: number;
  /** Minor page faults: for a PostgreSQL backend, mostly its first touch of each shared buffer page. */
  minorFaults: number;
}

/** What `pid` has used so far, or undefined when it is gone or /proc is missing. */
function processUse(pid: number): ProcessUse | undefined {
  try {
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ms = (ticks: string) => (Number(ticks) * 1000) / clockTicks();
    return { cpuMs: ms(fields[11]) + ms(fields[12]), systemMs: ms(fields[12]), minorFaults: Number(fields[7]) }; // utime, stime, minflt
  } catch {
    return undefined;
  }
}

const processCpuMs = (pid: number) => processUse(pid)?.cpuMs;

function postgresPids(): number[] {
  try {
    return readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .map(Number)
      .filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres';
        } catch {
          return false;
        }
      });
  } catch {
    return [];
  }
}

/** The PostgreSQL backends serving `database` (their process title names it), among `pids`. */
function backendsOf(pids: number[], database: string): number[] {
  return pids.filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split(' ').includes(database);
    } catch {
      return false;
    }
  });
}

export interface CpuUse {
  /** CPU milliseconds of the server under test, of every PostgreSQL process, and of the load generator (this process). */
  server_ms?: number;
  postgres_ms?: number;
  /** Of the backends serving the bench's database only (when given): what other databases' work on the machine cannot inflate. */
  postgres_db_ms?: number;
  /** Of those backends: the system part of their CPU time, and their minor page faults. */
  postgres_db_system_ms?: number;
  postgres_db_minor_faults?: number;
  load_generator_ms: number;
}

/** Starts counting; the returned function gives the CPU time used since. */
export function startCpuCount(serverPid: number, database?: string): () => CpuUse {
  const server0 = processCpuMs(serverPid);
  const zero: ProcessUse = { cpuMs: 0, systemMs: 0, minorFaults: 0 };
  const postgres0 = new Map(postgresPids().map((pid) => [pid, processUse(pid) ?? zero]));
  const self0 = process.cpuUsage();
  return () => {
    const server1 = processCpuMs(serverPid);
    // Backends started during the run count from zero; those that ended are lost (the app's pool keeps its own).
    const pids = postgresPids();
    const used = (list: number[], field: keyof ProcessUse = 'cpuMs') => list.reduce((sum, pid) => sum + (processUse(pid) ?? zero)[field] - (postgres0.get(pid) ?? zero)[field], 0);
    const db = database === undefined || postgres0.size === 0 ? undefined : backendsOf(pids, database);
    const self = process.cpuUsage(self0);
    return {
      server_ms: server0 === undefined || server1 === undefined ? undefined : Math.round(server1 - server0),
      postgres_ms: postgres0.size === 0 ? undefined : Math.round(used(pids)),
      postgres_db_ms: db && Math.round(used(db)),
      postgres_db_system_ms: db && Math.round(used(db, 'systemMs')),
      postgres_db_minor_faults: db && used(db, 'minorFaults'),
      load_generator_ms: Math.round((self.user + self.system) / 1000),
    };
  };
}

/** Microseconds of CPU per answered request, per process group. */
export function cpuPerRequestUs(use: CpuUse, responses: number): Record<string, number | undefined> {
  const per = (ms: number | undefined) => (ms === undefined || responses === 0 ? undefined : Math.round((ms * 1000) / responses));
  return { server: per(use.server_ms), postgres: per(use.postgres_ms), postgres_db: per(use.postgres_db_ms), postgres_db_system: per(use.postgres_db_system_ms), load_generator: per(use.load_generator_ms) };
}

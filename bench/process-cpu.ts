import fs from 'node:fs';

/** /proc reports CPU time in USER_HZ, which is 100 on Linux. */
const MS_PER_TICK = 10;

/**
 * CPU time (user + system) a process has used so far, in ms, read from
 * /proc/{pid}/stat: any process on this machine, not only this one. NaN where
 * there is no /proc (not Linux) or the process is gone.
 */
export function processCpuMs(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; the fields after it are plain numbers.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    return (Number(fields[11]) + Number(fields[12])) * MS_PER_TICK;
  } catch {
    return Number.NaN;
  }
}

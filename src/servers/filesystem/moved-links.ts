import { lstat, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { ToolError } from '../tool-source.ts';
import { errorCode, isWithin, type Sandbox } from './sandbox.ts';

/** A symbolic link inside an entry about to be moved: where it is, and where it will be. */
interface MovedLink {
  now: string;
  after: string;
}

/** The symbolic links at or below `source` (not followed), with their places once `source` is `destination`. */
async function linksWithin(source: string, destination: string): Promise<MovedLink[]> {
  const links: MovedLink[] = [];
  const pending = [source];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const stats = await lstat(next).catch((error: unknown) => {
      if (errorCode(error) === 'ENOENT') return undefined;
      throw error;
    });
    if (stats?.isSymbolicLink()) links.push({ now: next, after: path.join(destination, path.relative(source, next)) });
    if (!stats?.isDirectory()) continue;
    for (const name of await readdir(next)) pending.push(path.join(next, name));
  }
  return links;
}

/**
 * Where `link`, once at `after`, points: its target read from there; a place
 * inside the moved entry itself is named where it is now, so that the sandbox
 * can follow it before the move.
 */
async function targetFrom(link: MovedLink, source: string, destination: string): Promise<string> {
  const target = path.resolve(path.dirname(link.after), await readlink(link.now));
  return isWithin(target, destination) ? path.join(source, path.relative(destination, target)) : target;
}

/**
 * Refuses a move that would leave a symbolic link pointing outside the
 * allowed directories. A relative link points somewhere else once moved,
 * and a link moved into the place of a directory would take with it a path
 * already checked: either could lead a later write out of the sandbox.
 * `check` runs before the move (predicting each link's target) and again
 * after it (following the links as they are), when `undo` puts it back.
 */
export function guardMovedLinks(sandbox: Sandbox, source: string, destination: string) {
  const refusal = (link: MovedLink) =>
    new ToolError(
      `Refused: moving ${source} to ${destination} would leave the symbolic link ${link.after} pointing outside the ` +
        'allowed directories. Nothing was moved.',
    );
  let links: MovedLink[] = [];
  return {
    async before(): Promise<void> {
      links = await linksWithin(source, destination);
      for (const link of links) {
        if (await sandbox.leadsOutside(await targetFrom(link, source, destination))) throw refusal(link);
      }
    },
    async after(undo: () => Promise<void>): Promise<void> {
      for (const link of links) {
        if (!(await sandbox.leadsOutside(link.after))) continue;
        await undo();
        throw refusal(link);
      }
    },
  };
}

import { truncate } from './format.ts';

/** The most of one file's patch returned, and of all of a page's patches together. */
export const MAX_PATCH_CHARS = 20_000;
export const MAX_PATCHES_CHARS = 60_000;

/** One changed file as GitHub lists it, for a pull request or a commit. */
interface GithubFile {
  filename: string;
  status: string;
  additions: number;
  deletions: number;
  previous_filename?: string | undefined;
  patch?: string | undefined;
}

export interface ChangedFile {
  filename: string;
  status: string;
  additions: number;
  deletions: number;
  previousFilename?: string;
  patch?: string;
  patchTruncated?: boolean;
}

/** The files as the tools return them: each patch cut at `MAX_PATCH_CHARS`, all of them at `MAX_PATCHES_CHARS`; none unless `includePatch`. */
export function changedFiles(files: readonly GithubFile[], includePatch: boolean): ChangedFile[] {
  let budget = MAX_PATCHES_CHARS;
  return files.map((f) => {
    const cut = includePatch && f.patch !== undefined ? truncate(f.patch, Math.max(0, Math.min(MAX_PATCH_CHARS, budget))) : undefined;
    if (cut) budget -= cut.text.length;
    return {
      filename: f.filename,
      status: f.status,
      additions: f.additions,
      deletions: f.deletions,
      ...(f.previous_filename !== undefined && { previousFilename: f.previous_filename }),
      ...(cut && { patch: cut.text, patchTruncated: cut.truncated }),
    };
  });
}

/** The files as text: a line each, and with `includePatch` each file's diff below its line. */
export function describeChangedFiles(files: readonly ChangedFile[], includePatch: boolean): string {
  const blocks = files.map((f) => {
    const renamed = f.previousFilename ? ` (from ${f.previousFilename})` : '';
    const line = `${f.status} ${f.filename}${renamed} +${f.additions} −${f.deletions}`;
    if (!includePatch) return line;
    return f.patch === undefined ? `${line}\n(no diff from GitHub: a binary file, a rename without changes, or a diff too large)` : `${line}\n${f.patch}`;
  });
  return blocks.join(includePatch ? '\n\n' : '\n');
}

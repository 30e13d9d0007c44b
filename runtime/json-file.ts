/**
 * The one atomic JSON file writer: the sandbox's data files and the bot's file store both replace
 * a whole document with it. The document goes to a temporary file in the same folder, is fsynced,
 * and is renamed over the old one (rename is atomic within a file system), so a crash or Ctrl-C
 * leaves either the old or the new document and never half a file.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface WriteJsonOptions {
  /** File mode of a new file (0o600 for anything secret-adjacent); default 0o666 less the umask. */
  mode?: number;
}

export async function writeJsonAtomic(file: string, value: unknown, options: WriteJsonOptions = {}): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  // Unique per write: two writers in one process (or a stale file of a crashed one) never share a temporary file.
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(tmp, 'w', options.mode);
  try {
    await handle.writeFile(`${JSON.stringify(value, null, 2)}\n`, 'utf8');
    await handle.sync();
  } catch (e) {
    await handle.close();
    await rm(tmp, { force: true });
    throw e;
  }
  await handle.close();
  try {
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

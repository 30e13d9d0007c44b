/**
 * The sandbox's data folder: one JSON file per stand-in, written atomically (runtime/json-file.ts:
 * temporary file in the same folder, fsync, rename) so that a crash or Ctrl-C never leaves half a file behind.
 * Writes are coalesced: a burst of changes (a benchmark's 500 grants) costs one write per
 * in-flight window, not one per change.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { z } from 'zod';
import { writeJsonAtomic } from '../../runtime/json-file';

/** Default data folder, relative to the working directory (gitignored). */
export const DEFAULT_DATA_DIR = '.sandbox-data';
/** File that marks a folder as sandbox data (the reset command deletes nothing else). */
export const SANDBOX_DATA_MARKER = '.jit-sandbox-data';

/** The one atomic writer (runtime/json-file.ts), re-exported for the stand-ins. */
export { writeJsonAtomic };

export class CorruptDataError extends Error {
  constructor(file: string, reason: string) {
    super(`The sandbox data file ${file} is unreadable (${reason}). Run \`npm run sandbox:reset\` to start from a clean slate.`);
    this.name = 'CorruptDataError';
  }
}

/**
 * One persisted document. Without a file (tests, benchmarks) it lives in memory only and
 * `save()` is a no-op.
 */
export class JsonDocument<T> {
  private writing: Promise<void> | undefined;
  private dirty = false;
  private lastError: unknown;

  private constructor(
    readonly file: string | undefined,
    private readonly snapshot: () => T,
  ) {}

  /**
   * Reads `file` (if it exists) through `schema`; `snapshot` produces what to write on save.
   * Returns the loaded value, or undefined when there is nothing stored yet.
   */
  static open<S extends z.ZodType>(file: string | undefined, schema: S, snapshot: () => z.infer<S>): { doc: JsonDocument<z.infer<S>>; loaded: z.infer<S> | undefined } {
    const doc = new JsonDocument<z.infer<S>>(file, snapshot);
    if (!file) return { doc, loaded: undefined };
    mkdirSync(dirname(file), { recursive: true });
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { doc, loaded: undefined };
      throw e;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new CorruptDataError(file, (e as Error).message);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new CorruptDataError(file, `${issue?.path.join('.') || 'document'}: ${issue?.message ?? 'does not match the expected shape'}`);
    }
    return { doc, loaded: parsed.data };
  }

  /** Marks the document changed; the write happens soon, coalesced with other changes. */
  save(): void {
    if (!this.file) return;
    this.dirty = true;
    this.writing ??= this.drain();
  }

  /** Resolves once everything saved so far is on disk; rejects with the last write error. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.lastError) {
      const e = this.lastError;
      this.lastError = undefined;
      throw e;
    }
  }

  private async drain(): Promise<void> {
    // Let the current burst of synchronous changes finish before serializing.
    await new Promise<void>((resolve) => setImmediate(resolve));
    try {
      while (this.dirty) {
        this.dirty = false;
        try {
          await writeJsonAtomic(this.file!, this.snapshot());
        } catch (e) {
          this.lastError = e;
          console.error(`[sandbox] could not write ${this.file}: ${(e as Error).message}`);
        }
      }
    } finally {
      this.writing = undefined;
    }
  }
}

/** Paths of the data files inside a data folder. */
export function dataFile(dataDir: string | undefined, name: string): string | undefined {
  return dataDir ? join(dataDir, name) : undefined;
}

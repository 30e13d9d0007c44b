/**
 * JSON-file ConversationStore for the sandbox: the whole state in one file, replaced atomically
 * (runtime/json-file.ts: a temporary file, fsync, rename) after every change, so a crash leaves either the old or
 * the new state and never half a file. One process owns the file.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeJsonAtomic } from '../../runtime/json-file';
import { MemoryConversationStore, type MemoryStoreState, emptyState } from './memory';

export class FileConversationStore extends MemoryConversationStore {
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly path: string,
    state: MemoryStoreState,
  ) {
    // The base class calls back after every change; `this` is not usable before super() returns.
    const owner: { store?: FileConversationStore } = {};
    super(state, () => (owner.store ? owner.store.persist() : Promise.resolve()));
    owner.store = this;
  }

  static async open(path: string): Promise<FileConversationStore> {
    let state = emptyState();
    try {
      const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<MemoryStoreState>;
      state = { users: parsed.users ?? {}, channel: parsed.channel, cards: parsed.cards ?? {}, notifications: parsed.notifications ?? {} };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`The bot store file ${path} is unreadable: ${(e as Error).message}`, { cause: e });
    }
    await mkdir(dirname(path), { recursive: true });
    return new FileConversationStore(path, state);
  }

  /** Writes are serialized: each one snapshots the state when it runs, so the last write wins with the latest state. */
  private persist(): Promise<void> {
    const run = this.writing.then(() => this.writeNow());
    this.writing = run.catch(() => undefined);
    return run;
  }

  private writeNow(): Promise<void> {
    // Conversation references are not secrets, but they are nobody else's business: owner only.
    return writeJsonAtomic(this.path, this.state, { mode: 0o600 });
  }
}

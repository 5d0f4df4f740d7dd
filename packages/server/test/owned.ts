/** Anything a test opens and must close. */
export interface Closable {
  close(): Promise<unknown>;
}

/** What a test file opened: `own(thing)` records it, `closeAll()` closes everything in reverse order. */
export interface Owned {
  own<T extends Closable>(thing: T): T;
  /** Closes what was recorded, newest first, one at a time, and forgets it. */
  closeAll(): Promise<void>;
}

export function owned(): Owned {
  const things: Closable[] = [];
  return {
    own: (thing) => (things.push(thing), thing),
    closeAll: async () => {
      for (const thing of things.splice(0).reverse()) await thing.close();
    },
  };
}

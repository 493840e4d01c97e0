// What every example needs besides the client: its settings from the environment, a check that
// fails loudly, and a unique suffix so that examples can run again and again on one tenant.

/** An environment variable the example needs (PATCHBAY_URL, PATCHBAY_API_KEY). */
export function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`set ${name}`);
  return value;
}

/** Stops the example when what it shows did not happen. */
export function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`example failed: ${what}`);
}

/** A random suffix for references. */
export function random(): string {
  return crypto.randomUUID().replaceAll('-', '');
}

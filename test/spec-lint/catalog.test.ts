/** The provider catalog check of the specs build (specs/scripts/build.mjs): a provider file
 * that breaks a promise of the API stops the build, naming the file and the member. Each
 * test builds its own temporary copy of the specs, so they run concurrently. */
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'vitest';
import { buildSpecs, copyWorkspace, type CommandResult } from '../support/workspace-copy.js';

/** Builds a fresh copy of the specs after `edit` has changed one provider file. */
async function buildAfter(provider: string, edit: (provider: any) => void): Promise<CommandResult & { wroteCatalog: boolean }> {
  const copy = await copyWorkspace();
  try {
    await copy.editYaml(`specs/providers/${provider}.yaml`, edit);
    const result = await buildSpecs(copy);
    return { ...result, wroteCatalog: existsSync(copy.path('specs/dist/providers.json')) };
  } finally {
    await copy.remove();
  }
}

describe.concurrent('specs build: the provider catalog', () => {
  it('builds the catalog as it is, one entry per provider file', async ({ expect }) => {
    const copy = await copyWorkspace();
    try {
      const result = await buildSpecs(copy);
      expect(result.code, result.output).toBe(0);
      const { providers } = JSON.parse(readFileSync(copy.path('specs/dist/providers.json'), 'utf8')) as { providers: { slug: string }[] };
      expect(providers.map((p) => p.slug)).toContain('stripe');
      expect(result.output).toContain(`${providers.length} providers valid`);
    } finally {
      await copy.remove();
    }
  });

  it('fails, naming the file and the property, when a credentials property is not writeOnly', async ({ expect }) => {
    const result = await buildAfter('stripe', (stripe) => delete stripe.credentials_schema.properties.secret_key.writeOnly);
    expect(result.code, result.output).not.toBe(0);
    expect(result.output).toContain('specs/providers/stripe.yaml /credentials_schema/properties/secret_key: must be writeOnly');
    expect(result.wroteCatalog).toBe(false);
  });

  it('fails, naming the file and the property, when a settings property is named like a secret', async ({ expect }) => {
    const result = await buildAfter('stripe', (stripe) => (stripe.settings_schema.properties.api_key = { type: 'string' }));
    expect(result.code, result.output).not.toBe(0);
    expect(result.output).toContain('specs/providers/stripe.yaml /settings_schema/properties/api_key: looks like a secret');
    expect(result.wroteCatalog).toBe(false);
  });

  it('fails, naming the file and the property, on an x-patchbay-hint other than last4 and on one outside credentials_schema.properties', async ({ expect }) => {
    const result = await buildAfter('stripe', (stripe) => {
      stripe.credentials_schema.properties.secret_key['x-patchbay-hint'] = 'first4';
      stripe.settings_schema.properties.publishable_key['x-patchbay-hint'] = 'last4';
    });
    expect(result.code, result.output).not.toBe(0);
    expect(result.output).toContain('specs/providers/stripe.yaml /credentials_schema/properties/secret_key/x-patchbay-hint: must be one of last4');
    expect(result.output).toContain('specs/providers/stripe.yaml /settings_schema/properties/publishable_key/x-patchbay-hint: only a property of credentials_schema may carry a hint');
    expect(result.wroteCatalog).toBe(false);
  });

  it('fails, naming the file and /slug, when the slug differs from the file name', async ({ expect }) => {
    const result = await buildAfter('razorpay', (razorpay) => (razorpay.slug = 'razorpay-in'));
    expect(result.code, result.output).not.toBe(0);
    expect(result.output).toContain("specs/providers/razorpay.yaml /slug: must equal the file name ('razorpay')");
    expect(result.wroteCatalog).toBe(false);
  });
});

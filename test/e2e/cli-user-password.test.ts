import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser } from '../support/browser.ts';
import { runCliInProcess, type CliOptions } from '../support/cli.ts';
import { makeDataDir, startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { apiClient, operatorCommand, seedTenant, type AuditEventJson } from '../support/http.ts';

const OLD = 'the password that was forgotten';
const NEW = 'a new password from the operator';

// A person who forgot their password has no other way back: there is no email to reset it by.
describe('CLI: botgate user password sets a new password for a member', () => {
  let gateway: GatewayProcess;
  let cli: CliOptions;
  let ownerKey: string;

  beforeAll(async () => {
    cli = { dataDir: await makeDataDir() };
    gateway = await startGateway({ dataDir: cli.dataDir });
    ownerKey = (await seedTenant(cli.dataDir, 'pw-co')).key.secret;
    await seedTenant(cli.dataDir, 'pw-other');
    await operatorCommand(cli.dataDir, 'user.create', { tenant: 'pw-co', email: 'dana@pw.example', role: 'member', password: OLD });
  });

  afterAll(async () => {
    await gateway?.stop();
    if (cli) await fs.rm(cli.dataDir, { recursive: true, force: true });
  });

  it('replaces the password from stdin, ends the sessions signed in with the old one, and audits it', async () => {
    const before = new Browser(gateway.url);
    expect((await before.login('dana@pw.example', OLD)).status).toBe(303);
    expect((await before.api('GET', '/api/v1/me')).status).toBe(200);

    const reset = await runCliInProcess(['user', 'password', '--tenant', 'pw-co', '--email', 'dana@pw.example', '--password-stdin'], { ...cli, stdin: `${NEW}\n` });
    expect(reset).toMatchObject({ code: 0, stderr: '' });
    expect(reset.stdout).toMatch(/^set a new password for dana@pw\.example \([0-9a-f-]{36}\); their sessions have ended\n$/);

    expect((await before.api('GET', '/api/v1/me')).status).toBe(401);
    expect((await new Browser(gateway.url).login('dana@pw.example', OLD)).status).not.toBe(303);
    expect((await new Browser(gateway.url).login('dana@pw.example', NEW)).status).toBe(303);
    const events = (await apiClient(gateway.url, ownerKey).get<{ events: AuditEventJson[] }>('/api/v1/audit?action=member.password_reset')).body.events;
    expect(events[0]).toMatchObject({ actor: { type: 'operator' }, after: { email: 'dana@pw.example', generated: false } });
  });

  it('generates a password when none is given, shown once', async () => {
    const reset = await runCliInProcess(['user', 'password', '--tenant', 'pw-co', '--email', 'dana@pw.example'], cli);
    expect(reset.code).toBe(0);
    const generated = /password \(shown once, store it now\): (\S+)\n$/.exec(reset.stdout)?.[1];
    expect(generated).toBeDefined();
    expect((await new Browser(gateway.url).login('dana@pw.example', generated ?? '')).status).toBe(303);
    expect((await new Browser(gateway.url).login('dana@pw.example', NEW)).status).not.toBe(303);
  });

  it('refuses someone who is not a member of the tenant named, and a password too short, changing nothing', async () => {
    const current = NEW.replace('operator', 'second op');
    await runCliInProcess(['user', 'password', '--tenant', 'pw-co', '--email', 'dana@pw.example', '--password-stdin'], { ...cli, stdin: current });

    const elsewhere = await runCliInProcess(['user', 'password', '--tenant', 'pw-other', '--email', 'dana@pw.example', '--password-stdin'], { ...cli, stdin: 'another long password' });
    expect(elsewhere.code).not.toBe(0);
    expect(elsewhere.stderr).toContain('member "dana@pw.example"');
    const short = await runCliInProcess(['user', 'password', '--tenant', 'pw-co', '--email', 'dana@pw.example', '--password-stdin'], { ...cli, stdin: 'short' });
    expect(short.code).not.toBe(0);
    expect(short.stderr).toContain('--password-stdin');
    expect((await new Browser(gateway.url).login('dana@pw.example', current)).status).toBe(303);
  });
});

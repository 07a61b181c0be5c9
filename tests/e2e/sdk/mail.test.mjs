// Mail-based auth through the official SDK against a real `keelbase serve`:
// verification, password reset, email change, impersonation and the test email.
//
// tests/e2e/test_js_sdk.py runs a real SMTP server (aiosmtpd) beside the server
// and passes KB_SMTP_PORT (where the server should send mail) and KB_MAIL_URL
// (GET ?to=ADDRESS -> [{to, subject, html, token}], the mails received so far).

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import { client, expectError, signUpAndIn, suffix, superuserClient } from './helpers.mjs';

const SMTP_PORT = process.env.KB_SMTP_PORT;
const MAIL_URL = process.env.KB_MAIL_URL;
const skip = !SMTP_PORT || !MAIL_URL ? 'KB_SMTP_PORT/KB_MAIL_URL not set' : false;

/** Waits for the `count`-th mail to `address` and returns it. */
async function mailTo(address, count = 1, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await fetch(`${MAIL_URL}/mails?to=${encodeURIComponent(address)}`);
    const mails = await res.json();
    if (mails.length >= count) return mails[count - 1];
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no mail #${count} to ${address} within ${timeoutMs}ms`);
}

describe('mail auth flows', { skip }, () => {
  let admin;

  before(async () => {
    admin = await superuserClient();
    await admin.settings.update({
      smtp: { enabled: true, host: '127.0.0.1', port: Number(SMTP_PORT) },
      meta: { appName: 'SdkApp', appURL: 'https://sdk.test' },
    });
  });

  test('verification: request, read the mail, confirm', async () => {
    const { pb, email } = await signUpAndIn('verify');
    assert.equal(pb.authStore.record.verified, false);
    assert.equal(await client().collection('users').requestVerification(email), true);
    const mail = await mailTo(email);
    assert.equal(mail.subject, 'Verify your SdkApp email');
    assert.ok(mail.html.includes(`https://sdk.test/_/#/auth/confirm-verification/${mail.token}`));
    assert.equal(await client().collection('users').confirmVerification(mail.token), true);
    const refreshed = await pb.collection('users').authRefresh();
    assert.equal(refreshed.record.verified, true);
    // unknown addresses answer the same
    const unknown = `nobody.${suffix()}@example.com`;
    assert.equal(await client().collection('users').requestVerification(unknown), true);
  });

  test('password reset: old sessions end, the token works once', async () => {
    const { pb, email } = await signUpAndIn('reset');
    assert.equal(await client().collection('users').requestPasswordReset(email), true);
    const { token } = await mailTo(email);
    const guest = client();
    assert.equal(
      await guest.collection('users').confirmPasswordReset(token, 'brand-new-pass-1', 'brand-new-pass-1'),
      true,
    );
    await expectError(pb.collection('users').authRefresh(), 401);
    const replay = await expectError(
      guest.collection('users').confirmPasswordReset(token, 'other-pass-22', 'other-pass-22'),
      400,
    );
    assert.equal(replay.response.data.token.code, 'validation_invalid_token');
    const fresh = client();
    await fresh.collection('users').authWithPassword(email, 'brand-new-pass-1');
    assert.equal(fresh.authStore.isValid, true);
  });

  test('email change: mail to the new address, confirm with the password', async () => {
    const { pb, password } = await signUpAndIn('mover');
    const newEmail = `moved.${suffix()}@example.com`;
    assert.equal(await pb.collection('users').requestEmailChange(newEmail), true);
    const { token, subject } = await mailTo(newEmail);
    assert.equal(subject, 'Confirm your SdkApp new email address');
    const wrong = await expectError(
      client().collection('users').confirmEmailChange(token, 'not-the-password'),
      400,
    );
    assert.equal(wrong.response.data.password.code, 'validation_invalid_password');
    assert.equal(await client().collection('users').confirmEmailChange(token, password), true);
    await expectError(pb.collection('users').authRefresh(), 401);
    const fresh = client();
    const auth = await fresh.collection('users').authWithPassword(newEmail, password);
    assert.equal(auth.record.email, newEmail);
    assert.equal(auth.record.verified, true);
  });

  test('impersonate: superusers only, a token that is not refreshable', async () => {
    const { id, pb } = await signUpAndIn('puppet');
    const impersonated = await admin.collection('users').impersonate(id, 120);
    assert.equal(impersonated.authStore.record.id, id);
    const payload = JSON.parse(Buffer.from(impersonated.authStore.token.split('.')[1], 'base64url'));
    assert.equal(payload.refreshable, false);
    assert.ok(Math.abs(payload.exp - Date.now() / 1000 - 120) < 10);
    const seen = await impersonated.collection('users').getOne(id);
    assert.equal(seen.id, id);
    await expectError(pb.collection('users').impersonate(id), 403);
  });

  test('settings.testEmail sends the chosen template', async () => {
    const address = `tester.${suffix()}@example.com`;
    assert.equal(await admin.settings.testEmail('users', address, 'password-reset'), true);
    assert.equal((await mailTo(address)).subject, 'Reset your SdkApp password');
    const bad = await expectError(admin.settings.testEmail('users', 'nope', 'nope'), 400);
    assert.deepEqual(Object.keys(bad.response.data).sort(), ['email', 'template']);
  });
});

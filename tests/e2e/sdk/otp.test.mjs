// One-time passwords and MFA with the official JS SDK against a real `keelbase serve`.
//
// tests/e2e/test_js_sdk.py runs a real SMTP server (aiosmtpd) and writes every
// mail it receives to KB_MAIL_DIR as `<n>.json` ({to, subject, html}); these
// tests point the server's SMTP settings at it (KB_OTP_SMTP_PORT) and read the
// codes from there.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { client, expectError, suffix, superuserClient } from './helpers.mjs';

const SMTP_PORT = process.env.KB_OTP_SMTP_PORT;
const MAIL_DIR = process.env.KB_MAIL_DIR;
const RUN = suffix();
const MEMBERS = `members_${RUN}`;
const PASSWORD = 'secret-pass-123';

/** The code of the newest OTP mail sent to `email` after `seen` mails in total. */
async function codeFor(email, seen) {
  for (let i = 0; i < 250; i++) {
    const files = readdirSync(MAIL_DIR)
      .filter((name) => name.endsWith('.json'))
      .sort((a, b) => parseInt(a, 10) - parseInt(b, 10));
    for (const name of files.slice(seen)) {
      const mail = JSON.parse(readFileSync(join(MAIL_DIR, name), 'utf8'));
      const match = /<strong>(\d+)<\/strong>/.exec(mail.html);
      if (mail.to === email && mail.subject.startsWith('OTP') && match) return match[1];
    }
    await sleep(20);
  }
  assert.fail(`no OTP mail for ${email}`);
}

function mailCount() {
  return readdirSync(MAIL_DIR).filter((name) => name.endsWith('.json')).length;
}

describe('OTP and MFA through the SDK', { skip: !SMTP_PORT || !MAIL_DIR }, () => {
  let su;
  const email = `member.${RUN}@example.com`;

  before(async () => {
    su = await superuserClient();
    await su.settings.update({ smtp: { enabled: true, host: '127.0.0.1', port: Number(SMTP_PORT) } });
    await su.collections.create({
      name: MEMBERS,
      type: 'auth',
      fields: [],
      otp: { enabled: true, length: 6 },
      authAlert: { enabled: false },
    });
    await su.collection(MEMBERS).create({
      email,
      password: PASSWORD,
      passwordConfirm: PASSWORD,
    });
  });

  after(async () => {
    await su.collections.delete(MEMBERS);
    await su.settings.update({ smtp: { enabled: false } });
  });

  test('requestOTP mails a code; authWithOTP signs in once with it', async () => {
    const pb = client();
    const seen = mailCount();
    const { otpId } = await pb.collection(MEMBERS).requestOTP(email);
    assert.match(otpId, /^[a-z0-9]{15}$/);
    const code = await codeFor(email, seen);
    const auth = await pb.collection(MEMBERS).authWithOTP(otpId, code);
    assert.equal(auth.record.email, email);
    assert.equal(auth.record.verified, true);
    assert.equal(pb.authStore.isValid, true);
    assert.equal(pb.authStore.record.id, auth.record.id);

    const again = await expectError(client().collection(MEMBERS).authWithOTP(otpId, code), 400);
    assert.equal(again.response.message, 'Invalid or expired OTP.');
  });

  test('an unknown email gets an otpId all the same, which signs nobody in', async () => {
    const pb = client();
    const { otpId } = await pb.collection(MEMBERS).requestOTP(`nobody.${RUN}@example.com`);
    assert.match(otpId, /^[a-z0-9]{15}$/);
    await expectError(pb.collection(MEMBERS).authWithOTP(otpId, '123456'), 400);
  });

  test('a collection without OTP refuses with 403', async () => {
    const error = await expectError(client().collection('users').requestOTP(email), 403);
    assert.equal(error.response.message, 'The collection is not configured to allow OTP authentication.');
  });

  test('MFA: password first answers 401 {mfaId}, then OTP with the mfaId completes', async () => {
    await su.collections.update(MEMBERS, { mfa: { enabled: true } });
    try {
      const pb = client();
      const first = await expectError(pb.collection(MEMBERS).authWithPassword(email, PASSWORD), 401, {
        serverShape: false,
      });
      const mfaId = first.response.mfaId;
      assert.match(mfaId, /^[a-z0-9]{15}$/);
      assert.equal(pb.authStore.isValid, false);

      const seen = mailCount();
      const { otpId } = await pb.collection(MEMBERS).requestOTP(email);
      const code = await codeFor(email, seen);
      const auth = await pb.collection(MEMBERS).authWithOTP(otpId, code, { mfaId });
      assert.equal(auth.record.email, email);
      assert.equal(pb.authStore.isValid, true);
    } finally {
      await su.collections.update(MEMBERS, { mfa: { enabled: false } });
    }
  });
});

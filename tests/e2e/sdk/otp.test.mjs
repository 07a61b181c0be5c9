// One-time passwords and MFA with the official JS SDK against a real `keelbase serve`.
//
// tests/e2e/test_js_sdk.py runs a real SMTP server (aiosmtpd) and passes
// KB_SMTP_PORT (where the server should send mail) and KB_MAIL_URL, where these
// tests read the mails that arrived (GET /mails?to=ADDRESS) to find the codes.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { client, expectError, suffix, superuserClient } from './helpers.mjs';

const SMTP_PORT = process.env.KB_SMTP_PORT;
const MAIL_URL = process.env.KB_MAIL_URL;
const RUN = suffix();
const MEMBERS = `members_${RUN}`;
const PASSWORD = 'secret-pass-123';

async function mailsTo(email) {
  const res = await fetch(`${MAIL_URL}/mails?to=${encodeURIComponent(email)}`);
  return res.json();
}

/** The code of the first OTP mail to `email` after the first `seen` mails to it. */
async function codeFor(email, seen) {
  for (let i = 0; i < 250; i++) {
    for (const mail of (await mailsTo(email)).slice(seen)) {
      const match = /<strong>(\d+)<\/strong>/.exec(mail.html);
      if (mail.subject.startsWith('OTP') && match) return match[1];
    }
    await sleep(20);
  }
  assert.fail(`no OTP mail for ${email}`);
}

async function mailCount(email) {
  return (await mailsTo(email)).length;
}

describe('OTP and MFA through the SDK', { skip: !SMTP_PORT || !MAIL_URL }, () => {
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
    const seen = await mailCount(email);
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

      const seen = await mailCount(email);
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

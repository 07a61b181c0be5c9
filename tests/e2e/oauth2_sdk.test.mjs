// The JS SDK's OAuth2 sign-in against `keelbase serve` and a real OpenID Connect
// provider on loopback (tests/oidc_provider.py); run by tests/e2e/test_oauth2_e2e.py,
// which sets KB_URL and KB_OIDC_URL and chooses who the provider signs in.
//
// authWithOAuth2({provider}) is the all-in-one flow: it subscribes to "@oauth2" over
// realtime and calls urlCallback with the consent URL; here `fetch` plays the browser
// (following the provider's redirect to /api/oauth2-redirect), instead of a popup.

import assert from 'node:assert/strict';
import { generateKeyPairSync, verify } from 'node:crypto';
import { test } from 'node:test';

import { EventSource } from 'eventsource';

import { client, ClientResponseError, superuserClient } from './sdk/helpers.mjs';

globalThis.EventSource = EventSource;

test('authWithOAuth2({provider}) signs in through realtime and the redirect page', async () => {
  const pb = client();
  const methods = await pb.collection('users').listAuthMethods();
  assert.equal(methods.oauth2.enabled, true);
  assert.equal(methods.oauth2.providers[0].name, 'oidc');
  assert.ok(methods.oauth2.providers[0].authURL.startsWith(process.env.KB_OIDC_URL));

  let page = '';
  const auth = await pb.collection('users').authWithOAuth2({
    provider: 'oidc',
    createData: { emailVisibility: true },
    urlCallback: async (url) => {
      const answer = await fetch(url); // follows the provider's 302 to /api/oauth2-redirect
      page = await answer.text();
    },
  });
  assert.match(page, /Auth completed/);
  assert.equal(auth.record.email, 'sdk@example.com');
  assert.equal(auth.record.name, 'Sdk User');
  assert.equal(auth.record.emailVisibility, true);
  assert.equal(auth.meta.isNew, true);
  assert.equal(pb.authStore.isValid, true);
  assert.equal(pb.authStore.record.id, auth.record.id);
  pb.realtime.unsubscribe();
});

test('authWithOAuth2Code exchanges a code, and a bad code is a 400', async () => {
  const pb = client();
  const [provider] = (await pb.collection('users').listAuthMethods()).oauth2.providers;
  const redirectURL = 'http://localhost:5173/callback';
  const consent = await fetch(provider.authURL + redirectURL, { redirect: 'manual' });
  const code = new URL(consent.headers.get('location')).searchParams.get('code');
  const auth = await pb
    .collection('users')
    .authWithOAuth2Code('oidc', code, provider.codeVerifier, redirectURL);
  assert.equal(auth.meta.isNew, false, 'the first test created this user');
  assert.equal(auth.record.email, 'sdk@example.com');

  await assert.rejects(
    pb.collection('users').authWithOAuth2Code('oidc', code, provider.codeVerifier, redirectURL),
    (error) =>
      error instanceof ClientResponseError &&
      error.status === 400 &&
      error.response.message === 'Failed to fetch OAuth2 token.',
  );
});

test('a superuser lists every provider and makes an Apple client secret', async () => {
  const pb = await superuserClient();
  const providers = await pb.collections.getAllOAuth2Providers();
  assert.equal(providers.length, 32);
  assert.deepEqual(Object.keys(providers[0]).sort(), ['displayName', 'logo', 'name']);
  assert.equal(providers[0].name, 'apple');
  assert.ok(providers.every((p) => p.logo.startsWith('<svg')));

  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' });
  const { secret } = await pb.settings.generateAppleClientSecret(
    'com.example.web', 'TEAMID1234', 'KEYID12345', pem, 3600,
  );
  const [header, payload, signature] = secret.split('.');
  const decode = (part) => JSON.parse(Buffer.from(part, 'base64url').toString());
  assert.equal(decode(header).kid, 'KEYID12345');
  assert.equal(decode(payload).iss, 'TEAMID1234');
  const signed = verify('sha256', Buffer.from(`${header}.${payload}`),
    { key: publicKey, dsaEncoding: 'ieee-p1363' },
    Buffer.from(signature, 'base64url'));
  assert.equal(signed, true);

  await assert.rejects(
    pb.settings.generateAppleClientSecret('com.example.web', 'short', 'KEYID12345', pem, 3600),
    (error) => error.status === 400 && error.response.data.teamId.code === 'validation_length_invalid',
  );
});

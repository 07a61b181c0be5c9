// Payments through the official JS SDK: a user starts a Stripe checkout with pb.send,
// follows the URL (a Stripe-compatible server on loopback, which then sends the signed
// webhooks to the server), and the subscription it mirrors opens a rule-guarded collection.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { expectError, signUpAndIn, suffix, superuserClient } from './helpers.mjs';

// Set by tests/e2e/test_js_sdk.py, which runs tests/stripe_server.py beside the server.
const STRIPE_URL = process.env.KB_STRIPE_URL;
const PRICE = process.env.KB_STRIPE_PRICE;
if (!STRIPE_URL || !PRICE) {
  throw new Error('KB_STRIPE_URL and KB_STRIPE_PRICE are not set: run these tests through tests/e2e/test_js_sdk.py');
}

async function waitFor(check, what) {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('payments', () => {
  test('checkout with pb.send, follow the URL, the subscription opens a collection', async () => {
    const admin = await superuserClient();
    await admin.settings.update({
      payments: {
        stripe: {
          secretKey: process.env.KB_STRIPE_SECRET,
          publishableKey: process.env.KB_STRIPE_PUBLISHABLE,
          webhookSecret: process.env.KB_STRIPE_WEBHOOK_SECRET,
          apiBase: STRIPE_URL,
        },
      },
    });
    const settings = await admin.settings.getAll();
    assert.equal(settings.payments.stripe.secretKey, undefined);
    assert.equal(settings.payments.stripe.webhookSecret, undefined);
    const appURL = new URL(settings.meta.appURL).origin;

    const name = `members_${suffix()}`;
    await admin.collections.create({
      name,
      type: 'base',
      listRule:
        '@collection._subscriptions.user ?= @request.auth.id && @collection._subscriptions.status ?= "active"',
      fields: [{ name: 'title', type: 'text' }],
    });
    await admin.collection(name).create({ title: 'for subscribers' });

    const { pb, id } = await signUpAndIn('payer');
    const { pb: other } = await signUpAndIn('onlooker');
    assert.equal((await pb.collection(name).getFullList()).length, 0);

    const session = await pb.send('/api/payments/checkout', {
      method: 'POST',
      body: {
        price: PRICE,
        mode: 'subscription',
        successUrl: `${appURL}/thanks`,
        cancelUrl: `${appURL}/pricing`,
      },
    });
    assert.match(session.id, /^cs_/);
    assert.ok(session.url.startsWith(STRIPE_URL), session.url);

    await expectError(
      pb.send('/api/payments/checkout', {
        method: 'POST',
        body: { price: PRICE, mode: 'subscription', successUrl: 'https://evil.example/', cancelUrl: `${appURL}/x` },
      }),
      400,
    );

    // The user pays on the (loopback) hosted page, which redirects back to the app.
    const paid = await fetch(session.url, { redirect: 'manual' });
    assert.equal(paid.status, 303);
    assert.equal(paid.headers.get('location'), `${appURL}/thanks`);

    await waitFor(async () => (await pb.collection(name).getFullList()).length === 1, 'the posts to open');
    const subscriptions = await pb.collection('_subscriptions').getFullList();
    assert.equal(subscriptions.length, 1);
    assert.equal(subscriptions[0].status, 'active');
    assert.equal(subscriptions[0].user, id);
    assert.equal((await other.collection(name).getFullList()).length, 0);
    assert.equal((await other.collection('_subscriptions').getFullList()).length, 0);

    const portal = await pb.send('/api/payments/portal', {
      method: 'POST',
      body: { returnUrl: `${appURL}/account` },
    });
    assert.ok(portal.url.startsWith(`${STRIPE_URL}/portal/`), portal.url);
  });
});

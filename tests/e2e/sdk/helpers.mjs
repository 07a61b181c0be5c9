// Shared helpers for the SDK end-to-end tests (not a test file itself).
//
// The server URL and the superuser credentials come from the environment:
//   KB_URL, KB_ADMIN_EMAIL, KB_ADMIN_PASSWORD
// tests/e2e/test_js_sdk.py sets them after starting a real `keelbase serve`.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';

import PocketBase, { ClientResponseError } from 'pocketbase';

export { ClientResponseError, PocketBase };

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run these tests through tests/e2e/test_js_sdk.py`);
  }
  return value;
}

export const URL = required('KB_URL');
export const ADMIN_EMAIL = required('KB_ADMIN_EMAIL');
export const ADMIN_PASSWORD = required('KB_ADMIN_PASSWORD');

/** A short random suffix so that a rerun against the same server does not collide. */
export function suffix() {
  return randomBytes(4).toString('hex');
}

/** A fresh SDK client with its own (in-memory) auth store. */
export function client() {
  const pb = new PocketBase(URL);
  // The tests sometimes send the same request twice in a row on purpose.
  pb.autoCancellation(false);
  return pb;
}

/** A client signed in as the superuser. */
export async function superuserClient() {
  const pb = client();
  await pb.collection('_superusers').authWithPassword(ADMIN_EMAIL, ADMIN_PASSWORD);
  return pb;
}

/**
 * Awaits `promise`, expects it to reject with a ClientResponseError of `status`
 * and returns the error for further checks. Also checks PocketBase's error shape:
 * `{status, message, data}` with `err.response` being the parsed body
 * (skip the body checks with `serverShape: false` for errors the SDK makes itself).
 */
export async function expectError(promise, status, { serverShape = true } = {}) {
  let error;
  try {
    const value = await promise;
    assert.fail(`expected an error with status ${status}, got ${JSON.stringify(value)}`);
  } catch (caught) {
    if (caught instanceof assert.AssertionError) throw caught;
    error = caught;
  }
  assert.ok(error instanceof ClientResponseError, `not a ClientResponseError: ${error}`);
  assert.equal(error.status, status, `status ${error.status}: ${JSON.stringify(error.response)}`);
  assert.equal(error.isAbort, false);
  assert.equal(typeof error.response, 'object');
  // getFirstListItem() makes its own 404 ({code, message, data}) on an empty page.
  if (!serverShape) return error;
  assert.equal(error.response.status, status, JSON.stringify(error.response));
  assert.equal(typeof error.response.message, 'string', JSON.stringify(error.response));
  assert.ok(error.response.message.length > 0);
  assert.equal(typeof error.response.data, 'object', JSON.stringify(error.response));
  assert.notEqual(error.response.data, null);
  assert.equal(error.message, error.response.message);
  return error;
}

/** Signs a new user up as a guest and signs them in; returns the signed in client. */
export async function signUpAndIn(name, password = 'secret-pass-123') {
  const email = `${name}.${suffix()}@example.com`;
  const guest = client();
  const created = await guest.collection('users').create({
    email,
    password,
    passwordConfirm: password,
    name,
  });
  const pb = client();
  await pb.collection('users').authWithPassword(email, password);
  return { pb, id: created.id, email, password, created };
}

/** PocketBase's datetime format: "2024-01-02 03:04:05.678Z". */
export const DATETIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** PocketBase's default record id: 15 characters of a-z0-9. */
export const RECORD_ID = /^[a-z0-9]{15}$/;

// Backups through the official JS SDK: pb.backups.* unchanged, as the dashboard uses it.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { DATETIME, client, expectError, signUpAndIn, suffix, superuserClient } from './helpers.mjs';

describe('pb.backups', () => {
  test('create, list, download, upload, restore, delete', async () => {
    const pb = await superuserClient();
    const health = await pb.health.check();
    assert.equal(health.data.canBackup, true);

    const name = `sdk_${suffix()}.zip`;
    assert.equal(await pb.backups.create(name), true);
    const list = await pb.backups.getFullList();
    const made = list.find((b) => b.key === name);
    assert.ok(made, JSON.stringify(list));
    assert.ok(made.size > 0);
    assert.match(made.modified, DATETIME);

    const token = await pb.files.getToken();
    const response = await fetch(pb.backups.getDownloadURL(token, name));
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/zip');
    const bytes = Buffer.from(await response.arrayBuffer());
    assert.equal(bytes.subarray(0, 2).toString(), 'PK');

    const copy = `sdk_copy_${suffix()}.zip`;
    const form = new FormData();
    form.append('file', new Blob([bytes], { type: 'application/zip' }), copy);
    assert.equal(await pb.backups.upload(form), true);
    assert.ok((await pb.backups.getFullList()).some((b) => b.key === copy));

    const later = `later_${suffix()}`;
    await pb.collections.create({ name: later, type: 'base' });
    assert.equal(await pb.backups.restore(copy), true);
    await expectError(pb.collections.getOne(later), 404);
    // the superuser's token was in the backup too: still signed in
    assert.equal((await pb.health.check()).data.canBackup, true);

    assert.equal(await pb.backups.delete(copy), true);
    assert.equal(await pb.backups.delete(name), true);
    assert.ok(!(await pb.backups.getFullList()).some((b) => b.key === name));
  });

  test('bad input: clear 4xx answers', async () => {
    const pb = await superuserClient();
    const bad = await expectError(pb.backups.create('../escape.zip'), 400);
    assert.equal(bad.response.data.name.code, 'validation_match_invalid');
    await expectError(pb.backups.restore('missing.zip'), 400);
    await expectError(pb.backups.delete('missing.zip'), 400);
    const form = new FormData();
    form.append('file', new Blob(['not a zip'], { type: 'application/zip' }), 'text.zip');
    const upload = await expectError(pb.backups.upload(form), 400);
    assert.equal(upload.response.data.file.code, 'validation_invalid_mime_type');

    await expectError(client().backups.getFullList(), 401);
    const { pb: user } = await signUpAndIn('backups');
    await expectError(user.backups.getFullList(), 403);
    await expectError(user.backups.create(''), 403);
    const userToken = await user.files.getToken();
    const response = await fetch(pb.backups.getDownloadURL(userToken, 'any.zip'));
    assert.equal(response.status, 403);
  });
});

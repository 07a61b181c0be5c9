// Files through the official JS SDK: Blob uploads in FormData, pb.files.getURL with a thumb,
// and a protected file with and without pb.files.getToken().

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { deflateSync } from 'node:zlib';

import { client, superuserClient, suffix } from './helpers.mjs';

/** A valid W x H red PNG, built by hand so the test needs no image library. */
function png(width, height) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (bytes) => {
    let c = 0xffffffff;
    for (const b of bytes) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4, 'ascii');
    data.copy(out, 8);
    out.writeUInt32BE(crc(Buffer.concat([Buffer.from(type, 'ascii'), data])), 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // truecolour
  const rows = Buffer.alloc(height * (1 + width * 3));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) rows[y * (1 + width * 3) + 1 + x * 3] = 255;
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Width and height from a PNG's header. */
function pngSize(bytes) {
  const buffer = Buffer.from(bytes);
  return [buffer.readUInt32BE(16), buffer.readUInt32BE(20)];
}

describe('files', () => {
  const name = `files_${suffix()}`;
  let admin;
  let user;
  let userId;

  before(async () => {
    admin = await superuserClient();
    await admin.collections.create({
      name,
      type: 'base',
      listRule: '',
      viewRule: 'owner = @request.auth.id',
      createRule: '',
      updateRule: '',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'owner', type: 'relation', collectionId: '_pb_users_auth_' },
        { name: 'photo', type: 'file', maxSelect: 1, mimeTypes: ['image/png'], thumbs: ['20x10'] },
        { name: 'docs', type: 'file', maxSelect: 5 },
        { name: 'private', type: 'file', protected: true },
      ],
    });
    const email = `files_${suffix()}@example.com`;
    user = client();
    const created = await user
      .collection('users')
      .create({ email, password: 'Passw0rd123', passwordConfirm: 'Passw0rd123' });
    userId = created.id;
    await user.collection('users').authWithPassword(email, 'Passw0rd123');
  });

  after(async () => {
    await admin.collections.delete(name);
  });

  test('a Blob in FormData is uploaded and served, with a thumb', async () => {
    const form = new FormData();
    form.append('title', 'with files');
    form.append('owner', userId);
    form.append('photo', new Blob([png(40, 20)], { type: 'image/png' }), 'red dot.png');
    form.append('docs', new Blob(['hello']), 'hello.txt');
    form.append('docs', new Blob(['world']), 'world.txt');
    const record = await user.collection(name).create(form);
    assert.match(record.photo, /^red_dot_[a-z0-9]{10}\.png$/);
    assert.equal(record.docs.length, 2);

    const full = await fetch(user.files.getURL(record, record.photo));
    assert.equal(full.status, 200);
    assert.equal(full.headers.get('content-type'), 'image/png');
    assert.deepEqual(pngSize(await full.arrayBuffer()), [40, 20]);

    const thumb = await fetch(user.files.getURL(record, record.photo, { thumb: '20x10' }));
    assert.equal(thumb.status, 200);
    assert.deepEqual(pngSize(await thumb.arrayBuffer()), [20, 10]);

    const text = await fetch(user.files.getURL(record, record.docs[1], { download: true }));
    assert.equal(await text.text(), 'world');
    assert.match(text.headers.get('content-disposition'), /^attachment/);
  });

  test('plain objects with Blob values are sent as multipart by the SDK', async () => {
    const record = await user
      .collection(name)
      .create({ title: 'object form', owner: userId, docs: [new Blob(['a']), new Blob(['b'])] });
    assert.equal(record.docs.length, 2);
    const updated = await user
      .collection(name)
      .update(record.id, { 'docs+': new Blob(['c']), 'docs-': [record.docs[0]] });
    assert.equal(updated.docs.length, 2);
    assert.equal(updated.docs[0], record.docs[1]);
  });

  test('a file of the wrong type is refused with the field error', async () => {
    try {
      await user.collection(name).create({ photo: new Blob(['not an image'], { type: 'image/png' }) });
      assert.fail('expected a validation error');
    } catch (err) {
      assert.equal(err.status, 400);
      assert.equal(err.response.data.photo.code, 'validation_invalid_mime_type');
    }
  });

  test('a protected file needs a file token and the view rule', async () => {
    const record = await user
      .collection(name)
      .create({ owner: userId, private: new Blob(['top secret']) });
    const bare = await fetch(user.files.getURL(record, record.private));
    assert.equal(bare.status, 404);

    const token = await user.files.getToken();
    const allowed = await fetch(user.files.getURL(record, record.private, { token }));
    assert.equal(allowed.status, 200);
    assert.equal(await allowed.text(), 'top secret');

    const stranger = client();
    const email = `stranger_${suffix()}@example.com`;
    await stranger
      .collection('users')
      .create({ email, password: 'Passw0rd123', passwordConfirm: 'Passw0rd123' });
    await stranger.collection('users').authWithPassword(email, 'Passw0rd123');
    const other = await fetch(stranger.files.getURL(record, record.private, { token: await stranger.files.getToken() }));
    assert.equal(other.status, 404);
  });
});

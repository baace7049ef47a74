// Starts s3rver (an S3-compatible server, not MinIO) on a free port of
// 127.0.0.1 and prints "s3rver listening port=<port>". Its objects live in
// argv[2] (a directory); the buckets to create follow it. The test that
// starts it kills it (tests/support/s3rver.h).
'use strict';
const S3rver = require('s3rver');

const [directory, ...buckets] = process.argv.slice(2);
if (!directory || buckets.length === 0) {
  process.stderr.write('usage: s3rver_main.js DIR BUCKET...\n');
  process.exit(2);
}
new S3rver({
  port: 0,
  address: '127.0.0.1',
  silent: true,
  directory,
  configureBuckets: buckets.map(name => ({ name })),
})
  .run()
  .then(({ port }) => {
    process.stdout.write(`s3rver listening port=${port}\n`);
  })
  .catch(err => {
    process.stderr.write(`s3rver: ${err.stack || err}\n`);
    process.exit(1);
  });

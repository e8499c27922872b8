// npm run bench: one get-vanilla-like GET, signed by this package, @smithy/signature-v4
// (node:crypto hashes, the JS SDK's signer) and aws4, in one run. Prints µs per signature
// and the ratios the issue sets targets for (<= 0.5x smithy, <= 1.0x aws4).
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import aws4 from 'aws4';

import { Signer, fixedClock } from '../src/index.js';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const when = new Date('2015-08-30T12:36:00Z');

const realsig = new Signer({ clock: fixedClock(when) });
const request = { method: 'GET', url: 'https://example.amazonaws.com/', region: 'us-east-1', service: 'service' };

const smithy = new SignatureV4({ credentials, region: 'us-east-1', service: 'service', sha256: Hash.bind(null, 'sha256') });
const smithyRequest = () =>
  new HttpRequest({ method: 'GET', protocol: 'https:', hostname: 'example.amazonaws.com', path: '/', headers: { host: 'example.amazonaws.com' } });

const aws4Request = () => ({ host: 'example.amazonaws.com', path: '/', method: 'GET', service: 'service', region: 'us-east-1', headers: { 'X-Amz-Date': '20150830T123600Z' } });

async function time(name, n, fn) {
  for (let i = 0; i < Math.min(n, 2000); i++) await fn(); // warm up
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn();
  const us = Number(process.hrtime.bigint() - start) / 1000 / n;
  console.log(`${name.padEnd(28)} ${us.toFixed(2).padStart(8)} µs/signature`);
  return us;
}

const n = Number(process.env.BENCH_N ?? 20000);
const results = {};
for (let round = 0; round < 3; round++) {
  results.realsig = Math.min(results.realsig ?? Infinity, await time('realsig (component, jco)', n, () => realsig.sign(request, credentials)));
  results.smithy = Math.min(results.smithy ?? Infinity, await time('@smithy/signature-v4', n, () => smithy.sign(smithyRequest(), { signingDate: when })));
  results.aws4 = Math.min(results.aws4 ?? Infinity, await time('aws4', n, () => aws4.sign(aws4Request(), credentials)));
}
console.log(`\nbest of 3 rounds, ${n} signatures each:`);
console.log(`realsig ${results.realsig.toFixed(2)} µs, @smithy/signature-v4 ${results.smithy.toFixed(2)} µs, aws4 ${results.aws4.toFixed(2)} µs`);
console.log(`ratio realsig / @smithy/signature-v4 = ${(results.realsig / results.smithy).toFixed(3)} (target <= 0.5)`);
console.log(`ratio realsig / aws4                 = ${(results.realsig / results.aws4).toFixed(3)} (target <= 1.0)`);

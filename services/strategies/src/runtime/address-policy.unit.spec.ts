import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isPublicAddress, normaliseAllowlist } from './address-policy';

describe('egress address policy', () => {
  it('lets only public unicast addresses through', () => {
    for (const ok of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '2a00:1450:4001:80e::200e']) assert.equal(isPublicAddress(ok), true, ok);
    for (const blocked of [
      '169.254.169.254', '::ffff:169.254.169.254', '::ffff:a9fe:a9fe', '64:ff9b::a9fe:a9fe', '2002:a9fe:a9fe::1', '2001:0:4136:e378:8000:63bf:3fff:fdd2',
      '127.0.0.1', '127.1.2.3', '::1', '0.0.0.0', '::', '10.0.0.1', '172.16.0.1', '192.168.1.1', '100.64.0.1', 'fc00::1', 'fd12::1', 'fe80::1',
      '224.0.0.1', 'ff02::1', '255.255.255.255', '192.0.2.1', '198.51.100.1', '203.0.113.1', '198.18.0.1', '2001:db8::1', 'not an address', '',
    ]) {
      assert.equal(isPublicAddress(blocked), false, blocked);
    }
  });

  it('keeps host names and drops IP literals in every encoding, local names and junk, saying why', () => {
    const { hosts, rejected } = normaliseAllowlist([
      'API.Partner.com.', 'https://hooks.example.org/path?q=1', 'api.partner.com', 'xn--bcher-kva.example', 'bücher.example',
      '169.254.169.254', '2852039166', '0xa9fea9fe', '0251.0376.0251.0376', '169.254.43518', '[::ffff:169.254.169.254]', '::1',
      'localhost', 'metadata.google.internal', 'printer.local', 'intranet', '', 42, null,
    ]);
    assert.deepEqual(hosts, ['api.partner.com', 'hooks.example.org', 'xn--bcher-kva.example']);
    assert.deepEqual(rejected.map((r) => [r.entry, r.reason]), [
      ['169.254.169.254', 'IP addresses are not allowed, only host names'],
      ['2852039166', 'IP addresses are not allowed, only host names'],
      ['0xa9fea9fe', 'IP addresses are not allowed, only host names'],
      ['0251.0376.0251.0376', 'IP addresses are not allowed, only host names'],
      ['169.254.43518', 'IP addresses are not allowed, only host names'],
      ['[::ffff:169.254.169.254]', 'IP addresses are not allowed, only host names'],
      ['::1', 'not a host name'],
      ['localhost', 'local names are not allowed'],
      ['metadata.google.internal', 'local names are not allowed'],
      ['printer.local', 'local names are not allowed'],
      ['intranet', 'local names are not allowed'],
      ['', 'not a host name'],
      ['42', 'not a host name'],
      ['null', 'not a host name'],
    ]);
    assert.deepEqual(normaliseAllowlist('api.partner.com'), { hosts: [], rejected: [] });
  });
});

//! Arbitrary bytes as the content of an MLS X.509 credential (RFC 9420 §5.3), verified against
//! a fixed trust store at a fixed time. Nothing may panic; a chain that decodes re-encodes to
//! exactly the input; a credential that verifies names what `peek_identity` reads.
//!
//! The seeds in `fuzz/corpus/credential/` were issued by the CA below (for the signature key
//! `[7; 32]`, valid around `NOW`), so the fuzzer starts from credentials that verify and
//! reaches the signature, validity and key checks.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mimi_credential::{
    Credential, CredentialType, TrustStore, decode_certificate_chain, encode_certificate_chain,
    peek_identity, verify_credential, verify_credential_for_domain,
};
use mimi_types::id::ProviderDomain;

/// The client CA of `a.example` (a test CA; its key is not kept anywhere).
const CA_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBfDCCAS6gAwIBAgIQTcLTxdUfT6Nbkqo33aPRVDAFBgMrZXAwLTEXMBUGA1UE
AwwOTUlNSSBjbGllbnQgQ0ExEjAQBgNVBAoMCWEuZXhhbXBsZTAgFw0yMzExMTQy
MjEzMjBaGA8yMTI0MDEyOTIyMTMyMFowLTEXMBUGA1UEAwwOTUlNSSBjbGllbnQg
Q0ExEjAQBgNVBAoMCWEuZXhhbXBsZTAqMAUGAytlcAMhAFUmN2f37A8mxuFe0kum
9M8pPcFFaR8wWHPNSKGW+68Ko2IwYDAbBgNVHREEFDAShhBtaW1pOi8vYS5leGFt
cGxlMA4GA1UdDwEB/wQEAwIBBjAdBgNVHQ4EFgQUSU7FfwHFj6uWkBhHX6KVqnCs
C1YwEgYDVR0TAQH/BAgwBgEB/wIBADAFBgMrZXADQQBLVrP4fmA0ul6ctOski2uZ
n4XC3JMhMe1ZbIP+mnfmGsR+H5NBm8+QZl+zj69C7GBsslOSoNfacD3cZttQQfsA
-----END CERTIFICATE-----
";

const NOW: i64 = 1_750_000_000;
const KEY: [u8; 32] = [7; 32];

fn trust() -> &'static (TrustStore, ProviderDomain, ProviderDomain) {
    static T: OnceLock<(TrustStore, ProviderDomain, ProviderDomain)> = OnceLock::new();
    T.get_or_init(|| {
        let a = ProviderDomain::parse("a.example").expect("domain");
        let b = ProviderDomain::parse("b.example").expect("domain");
        let mut store = TrustStore::new();
        store.add_pem(&a, CA_PEM).expect("the fuzz CA loads");
        (store, a, b)
    })
}

fuzz_target!(|data: &[u8]| {
    let (store, a, b) = trust();
    if let Ok(certs) = decode_certificate_chain(data) {
        let again = encode_certificate_chain(&certs).expect("a decoded chain encodes");
        assert_eq!(again, data, "one encoding per chain");
    }
    let credential = Credential::new(CredentialType::X509, data.to_vec());
    let peeked = peek_identity(&credential);
    if let Ok(id) = verify_credential(&credential, &KEY, store, NOW) {
        assert_eq!(&id.domain, a);
        assert_eq!(peeked, Ok((id.client.clone(), id.user.clone())));
        assert_eq!(
            verify_credential_for_domain(&credential, &KEY, store, a, NOW),
            Ok(id)
        );
    }
    assert!(verify_credential_for_domain(&credential, &KEY, store, b, NOW).is_err());
});

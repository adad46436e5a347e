// Certificates for the TLS tests, made when the tests run (nothing secret is committed): a CA,
// server certificates signed by it, a client certificate, written as PEM files to a fresh
// temporary folder that is removed afterwards.
#pragma once

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace tls_test {

inline EVP_PKEY* make_key(bool rsa = false) {
    EVP_PKEY* k = rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
    if (!k) throw std::runtime_error("key generation failed");
    return k;
}

inline void add_ext(X509* cert, X509* issuer, int nid, char const* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (!ext) throw std::runtime_error("bad extension");
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

// A certificate for `cn` with the given subjectAltName ("" for none), signed by issuer (or
// self-signed when issuer is null).
inline X509* make_cert(EVP_PKEY* key, char const* cn, char const* san, X509* issuer, EVP_PKEY* issuer_key, bool ca,
                       long serial) {
    X509* c = X509_new();
    X509_set_version(c, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c), serial);
    X509_gmtime_adj(X509_getm_notBefore(c), -3600);
    X509_gmtime_adj(X509_getm_notAfter(c), 86400L * 30);
    X509_set_pubkey(c, key);
    X509_NAME* name = X509_get_subject_name(c);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<unsigned char const*>("porthole tests"), -1,
                               -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<unsigned char const*>(cn), -1, -1, 0);
    X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : name);
    X509* iss = issuer ? issuer : c;
    if (ca) {
        add_ext(c, iss, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(c, iss, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_ext(c, iss, NID_basic_constraints, "CA:FALSE");
    }
    add_ext(c, iss, NID_subject_key_identifier, "hash");
    if (san && *san) add_ext(c, iss, NID_subject_alt_name, san);
    if (!X509_sign(c, issuer_key ? issuer_key : key, EVP_sha256())) throw std::runtime_error("signing failed");
    return c;
}

inline void write_pem(std::string const& path, X509* cert, X509* extra = nullptr) {
    FILE* f = std::fopen(path.c_str(), "w");
    PEM_write_X509(f, cert);
    if (extra) PEM_write_X509(f, extra);
    std::fclose(f);
}

inline void write_key(std::string const& path, EVP_PKEY* key, char const* password = nullptr) {
    FILE* f = std::fopen(path.c_str(), "w");
    if (password)
        PEM_write_PrivateKey(f, key, EVP_aes_256_cbc(), reinterpret_cast<unsigned char const*>(password),
                             static_cast<int>(std::strlen(password)), nullptr, nullptr);
    else PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
}

// Files in dir: ca.pem; server.pem (chain) + server.key for localhost/127.0.0.1;
// server-enc.key (the same key under password "s3cret"); other.pem + other.key for
// other.test and *.wild.test; rsa.pem + rsa.key (RSA 2048, localhost); client.pem +
// client.key (CN=alice); stranger.pem + stranger.key (a client certificate from another CA).
struct files {
    std::string dir;
    std::string path(char const* name) const { return dir + "/" + name; }

    files() {
        char tmpl[] = "/tmp/porthole-tls-XXXXXX";
        if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
        dir = tmpl;
        EVP_PKEY* ca_key = make_key();
        X509* ca = make_cert(ca_key, "porthole test CA", "", nullptr, nullptr, true, 1);
        write_pem(path("ca.pem"), ca);

        EVP_PKEY* key = make_key();
        X509* cert = make_cert(key, "localhost", "DNS:localhost,IP:127.0.0.1", ca, ca_key, false, 2);
        write_pem(path("server.pem"), cert, ca);
        write_key(path("server.key"), key);
        write_key(path("server-enc.key"), key, "s3cret");

        EVP_PKEY* other_key = make_key();
        X509* other = make_cert(other_key, "other.test", "DNS:other.test,DNS:*.wild.test", ca, ca_key, false, 3);
        write_pem(path("other.pem"), other, ca);
        write_key(path("other.key"), other_key);

        EVP_PKEY* rsa_key = make_key(true);
        X509* rsa = make_cert(rsa_key, "localhost", "DNS:localhost,IP:127.0.0.1", ca, ca_key, false, 4);
        write_pem(path("rsa.pem"), rsa, ca);
        write_key(path("rsa.key"), rsa_key);

        EVP_PKEY* client_key = make_key();
        X509* client = make_cert(client_key, "alice", "", ca, ca_key, false, 5);
        write_pem(path("client.pem"), client);
        write_key(path("client.key"), client_key);

        EVP_PKEY* stranger_ca_key = make_key();
        X509* stranger_ca = make_cert(stranger_ca_key, "someone else's CA", "", nullptr, nullptr, true, 6);
        EVP_PKEY* stranger_key = make_key();
        X509* stranger = make_cert(stranger_key, "mallory", "", stranger_ca, stranger_ca_key, false, 7);
        write_pem(path("stranger.pem"), stranger);
        write_key(path("stranger.key"), stranger_key);

        for (X509* x : {ca, cert, other, rsa, client, stranger_ca, stranger}) X509_free(x);
        for (EVP_PKEY* k : {ca_key, key, other_key, rsa_key, client_key, stranger_ca_key, stranger_key})
            EVP_PKEY_free(k);
    }
    files(files const&) = delete;
    files& operator=(files const&) = delete;
    ~files() {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
};

inline files const& shared_files() {
    static files f;
    return f;
}

}  // namespace tls_test

// porthole/detail/tls_context.hpp: the server side of TLS over OpenSSL 3: what to serve
// (tls::config), and the OpenSSL contexts made from it (tls::context), reloadable while
// connections made with the previous files live on. Included by <porthole/tls.hpp>.
#pragma once

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#if !defined(OPENSSL_VERSION_MAJOR) || OPENSSL_VERSION_MAJOR < 3
#error "porthole/tls.hpp needs OpenSSL 3 (Debian: libssl-dev)"
#endif

namespace porthole::tls {

// The lowest protocol version accepted. TLS 1.3 is always preferred when the client has it.
enum class version : std::uint8_t { tls1_2, tls1_3 };

// Client certificates (mutual TLS): not asked for, asked for and verified when sent, or
// required (a handshake without a valid one fails).
enum class client_certificates : std::uint8_t { none, optional, required };

// One certificate chain and its private key, both PEM files. The chain file holds the
// server's certificate first, then the intermediates (as `openssl req -x509` or a CA gives it).
struct identity {
    std::string certificate_chain_file{};
    std::string private_key_file{};
};

// Cipher suites for TLS 1.2 (OpenSSL cipher-list syntax): the distribution's DEFAULT list less
// everything without forward secrecy, without authentication, or with a CBC, RC4, 3DES, DES,
// export or NULL cipher. TLS 1.3 suites are OpenSSL's defaults (all AEAD).
inline constexpr char const default_cipher_list[] =
    "DEFAULT:!aNULL:!eNULL:!kRSA:!PSK:!SRP:!DSS:!CAMELLIA:!ARIA:!SHA1:!SHA256:!SHA384:!3DES:!RC4:!DES:!EXP:!MD5";

// Key exchange groups (RFC 8446 4.2.7; TLS 1.2's ECDHE curves, RFC 8422): the elliptic curves
// every client has. OpenSSL's default list adds the finite-field groups up to ffdhe8192, which
// let a client make each handshake cost the server some 50 times the CPU of X25519.
inline constexpr char const default_groups[] = "X25519:P-256:P-384";

struct config {
    identity server{};            // served when the client names no host, or one no other matches
    std::vector<identity> sni{};  // more, chosen by the host name the client sends (SNI, RFC 6066
                                  // section 3) against each certificate's names, wildcards included
    // Asked for the passphrase of encrypted private keys, once per key and load; empty:
    // keys must be unencrypted. Throwing fails the load.
    std::function<std::string()> password{};
    version min_version = version::tls1_2;
    std::string cipher_list = default_cipher_list;  // TLS 1.2; OpenSSL syntax
    std::string ciphersuites{};                     // TLS 1.3; empty: OpenSSL's defaults
    std::string groups = default_groups;            // key exchange; OpenSSL syntax, empty: OpenSSL's
    // Session resumption through tickets (RFC 8446 section 4.6.1, RFC 5077), encrypted with
    // keys made at random in memory and rotated: a ticket is accepted for two lifetimes.
    bool session_tickets = true;
    std::chrono::seconds ticket_key_lifetime{3600};
    // TLS 1.3 tickets sent after a full handshake (RFC 8446 section 4.6.1); after a resumption,
    // one at most. One serves a client that opens its connections one after another and costs
    // both sides a ticket less per handshake than OpenSSL's default of two; a client that opens
    // several connections at once resumes as many as it holds tickets (RFC 8446 C.4: a ticket
    // is used once), and gets a new one with each. TLS 1.2 sends one in any case.
    unsigned tickets_per_handshake = 1;
    // Mutual TLS: the CA certificates (PEM) client certificates must chain to.
    client_certificates verify_clients = client_certificates::none;
    std::string client_ca_file{};
};

// Loading failed: a file is missing or unreadable, a key does not match its certificate,
// a passphrase is wrong, a cipher list selects nothing. what() names the file and OpenSSL's reason.
class error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

namespace detail {

// OpenSSL's reasons queued on this thread, "; "-separated, and the queue cleared. Reasons and
// library names only: never data, so never key material.
inline std::string take_openssl_errors() {
    std::string out;
    while (unsigned long e = ERR_get_error()) {
        char const* reason = ERR_reason_error_string(e);
        if (!out.empty()) out += "; ";
        if (reason) {
            out += reason;
        } else {
            char buf[256];
            ERR_error_string_n(e, buf, sizeof buf);
            out += buf;
        }
    }
    return out.empty() ? std::string("unknown OpenSSL error") : out;
}

[[noreturn]] inline void fail(std::string what) {
    what += ": ";
    what += take_openssl_errors();
    throw error(what);
}

struct ssl_ctx_deleter {
    void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); }
};
using ssl_ctx_ptr = std::unique_ptr<SSL_CTX, ssl_ctx_deleter>;

// Session ticket keys, kept across reloads so that a reload does not cost every client a full
// handshake (but where the certificate changed: make_context). Two keys: new tickets use the current one; the previous
// one still opens tickets (which are then renewed) until it too is replaced.
class ticket_keys {
public:
    explicit ticket_keys(std::chrono::seconds lifetime)
        : lifetime_(lifetime.count() > 0 ? lifetime : std::chrono::seconds(1)) {
        std::lock_guard lock(mutex_);
        rotate_locked(std::chrono::steady_clock::now());
        previous_ = current_;
        previous_.valid = false;
    }

    // SSL_CTX_set_tlsext_ticket_key_evp_cb's contract: 1 key set up, 2 (decrypting) the key is
    // old so renew the ticket, 0 no such key (full handshake), -1 failure.
    int setup(unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int encrypt) noexcept {
        key k;
        bool old = false;
        {
            std::lock_guard lock(mutex_);
            auto now = std::chrono::steady_clock::now();
            if (now - rotated_ >= lifetime_) rotate_locked(now);
            if (encrypt || std::memcmp(name, current_.name, sizeof k.name) == 0) {
                k = current_;
            } else if (previous_.valid && std::memcmp(name, previous_.name, sizeof k.name) == 0) {
                k = previous_;
                old = true;
            } else {
                return 0;
            }
        }
        int result = -1;
        char digest[] = "SHA256";
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, k.hmac, sizeof k.hmac),
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
            OSSL_PARAM_construct_end(),
        };
        if (encrypt) {
            std::memcpy(name, k.name, sizeof k.name);
            if (RAND_bytes(iv, 16) == 1 && EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, k.aes, iv) == 1 &&
                EVP_MAC_CTX_set_params(mac, params) == 1)
                result = 1;
        } else if (EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, k.aes, iv) == 1 &&
                   EVP_MAC_CTX_set_params(mac, params) == 1) {
            result = old ? 2 : 1;
        }
        OPENSSL_cleanse(&k, sizeof k);
        return result;
    }

    std::chrono::seconds lifetime() const noexcept { return lifetime_; }

private:
    struct key {
        unsigned char name[16];
        unsigned char aes[32];
        unsigned char hmac[32];
        bool valid = false;
    };

    void rotate_locked(std::chrono::steady_clock::time_point now) noexcept {
        previous_ = current_;
        key fresh;
        fresh.valid = RAND_bytes(fresh.name, sizeof fresh.name) == 1 && RAND_bytes(fresh.aes, sizeof fresh.aes) == 1 &&
                      RAND_bytes(fresh.hmac, sizeof fresh.hmac) == 1;
        current_ = fresh;
        OPENSSL_cleanse(&fresh, sizeof fresh);
        rotated_ = now;
    }

    std::mutex mutex_;
    std::chrono::seconds lifetime_;
    std::chrono::steady_clock::time_point rotated_{};
    key current_{};
    key previous_{};
};

// One load of a config: an SSL_CTX per identity, the first being the default.
struct generation {
    std::vector<ssl_ctx_ptr> contexts;
    std::shared_ptr<ticket_keys> tickets;
    bool verify_clients = false;

    SSL_CTX* default_context() const noexcept { return contexts.front().get(); }
};

inline int generation_index() {
    static int const index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

inline generation const* generation_of(SSL* ssl) noexcept {
    return static_cast<generation const*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), generation_index()));
}

extern "C" inline int porthole_tls_ticket_key(SSL* ssl, unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
                                              EVP_MAC_CTX* mac, int encrypt) {
    generation const* g = generation_of(ssl);
    return g && g->tickets ? g->tickets->setup(name, iv, cipher, mac, encrypt) : -1;
}

// The host name a ClientHello's server_name extension carries (RFC 6066 section 3: a list whose
// first entry is a host_name); empty when there is none or it is malformed (OpenSSL's own
// reading of the extension then decides: the default identity, or a refusal).
inline std::string_view client_hello_server_name(SSL* ssl) noexcept {
    unsigned char const* p = nullptr;
    std::size_t len = 0;
    if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &len) != 1 || len < 5) return {};
    std::size_t list = std::size_t{p[0]} << 8 | p[1];
    std::size_t name = std::size_t{p[3]} << 8 | p[4];
    if (list != len - 2 || p[2] != TLSEXT_NAMETYPE_host_name || name == 0 || name > len - 5) return {};
    return {reinterpret_cast<char const*>(p + 5), name};
}

// SNI: the first identity whose certificate names the host; otherwise the default one. Chosen
// from the ClientHello before a session is resumed (a server-name callback runs after), and each
// identity has its own session id context: a session resumes only where the certificate that
// made it serves the name; under another certificate's name it gets a full handshake.
extern "C" inline int porthole_tls_client_hello(SSL* ssl, int*, void*) {
    std::string_view host = client_hello_server_name(ssl);
    generation const* g = generation_of(ssl);
    if (host.empty() || !g) return SSL_CLIENT_HELLO_SUCCESS;
    for (std::size_t i = 1; i < g->contexts.size(); ++i) {
        X509* cert = SSL_CTX_get0_certificate(g->contexts[i].get());
        if (cert && X509_check_host(cert, host.data(), host.size(), 0, nullptr) == 1) {
            SSL_set_SSL_CTX(ssl, g->contexts[i].get());  // its certificate and session id context
            // SSL_set_SSL_CTX keeps the first context's verification settings; set this one's.
            SSL_set_verify(ssl, SSL_CTX_get_verify_mode(g->contexts[i].get()), nullptr);
            break;
        }
    }
    return SSL_CLIENT_HELLO_SUCCESS;
}

// The server-name callback accepts the name the ClientHello callback chose by: without one,
// OpenSSL neither acknowledges SNI (RFC 6066 section 3) nor keeps the name in the session.
extern "C" inline int porthole_tls_server_name(SSL*, int*, void*) { return SSL_TLSEXT_ERR_OK; }

// ALPN (RFC 7301): http/1.1 when offered. A client that offers protocols but not http/1.1
// (h2 alone, say) gets the no_application_protocol alert rather than a protocol it did not ask
// for; a client that offers none speaks HTTP/1.1 as before ALPN.
extern "C" inline int porthole_tls_alpn(SSL*, unsigned char const** out, unsigned char* out_len,
                                        unsigned char const* in, unsigned int in_len, void*) {
    static constexpr unsigned char http11[] = {'h', 't', 't', 'p', '/', '1', '.', '1'};
    for (unsigned i = 0; i < in_len;) {
        unsigned n = in[i];
        if (i + 1 + n > in_len) break;
        if (n == sizeof http11 && std::memcmp(in + i + 1, http11, n) == 0) {
            *out = in + i + 1;
            *out_len = static_cast<unsigned char>(n);
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + n;
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

extern "C" inline int porthole_tls_password(char* buf, int size, int, void* user) {
    auto const* ask = static_cast<std::function<std::string()> const*>(user);
    if (!ask || !*ask || size <= 0) return -1;
    try {
        std::string pass = (*ask)();
        int n = static_cast<int>(std::min<std::size_t>(pass.size(), static_cast<std::size_t>(size)));
        std::memcpy(buf, pass.data(), static_cast<std::size_t>(n));
        OPENSSL_cleanse(pass.data(), pass.size());
        return n;
    } catch (...) {
        return -1;
    }
}

// The session id context is a digest of the certificate and of every CA trusted for client
// certificates: a session resumes only where the certificate that authenticated it serves (SNI;
// across a reload, until renewed) and while the CA that verified its client is still trusted (a
// reload that drops a CA ends its clients' sessions instead of resuming them unverified).
inline void set_session_id_context(SSL_CTX* x, identity const& id) {
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    auto add = [md](X509* cert) {
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned n = 0;
        return cert && X509_digest(cert, EVP_sha256(), digest, &n) == 1 && EVP_DigestUpdate(md, digest, n) == 1;
    };
    bool ok = md && EVP_DigestInit_ex(md, EVP_sha256(), nullptr) == 1 && add(SSL_CTX_get0_certificate(x));
    STACK_OF(X509_OBJECT)* trusted = X509_STORE_get0_objects(SSL_CTX_get_cert_store(x));
    for (int i = 0; ok && i < sk_X509_OBJECT_num(trusted); ++i)
        if (X509* ca = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(trusted, i))) ok = add(ca);
    unsigned char context[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    ok = ok && EVP_DigestFinal_ex(md, context, &n) == 1 &&
         SSL_CTX_set_session_id_context(x, context, std::min(n, unsigned{SSL_MAX_SID_CTX_LENGTH})) == 1;
    EVP_MD_CTX_free(md);
    if (!ok) fail("TLS: cannot set the session id context of " + id.certificate_chain_file);
}

inline ssl_ctx_ptr make_context(config const& c, identity const& id, generation& g) {
    ERR_clear_error();
    ssl_ctx_ptr ctx(SSL_CTX_new(TLS_server_method()));
    if (!ctx) fail("TLS: cannot create a context");
    SSL_CTX* x = ctx.get();
    SSL_CTX_set_min_proto_version(x, c.min_version == version::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION);
    SSL_CTX_set_options(x, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION |
                               (c.session_tickets ? 0 : SSL_OP_NO_TICKET));
    // Buffers are given back between records: an idle connection holds no 16 KB record buffers.
    SSL_CTX_set_mode(x, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    // Resumption is by tickets, which hold no per-client state here; no server-side cache.
    SSL_CTX_set_session_cache_mode(x, SSL_SESS_CACHE_OFF);
    if (!c.cipher_list.empty() && SSL_CTX_set_cipher_list(x, c.cipher_list.c_str()) != 1)
        fail("TLS: cipher list \"" + c.cipher_list + "\" selects nothing");
    if (!c.ciphersuites.empty() && SSL_CTX_set_ciphersuites(x, c.ciphersuites.c_str()) != 1)
        fail("TLS: TLS 1.3 cipher suites \"" + c.ciphersuites + "\" select nothing");
    if (!c.groups.empty() && SSL_CTX_set1_groups_list(x, c.groups.c_str()) != 1)
        fail("TLS: groups \"" + c.groups + "\" select nothing");
    SSL_CTX_set_dh_auto(x, 1);
    if (SSL_CTX_use_certificate_chain_file(x, id.certificate_chain_file.c_str()) != 1)
        fail("TLS: cannot load the certificate chain " + id.certificate_chain_file);
    {
        BIO* bio = BIO_new_file(id.private_key_file.c_str(), "r");
        if (!bio) fail("TLS: cannot open the private key " + id.private_key_file);
        EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, porthole_tls_password,
                                                const_cast<std::function<std::string()>*>(&c.password));
        BIO_free(bio);
        if (!key) fail("TLS: cannot read the private key " + id.private_key_file);
        int used = SSL_CTX_use_PrivateKey(x, key);
        EVP_PKEY_free(key);
        if (used != 1 || SSL_CTX_check_private_key(x) != 1)
            fail("TLS: the private key " + id.private_key_file + " does not match " + id.certificate_chain_file);
    }
    if (c.verify_clients != client_certificates::none) {
        if (c.client_ca_file.empty()) throw error("TLS: client certificates need client_ca_file");
        if (SSL_CTX_load_verify_locations(x, c.client_ca_file.c_str(), nullptr) != 1)
            fail("TLS: cannot load the client CA file " + c.client_ca_file);
        STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(c.client_ca_file.c_str());
        if (names) SSL_CTX_set_client_CA_list(x, names);
        int mode = SSL_VERIFY_PEER;
        if (c.verify_clients == client_certificates::required) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
        SSL_CTX_set_verify(x, mode, nullptr);
    }
    set_session_id_context(x, id);
    SSL_CTX_set_alpn_select_cb(x, porthole_tls_alpn, nullptr);
    if (c.session_tickets) {
        SSL_CTX_set_tlsext_ticket_key_evp_cb(x, porthole_tls_ticket_key);
        SSL_CTX_set_timeout(x, static_cast<long>(2 * g.tickets->lifetime().count()));
        SSL_CTX_set_num_tickets(x, c.tickets_per_handshake);
    } else {
        SSL_CTX_set_num_tickets(x, 0);  // TLS 1.3 would send tickets for a session cache that is off
    }
    SSL_CTX_set_ex_data(x, generation_index(), &g);
    return ctx;
}

inline std::shared_ptr<generation const> load(config const& c, std::shared_ptr<ticket_keys> tickets) {
    auto g = std::make_shared<generation>();
    g->tickets = std::move(tickets);
    g->verify_clients = c.verify_clients != client_certificates::none;
    g->contexts.push_back(make_context(c, c.server, *g));
    for (auto const& id : c.sni) g->contexts.push_back(make_context(c, id, *g));
    if (!c.sni.empty()) {
        SSL_CTX_set_client_hello_cb(g->default_context(), porthole_tls_client_hello, nullptr);
        for (auto const& x : g->contexts) SSL_CTX_set_tlsext_servername_callback(x.get(), porthole_tls_server_name);
    }
    return g;
}

}  // namespace detail

// The server's TLS state: the contexts made from a config, shared by every connection and
// thread. reload() reads the files again (a renewed certificate, say): new connections use
// them, connections already open keep what they started with, and session tickets issued
// before still resume (but for a certificate that changed). All members are thread-safe.
class context {
public:
    // Loads every file now. Throws tls::error.
    explicit context(config c)
        : config_(std::move(c)),
          tickets_(config_.session_tickets ? std::make_shared<detail::ticket_keys>(config_.ticket_key_lifetime)
                                           : nullptr),
          current_(detail::load(config_, tickets_)) {}

    context(context const&) = delete;
    context& operator=(context const&) = delete;

    // Reads the certificate and key files again. On failure, throws tls::error and keeps
    // serving what it had.
    void reload() {
        auto next = detail::load(config_, tickets_);
        std::lock_guard lock(mutex_);
        current_ = std::move(next);
        reloads_.fetch_add(1, std::memory_order_release);
    }

    // The contexts new connections use now.
    std::shared_ptr<detail::generation const> current() const {
        std::lock_guard lock(mutex_);
        return current_;
    }
    // How many reloads succeeded: a driver can keep current() and take it again when this moves.
    unsigned long reloads() const noexcept { return reloads_.load(std::memory_order_acquire); }

    config const& settings() const noexcept { return config_; }

private:
    config const config_;
    std::shared_ptr<detail::ticket_keys> tickets_;
    mutable std::mutex mutex_;
    std::shared_ptr<detail::generation const> current_;
    std::atomic<unsigned long> reloads_{0};
};

}  // namespace porthole::tls

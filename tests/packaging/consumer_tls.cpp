// A consumer of porthole with HTTPS (porthole-tls / porthole::tls, or the two single headers),
// built by tools/packaging_check.sh: one request through TLS in memory.
//   consumer_tls CERT KEY    (a self-signed certificate for localhost and its key)
#include <porthole/porthole.hpp>  // with PORTHOLE_WITH_TLS, this brings porthole/tls.hpp
#include <porthole/tls.hpp>       // the same header again, for a build that does not define it

#include <cstdio>

int main(int argc, char** argv) {
    if (argc < 3) return 2;
    porthole::tls::config config;
    config.server = {argv[1], argv[2]};
    porthole::tls::context server(config);
    SSL_CTX* client = SSL_CTX_new(TLS_client_method());
    auto app = [](porthole::request const& req) {
        return std::string(req.secure() ? "secure " : "plain ") + std::string(req.path());
    };
    porthole::testing::tls_client c(app, server, client);
    bool ok = c.handshake();
    c.send("GET /consumer HTTP/1.1\r\nHost: localhost\r\n\r\n");
    auto rs = c.responses();
    SSL_CTX_free(client);
    std::printf("%s %s\n", c.server_session().protocol().data(), rs.empty() ? "-" : rs[0].body.c_str());
    return ok && rs.size() == 1 && rs[0].body == "secure /consumer" ? 0 : 1;
}

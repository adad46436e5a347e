// connection_config.hpp: what a driver tells its connections, and the defaults a connection falls
// back on.
#include "connection_output.hpp"

#include <porthole/connection.hpp>
#include <porthole/connection_config.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace porthole;

namespace {
// Feeds one request and returns what the connection writes for it.
template <class Conn>
std::string answer(Conn& c, std::string_view request) {
    c.feed(request);
    return connection_output::write_all(c);
}

constexpr std::string_view request_for_root = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
}  // namespace

TEST_CASE("a connection made without a configuration uses the defaults, as documented") {
    auto const& d = detail::default_connection_config();
    CHECK_FALSE(d.server_header);
    CHECK(d.max_output_buffered == 256 * 1024);
    CHECK(d.inline_body_limit == 16 * 1024);
    CHECK(d.workers == nullptr);
    CHECK(d.allowed_hosts.empty());
    CHECK_FALSE(d.access_log);
    CHECK_FALSE(d.error_log);  // a line on stderr, through detail::default_error_log

    auto app = [](request const&) { return std::string("x"); };
    connection<decltype(app)> c(app);
    auto out = answer(c, request_for_root);
    CHECK(out.starts_with("HTTP/1.1 200 OK\r\n"));
    CHECK(out.find("Server:") == std::string::npos);
}

TEST_CASE("a connection reads its configuration where it lies: a change reaches it between requests") {
    connection_config cfg;
    auto app = [](request const&) { return std::string("x"); };
    connection<decltype(app)> c(app, cfg);
    CHECK(answer(c, request_for_root).find("Server: porthole\r\n") == std::string::npos);
    cfg.server_header = true;
    CHECK(answer(c, request_for_root).find("Server: porthole\r\n") != std::string::npos);
}

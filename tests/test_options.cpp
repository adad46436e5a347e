// What a server is told (options.hpp): server_options' defaults, which --help states and an
// empty command line keeps.
#include <porthole/options.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

using porthole::server_options;

namespace {

// Each flag whose --help line states a default, and that default as server_options holds it.
std::map<std::string, std::function<std::uint64_t(server_options const&)>> const defaults_of = {
    {"--port", [](auto const& o) { return o.port; }},
    {"--max-connections", [](auto const& o) { return o.max_connections; }},
    {"--header-timeout-ms", [](auto const& o) { return o.header_timeout.count(); }},
    {"--body-timeout-ms", [](auto const& o) { return o.body_timeout.count(); }},
    {"--keep-alive-timeout-ms", [](auto const& o) { return o.keep_alive_timeout.count(); }},
    {"--write-timeout-ms", [](auto const& o) { return o.write_timeout.count(); }},
    {"--drain-timeout-ms", [](auto const& o) { return o.drain_timeout.count(); }},
    {"--response-timeout-ms", [](auto const& o) { return o.response_timeout.count(); }},
    {"--websocket-ping-ms", [](auto const& o) { return o.websocket_ping_interval.count(); }},
    {"--websocket-close-timeout-ms", [](auto const& o) { return o.websocket_close_timeout.count(); }},
    {"--worker-threads", [](auto const& o) { return o.worker_threads; }},
    {"--worker-queue", [](auto const& o) { return o.worker_queue; }},
#if !defined(_WIN32)
    {"--socket-mode", [](auto const& o) { return o.unix_socket_mode; }},
#endif
};

}  // namespace

TEST_CASE("every default --help states is the one server_options holds") {
    char const* argv[] = {"prog", "--help"};
    std::string help = server_options::from_command_line(2, argv).message;
    int checked = 0;
    for (auto const& [flag, value] : defaults_of) {
        CAPTURE(flag);
        auto line_at = help.find("  " + flag + " ");
        REQUIRE(line_at != std::string::npos);
        auto line = help.substr(line_at, help.find('\n', line_at) - line_at);
        auto stated_at = line.find("(default ");
        REQUIRE(stated_at != std::string::npos);
        auto stated = line.substr(stated_at + 9, line.find(')', stated_at) - stated_at - 9);
        int base = flag == "--socket-mode" ? 8 : 10;  // "660" is octal
        CHECK(std::stoull(stated, nullptr, base) == value(server_options{}));
        ++checked;
    }
    CHECK(checked == static_cast<int>(defaults_of.size()));
}

TEST_CASE("an empty command line gives the defaults, with announce and handle_signals set") {
    char const* argv[] = {"prog"};
    auto cl = server_options::from_command_line(1, argv);
    REQUIRE(cl.ok());
    server_options const plain;
    auto const& o = cl.options;
    CHECK(o.announce);
    CHECK(o.handle_signals);
    CHECK(!plain.announce);
    CHECK(!plain.handle_signals);
    CHECK(o.address == plain.address);
    CHECK(o.extra_addresses.empty());
    CHECK(o.port == plain.port);
    CHECK(o.threads == plain.threads);
    CHECK(o.unix_socket_mode == plain.unix_socket_mode);
    CHECK(o.max_connections == plain.max_connections);
    CHECK(o.header_timeout == plain.header_timeout);
    CHECK(o.keep_alive_timeout == plain.keep_alive_timeout);
    CHECK(o.response_timeout == plain.response_timeout);
    CHECK(o.worker_threads == plain.worker_threads);
    CHECK(o.worker_queue == plain.worker_queue);
    CHECK(o.listener_per_thread == plain.listener_per_thread);
    CHECK(o.tls_cert_file == nullptr);
    CHECK(o.tls_key_file == nullptr);
}

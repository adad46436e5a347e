// What a server is told (options.hpp): server_options' defaults, which --help states and an
// empty command line keeps.
#include <porthole/options.hpp>

#include <doctest/doctest.h>

#include <charconv>
#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string>

using porthole::server_options;

namespace {

// Each flag whose --help line states a default, and that default as server_options holds it,
// written as the help writes it.
std::map<std::string, std::function<std::string(server_options const&)>> const defaults_of = {
    {"--port", [](auto const& o) { return std::to_string(o.port); }},
    {"--address", [](auto const& o) { return o.address; }},
    {"--max-connections", [](auto const& o) { return std::to_string(o.max_connections); }},
    {"--header-timeout-ms", [](auto const& o) { return std::to_string(o.header_timeout.count()); }},
    {"--body-timeout-ms", [](auto const& o) { return std::to_string(o.body_timeout.count()); }},
    {"--keep-alive-timeout-ms", [](auto const& o) { return std::to_string(o.keep_alive_timeout.count()); }},
    {"--write-timeout-ms", [](auto const& o) { return std::to_string(o.write_timeout.count()); }},
    {"--drain-timeout-ms", [](auto const& o) { return std::to_string(o.drain_timeout.count()); }},
    {"--response-timeout-ms", [](auto const& o) { return std::to_string(o.response_timeout.count()); }},
    {"--websocket-ping-ms", [](auto const& o) { return std::to_string(o.websocket_ping_interval.count()); }},
    {"--websocket-close-timeout-ms", [](auto const& o) { return std::to_string(o.websocket_close_timeout.count()); }},
    {"--worker-threads", [](auto const& o) { return std::to_string(o.worker_threads); }},
    {"--worker-queue", [](auto const& o) { return std::to_string(o.worker_queue); }},
#if !defined(_WIN32)   // no Unix sockets there
    {"--socket-mode",  // octal, as chmod writes it
     [](auto const& o) {
         char octal[12];
         auto end = std::to_chars(octal, octal + sizeof octal, o.unix_socket_mode, 8).ptr;
         return std::string(octal, end);
     }},
#endif
};

}  // namespace

TEST_CASE("every default --help states is the one server_options holds, and each is checked") {
    char const* argv[] = {"prog", "--help"};
    std::string const help = server_options::from_command_line(2, argv).message;
    std::set<std::string> stated;
    // "(default N)" with a value; "(default: ...)" describes one in words and is not read here.
    for (auto at = help.find("(default "); at != std::string::npos; at = help.find("(default ", at + 1)) {
        auto line_start = help.rfind('\n', at) + 1;  // npos + 1: the first line
        auto line = help.substr(line_start, help.find('\n', at) - line_start);
        auto flag_at = line.find("--");
        REQUIRE(flag_at != std::string::npos);
        auto flag = line.substr(flag_at, line.find(' ', flag_at) - flag_at);
        CAPTURE(flag);
        auto value_at = at - line_start + 9;
        auto value = line.substr(value_at, line.find(')', value_at) - value_at);
        auto held = defaults_of.find(flag);
        REQUIRE(held != defaults_of.end());  // a new default in the help: add it above
        CHECK(value == held->second(server_options{}));
        stated.insert(flag);
    }
    for (auto const& entry : defaults_of) {
        auto const& flag = entry.first;  // not a structured binding: CAPTURE takes it in a lambda
        CAPTURE(flag);
        CHECK(stated.count(flag) == 1);  // the help still states it
    }
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

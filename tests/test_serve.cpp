// serve.hpp: the whole program's server: it serves until SIGTERM and returns 0, returns 1 when
// it cannot start or is asked for HTTPS it was built without, and 2 for a refused command line.
#include <porthole/serve.hpp>

#include "server/client.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace std::chrono_literals;
using porthole::request;
using porthole::response;

namespace {

response hello_app(request const& r) { return response::text("hello " + std::string(r.path())); }

// A loopback TCP socket bound to a port the system picked; listening when asked.
struct bound_socket {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    std::uint16_t port = 0;
    explicit bound_socket(bool listening) {
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
        if (listening) REQUIRE(::listen(fd, 8) == 0);
        socklen_t len = sizeof sa;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
        port = ntohs(sa.sin_port);
    }
    ~bound_socket() { ::close(fd); }
};

// Runs `f` with stderr sent to /dev/null: what it prints there is expected.
template <class F>
int quietly(F f) {
    std::fflush(stderr);
    int saved = ::dup(2), null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    ::dup2(null, 2);
    int status = f();
    std::fflush(stderr);
    ::dup2(saved, 2);
    ::close(saved);
    ::close(null);
    return status;
}

// Serves on a port the system picked a moment ago, with handle_signals, until it answers there.
std::future<int> serving(std::uint16_t& port) {
    port = bound_socket(false).port;  // free a moment ago
    porthole::server_options o;
    o.port = port;
    o.threads = 1;
    o.handle_signals = true;
    o.announce = false;
    auto served = std::async(std::launch::async, [o] { return porthole::serve(hello_app, o); });
    std::optional<test_client::reply> r;
    for (int i = 0; i < 200 && !r; ++i) {  // until it listens
        test_client::connection c(port, 1000);
        if (c.ok() && c.get("/x")) r = c.read_reply();
        if (!r) std::this_thread::sleep_for(10ms);
    }
    REQUIRE(r);
    return served;
}

std::atomic<int> program_handler_calls{0};
extern "C" void program_handler(int) { ++program_handler_calls; }

}  // namespace

TEST_CASE("two serve() calls with handle_signals both stop on SIGTERM; the program's handler comes back") {
    // A signal had one pipe: the second serve() took it, and when it ended, the first one's
    // signals went nowhere (the first never returned, and the program's handler never ran).
    struct sigaction mine {
    }, before{};
    mine.sa_handler = program_handler;
    sigemptyset(&mine.sa_mask);
    REQUIRE(::sigaction(SIGTERM, &mine, &before) == 0);
    std::uint16_t port_a = 0, port_b = 0;
    auto a = serving(port_a);
    auto b = serving(port_b);
    ::kill(::getpid(), SIGTERM);
    bool both = b.wait_for(10s) == std::future_status::ready && a.wait_for(10s) == std::future_status::ready;
    if (!both) {  // the other waits for a signal that no longer reaches it: do not wait for it
        std::fprintf(stderr, "one serve() did not stop on SIGTERM\n");
        std::fflush(stderr);
        std::_Exit(1);
    }
    CHECK(a.get() == 0);
    CHECK(b.get() == 0);
    struct sigaction now {};
    ::sigaction(SIGTERM, nullptr, &now);
    CHECK((now.sa_handler == program_handler));  // parenthesized: doctest cannot print a function pointer
    ::kill(::getpid(), SIGTERM);
    for (int i = 0; i < 100 && program_handler_calls.load() == 0; ++i) std::this_thread::sleep_for(10ms);
    CHECK(program_handler_calls.load() == 1);
    ::sigaction(SIGTERM, &before, nullptr);
}

TEST_CASE("serve() with handle_signals serves until SIGTERM, then stops gracefully and returns 0") {
    std::uint16_t port = bound_socket(false).port;  // free a moment ago
    porthole::server_options o;
    o.port = port;
    o.threads = 1;
    o.handle_signals = true;
    o.announce = false;
    auto served = std::async(std::launch::async, [o] { return porthole::serve(hello_app, o); });
    std::optional<test_client::reply> r;
    for (int i = 0; i < 200 && !r; ++i) {  // until it listens
        test_client::connection c(port, 1000);
        if (c.ok() && c.get("/x")) r = c.read_reply();
        if (!r) std::this_thread::sleep_for(10ms);
    }
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == "hello /x");
    CHECK(served.wait_for(0s) == std::future_status::timeout);
    ::kill(::getpid(), SIGTERM);  // serve()'s handler takes it while serve() runs
    REQUIRE(served.wait_for(10s) == std::future_status::ready);
    CHECK(served.get() == 0);
}

TEST_CASE("serve() that cannot listen (the port is taken) says why and returns 1") {
    bound_socket taken(true);
    porthole::server_options o;
    o.port = taken.port;
    o.threads = 1;
    CHECK(quietly([&] { return porthole::serve(hello_app, o); }) == 1);
}

TEST_CASE("serve() asked for HTTPS in a program built without tls.hpp refuses, returning 1") {
    porthole::server_options o;
    o.port = 0;
    o.tls_cert_file = "cert.pem";
    CHECK(quietly([&] { return porthole::serve(hello_app, o); }) == 1);
}

TEST_CASE("serve() given a refused command line reports and returns its status, serving nothing") {
    char const* bad[] = {"prog", "--port", "http"};
    auto cl = porthole::server_options::from_command_line(3, bad);
    CHECK(quietly([&] { return porthole::serve(hello_app, cl); }) == 2);
}

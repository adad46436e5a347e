// Where the server listens: Unix domain sockets (mode, leftovers, removal on stop), several
// addresses at once, IPv6 loopback and the dual-stack wildcard, and the Host check that loopback
// listeners apply (a DNS rebinding defence). Built for both back ends, as test_server.
#include <porthole/server.hpp>

#include <doctest/doctest.h>

#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>

#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

using porthole::request;
using porthole::response;

namespace {

auto peer_app = [](request const& r) { return response::text(std::string(r.peer())); };

porthole::server_options test_options() {
    porthole::server_options o;
    o.port = 0;
    o.threads = 2;
    return o;
}

// A fresh directory for socket files, removed with what is in it.
struct temp_dir {
    std::string path;
    temp_dir() {
        char tmpl[] = "/tmp/porthole-listeners-XXXXXX";
        REQUIRE(::mkdtemp(tmpl));
        path = tmpl;
    }
    ~temp_dir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

// One request on a new connection to `sa`; the raw reply, or empty when it cannot connect.
std::string exchange(sockaddr const* sa, socklen_t len, std::string_view host = "localhost",
                     std::string_view target = "/") {
    int fd = ::socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return {};
    if (::connect(fd, sa, len) != 0) {
        ::close(fd);
        return {};
    }
    std::string req =
        "GET " + std::string(target) + " HTTP/1.1\r\nHost: " + std::string(host) + "\r\nConnection: close\r\n\r\n";
    (void)!::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    std::string got;
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) got.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    return got;
}

std::string over_unix(std::string const& path, std::string_view host = "localhost") {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::size_t offset = path[0] == '@' ? 1 : 0;
    std::memcpy(sa.sun_path + offset, path.data() + offset, path.size() - offset);
    auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + (offset ? 0 : 1));
    return exchange(reinterpret_cast<sockaddr*>(&sa), len, host);
}

std::string over_ipv4(std::uint16_t port, std::string_view host = "localhost", std::string_view target = "/") {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return exchange(reinterpret_cast<sockaddr*>(&sa), sizeof sa, host, target);
}

std::string over_ipv6(std::uint16_t port, std::string_view host = "localhost") {
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(port);
    sa.sin6_addr = in6addr_loopback;
    return exchange(reinterpret_cast<sockaddr*>(&sa), sizeof sa, host);
}

std::string body_of(std::string const& reply) {
    auto end = reply.find("\r\n\r\n");
    return end == std::string::npos ? std::string() : reply.substr(end + 4);
}

bool ipv6_loopback_available() {
    int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_addr = in6addr_loopback;
    bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    ::close(fd);
    return ok;
}

}  // namespace

TEST_CASE("a Unix socket mode beyond the permission bits is refused when the server is made") {
    auto o = test_options();
    o.unix_socket_mode = 010000;
    CHECK_THROWS_AS(porthole::server(peer_app, o), std::invalid_argument);
    o.unix_socket_mode = 07777;
    CHECK_NOTHROW(porthole::server(peer_app, o));
}

TEST_CASE("a Unix socket: served, made with the mode asked for, removed on stop") {
    temp_dir dir;
    auto path = dir.path + "/s.sock";
    auto o = test_options();
    o.address = "unix:" + path;
    o.unix_socket_mode = 0600;
    {
        porthole::server s(peer_app, o);
        s.start();
        struct stat st {};
        REQUIRE(::lstat(path.c_str(), &st) == 0);
        CHECK(S_ISSOCK(st.st_mode));
        CHECK((st.st_mode & 07777) == 0600);
        CHECK(s.port() == 0);
        CHECK(s.locations() == std::vector<std::string>{"unix:" + path});
        auto reply = over_unix(path, "tool.example");  // no Host check on a Unix socket
        CHECK(reply.starts_with("HTTP/1.1 200 OK\r\n"));
        CHECK(body_of(reply) == "unix");
        s.stop();
        CHECK(::access(path.c_str(), F_OK) != 0);  // gone
    }
}

TEST_CASE("a Unix socket's group, by name or number; an unknown one is refused and leaves no file") {
    temp_dir dir;
    auto path = dir.path + "/g.sock";
    group* own = ::getgrgid(::getgid());  // a group this process may always give its files
    REQUIRE(own);
    for (std::string name : {std::to_string(::getgid()), std::string(own->gr_name)}) {
        auto o = test_options();
        o.address = "unix:" + path;
        o.unix_socket_group = name;
        porthole::server s(peer_app, o);
        s.start();
        struct stat st {};
        REQUIRE(::lstat(path.c_str(), &st) == 0);
        CHECK(st.st_gid == ::getgid());
        CHECK(body_of(over_unix(path)) == "unix");
    }
    auto o = test_options();
    o.address = "unix:" + path;
    o.unix_socket_group = "no-such-group-porthole";
    porthole::server s(peer_app, o);
    CHECK_THROWS_WITH_AS(s.start(), doctest::Contains("no such group"), std::system_error);
    CHECK(::access(path.c_str(), F_OK) != 0);
}

TEST_CASE("a Unix socket left by a server that is gone is replaced; a live one or another file is not touched") {
    temp_dir dir;
    auto path = dir.path + "/s.sock";
    {  // a leftover: bound, never removed
        int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
        ::close(fd);
    }
    auto o = test_options();
    o.address = "unix:" + path;
    porthole::server first(peer_app, o);
    first.start();
    CHECK(body_of(over_unix(path)) == "unix");

    porthole::server second(peer_app, o);
    CHECK_THROWS_AS(second.start(), std::system_error);  // the first is alive: refused, and left alone
    CHECK(body_of(over_unix(path)) == "unix");
    first.stop();

    auto plain = dir.path + "/data.txt";
    std::FILE* f = std::fopen(plain.c_str(), "w");
    REQUIRE(f);
    std::fputs("keep me", f);
    std::fclose(f);
    o.address = "unix:" + plain;
    porthole::server third(peer_app, o);
    CHECK_THROWS_AS(third.start(), std::system_error);
    struct stat st {};
    REQUIRE(::stat(plain.c_str(), &st) == 0);
    CHECK(st.st_size == 7);
}

TEST_CASE("a Unix socket's stop does not remove a file that another server put there since") {
    temp_dir dir;
    auto path = dir.path + "/s.sock";
    auto o = test_options();
    o.address = "unix:" + path;
    porthole::server s(peer_app, o);
    s.start();
    ::unlink(path.c_str());  // someone replaced it
    porthole::server other(peer_app, o);
    other.start();
    s.stop();
    CHECK(body_of(over_unix(path)) == "unix");  // the newer one is still reachable
    other.stop();
    CHECK(::access(path.c_str(), F_OK) != 0);
}

#if defined(__linux__)
TEST_CASE("a Linux abstract Unix socket needs no file") {
    auto name = "@porthole-test-" + std::to_string(::getpid());
    auto o = test_options();
    o.address = "unix:" + name;
    porthole::server s(peer_app, o);
    s.start();
    CHECK(s.locations() == std::vector<std::string>{"unix:" + name});
    CHECK(body_of(over_unix(name)) == "unix");
}
#endif

TEST_CASE("several addresses at once: loopback TCP and a Unix socket, with the Host check on TCP only") {
    temp_dir dir;
    auto path = dir.path + "/s.sock";
    for (bool per_loop : {true, false}) {
        auto o = test_options();
        o.listener_per_thread = per_loop;
        o.extra_addresses = {"unix:" + path};
        porthole::server s(peer_app, o);
        s.start();
        REQUIRE(s.port() != 0);
        CHECK(s.locations() ==
              std::vector<std::string>{"http://127.0.0.1:" + std::to_string(s.port()) + "/", "unix:" + path});
        for (int i = 0; i < 10; ++i) {
            CHECK(body_of(over_ipv4(s.port())).starts_with("127.0.0.1:"));
            CHECK(body_of(over_unix(path, "tool.example")) == "unix");
        }
        CHECK(over_ipv4(s.port(), "tool.example").starts_with("HTTP/1.1 421 Misdirected Request\r\n"));
        s.stop();
    }
}

TEST_CASE("the port the first address picks is shared by the others; an address may carry its own") {
    if (!ipv6_loopback_available()) {
        MESSAGE("no IPv6 loopback here: skipped");
        return;
    }
    auto o = test_options();
    o.address = "127.0.0.1";
    o.extra_addresses = {"::1"};
    porthole::server s(peer_app, o);
    s.start();
    auto port = s.port();
    CHECK(body_of(over_ipv4(port)).starts_with("127.0.0.1:"));
    CHECK(body_of(over_ipv6(port)).starts_with("[::1]:"));
    s.stop();

    porthole::server probe(peer_app, test_options());
    probe.start();
    auto own = probe.port();  // a port known to be free once the probe stops
    probe.stop();
    auto p = test_options();
    p.address = "[::1]:" + std::to_string(own);
    p.extra_addresses = {"127.0.0.1"};
    porthole::server t(peer_app, p);
    t.start();
    CHECK(t.port() == own);
    CHECK(t.locations()[0] == "http://[::1]:" + std::to_string(own) + "/");
    CHECK(body_of(over_ipv6(own)).starts_with("[::1]:"));
    CHECK(t.locations()[1].starts_with("http://127.0.0.1:"));  // options.port (0): a port of its own
}

TEST_CASE("\"::\" is dual stack: IPv4 clients reach it too, with their IPv4 address as peer") {
    if (!ipv6_loopback_available()) {
        MESSAGE("no IPv6 here: skipped");
        return;
    }
    auto o = test_options();
    o.address = "::";
    porthole::server s(peer_app, o);
    s.start();
    auto v4 = over_ipv4(s.port(), "tool.example");  // not a loopback listener: no Host check
    CHECK(v4.starts_with("HTTP/1.1 200 OK\r\n"));
    CHECK(body_of(v4).starts_with("127.0.0.1:"));  // not [::ffff:127.0.0.1]
    CHECK(body_of(over_ipv6(s.port())).starts_with("[::1]:"));
    s.stop();
    // Beside an IPv4 listener on the same port, "::" takes IPv6 only instead of failing.
    o.address = "0.0.0.0";
    o.extra_addresses = {"::"};
    porthole::server both(peer_app, o);
    REQUIRE_NOTHROW(both.start());
    CHECK(body_of(over_ipv4(both.port())).starts_with("127.0.0.1:"));
    CHECK(body_of(over_ipv6(both.port())).starts_with("[::1]:"));
}

TEST_CASE("loopback listeners answer 421 to a Host that is not this machine, unless allowed or turned off") {
    porthole::server s(peer_app, test_options());
    s.start();
    for (auto host : {"localhost", "LOCALHOST:8080", "localhost.", "127.0.0.1", "127.0.0.1:1", "10.1.2.3", "[::1]:80",
                      "tool.localhost", "a.b.localhost:9"}) {
        CAPTURE(host);
        CHECK(over_ipv4(s.port(), host).starts_with("HTTP/1.1 200 OK\r\n"));
    }
    for (auto host : {"attacker.example", "attacker.example:80", "localhost.attacker.example", "127.0.0.1.nip.io",
                      "1.2.3", "1.2.3.4.5", "256.1.1.1", "xlocalhost", "tool"}) {
        CAPTURE(host);
        auto reply = over_ipv4(s.port(), host);
        CHECK(reply.starts_with("HTTP/1.1 421 Misdirected Request\r\n"));
        CHECK(body_of(reply) == "Misdirected Request");
    }
    // An absolute-form target's authority counts instead of Host (RFC 9112 3.2.2).
    CHECK(over_ipv4(s.port(), "localhost", "http://attacker.example/").starts_with("HTTP/1.1 421 "));
    CHECK(over_ipv4(s.port(), "attacker.example", "http://localhost:1/").starts_with("HTTP/1.1 200 "));
    s.stop();

    auto o = test_options();
    o.allowed_hosts = {"tool.internal"};
    porthole::server allowed(peer_app, o);
    allowed.start();
    CHECK(over_ipv4(allowed.port(), "TOOL.internal:8080").starts_with("HTTP/1.1 200 "));
    CHECK(over_ipv4(allowed.port(), "other.internal").starts_with("HTTP/1.1 421 "));
    allowed.stop();

    o.check_loopback_host = false;
    porthole::server off(peer_app, o);
    off.start();
    CHECK(over_ipv4(off.port(), "attacker.example").starts_with("HTTP/1.1 200 "));
}

TEST_CASE("bad listening addresses are refused with a message that names them") {
    for (auto bad : {"unix:", "unix:@", "[::1", "[::1]x", "127.0.0.1:99999", "127.0.0.1:", "host:port"}) {
        CAPTURE(bad);
        auto o = test_options();
        o.address = bad;
        porthole::server s(peer_app, o);
        CHECK_THROWS(s.start());
    }
    auto o = test_options();
    o.address = "unix:/" + std::string(200, 'a');
    porthole::server s(peer_app, o);
    CHECK_THROWS_WITH_AS(s.start(), doctest::Contains("too long"), std::invalid_argument);
}

TEST_CASE("the announcement lists every address, the first URL carrying the announce query") {
    temp_dir dir;
    auto o = test_options();
    o.extra_addresses = {"unix:" + dir.path + "/a.sock"};
    o.announce = true;
    o.announce_query = "token=abc";
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    std::fflush(stdout);
    int saved = ::dup(STDOUT_FILENO);
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    std::uint16_t port = 0;
    {
        porthole::server s(peer_app, o);
        s.start();
        port = s.port();
    }
    std::fflush(stdout);
    ::dup2(saved, STDOUT_FILENO);
    ::close(saved);
    ::close(pipe_fds[1]);
    std::string out;
    char buf[512];
    for (ssize_t n; (n = ::read(pipe_fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
    ::close(pipe_fds[0]);
    CHECK(out == "listening on http://127.0.0.1:" + std::to_string(port) +
                     "/?token=abc\nlistening on unix:" + dir.path + "/a.sock\n");
}

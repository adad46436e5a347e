// The engine on Windows, over real Winsock sockets on loopback (run under Wine here): accept,
// keep-alive and pipelining on WSAPoll, a port in use, answers from other threads through the
// loopback socket pair, files read and sent in bounded pieces from a UTF-8 path, stop and
// start again, poll() on the caller's thread, many clients on two loops, max_connections, the
// loopback Host check (421), several addresses, and unix: addresses refused.
#include <porthole/porthole.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

using namespace porthole;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// A blocking Winsock client: connect to 127.0.0.1:port, send bytes, read whole responses
// framed by Content-Length, or everything until the server closes.
class client {
public:
    explicit client(std::uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
            ::closesocket(fd_);
            fd_ = INVALID_SOCKET;
        }
        DWORD timeout_ms = 10000;
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, reinterpret_cast<char const*>(&timeout_ms), sizeof timeout_ms);
    }
    client(client const&) = delete;
    client& operator=(client const&) = delete;
    ~client() {
        if (fd_ != INVALID_SOCKET) ::closesocket(fd_);
    }
    bool ok() const { return fd_ != INVALID_SOCKET; }
    void half_close() { ::shutdown(fd_, SD_SEND); }

    bool send(std::string_view bytes) {
        while (!bytes.empty()) {
            int n = ::send(fd_, bytes.data(), static_cast<int>(bytes.size()), 0);
            if (n <= 0) return false;
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    // One response: "status|body", or "" when the connection ended first.
    std::string read_response() {
        for (;;) {
            auto head_end = in_.find("\r\n\r\n");
            if (head_end != std::string::npos) {
                std::string head = in_.substr(0, head_end);
                std::size_t length = 0;
                auto at = head.find("Content-Length: ");
                if (at != std::string::npos) length = std::stoull(head.substr(at + 16));
                if (in_.size() >= head_end + 4 + length) {
                    std::string out = head.substr(9, 3) + "|" + in_.substr(head_end + 4, length);
                    in_.erase(0, head_end + 4 + length);
                    return out;
                }
            }
            if (!fill()) return {};
        }
    }

    // True when the server closes the connection (end of stream) within the receive timeout.
    bool closed_by_server() {
        while (fill()) {}
        return last_ == 0;
    }

private:
    bool fill() {
        char buf[65536];
        last_ = ::recv(fd_, buf, sizeof buf, 0);
        if (last_ <= 0) return false;
        in_.append(buf, static_cast<std::size_t>(last_));
        return true;
    }
    SOCKET fd_;
    std::string in_;
    int last_ = 1;
};

std::string get(std::uint16_t port, std::string_view path) {
    client c(port);
    if (!c.ok()) return "no connection";
    c.send("GET " + std::string(path) + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    return c.read_response();
}

server_options loopback(unsigned threads = 1) {
    server_options o;
    o.port = 0;
    o.threads = threads;
    return o;
}

response hello_app(request const& req) {
    if (req.path() == "/") return response::text("Hello, World!");
    if (req.path() == "/echo") return response::text(std::string(req.query_string()));
    return status::not_found;
}

// CPU time this process has used (user and kernel).
std::chrono::microseconds process_cpu_time() {
    FILETIME created, exited, kernel, user;
    ::GetProcessTimes(::GetCurrentProcess(), &created, &exited, &kernel, &user);
    auto ticks = [](FILETIME const& t) { return (std::uint64_t{t.dwHighDateTime} << 32) | t.dwLowDateTime; };
    return std::chrono::microseconds((ticks(kernel) + ticks(user)) / 10);  // 100 ns ticks
}

}  // namespace

TEST_CASE("a started server answers on loopback; keep-alive and pipelined requests are answered in order") {
    server s(hello_app, loopback());
    s.start();
    REQUIRE(s.port() != 0);
    CHECK(get(s.port(), "/") == "200|Hello, World!");
    CHECK(get(s.port(), "/missing").substr(0, 4) == "404|");

    client c(s.port());
    REQUIRE(c.ok());
    for (int i = 0; i < 20; ++i) {
        REQUIRE(c.send("GET /echo?" + std::to_string(i) + " HTTP/1.1\r\nHost: localhost\r\n\r\n"));
        CHECK(c.read_response() == "200|" + std::to_string(i));
    }
    std::string pipelined;
    for (int i = 0; i < 50; ++i)
        pipelined += "GET /echo?p" + std::to_string(i) + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
    REQUIRE(c.send(pipelined));
    for (int i = 0; i < 50; ++i) CHECK(c.read_response() == "200|p" + std::to_string(i));
    s.stop();
}

TEST_CASE("a port in use is refused, not shared (SO_EXCLUSIVEADDRUSE)") {
    server first(hello_app, loopback());
    first.start();
    server_options o = loopback();
    o.port = first.port();
    server second(hello_app, o);
    // Said in words (the C runtime has none for EADDRINUSE), and comparable to std::errc.
    bool refused = false;
    try {
        second.start();
    } catch (std::system_error const& e) {
        refused = true;
        std::string what = e.what();
        CAPTURE(what);
        CHECK(what.find("Address already in use") != std::string::npos);
        CHECK(e.code() == std::errc::address_in_use);
    }
    CHECK(refused);
    CHECK(get(first.port(), "/") == "200|Hello, World!");
}

TEST_CASE("a half-closed peer that reads nothing does not keep its loop busy (WSAPoll: POLLHUP from its FIN on)") {
    std::string const big(8u << 20, 'b');
    auto app = [&big](request const&) { return response::text(big); };
    server s(app, loopback());
    s.start();
    client c(s.port());
    REQUIRE(c.ok());
    std::string const request = "GET /big HTTP/1.1\r\nHost: localhost\r\n\r\n";
    REQUIRE(c.send(request + request + request));
    std::this_thread::sleep_for(500ms);  // the answers fill the sockets' buffers; the rest waits
    c.half_close();
    std::this_thread::sleep_for(300ms);
    auto before = process_cpu_time();
    std::this_thread::sleep_for(2s);
    auto used = process_cpu_time() - before;
    MESSAGE("CPU time over 2 s: " << used.count() / 1000 << " ms");
    CHECK(used < 400ms);                        // a loop woken at once by every wait takes most of a core
    CHECK(get(s.port(), "/") == "200|" + big);  // and the loop still serves
    s.stop();
}

TEST_CASE("an answer from another thread wakes the loop through its loopback socket pair") {
    std::vector<std::thread> threads;
    std::mutex m;
    auto app = [&](request const& req) -> response {
        std::string q(req.query_string());
        std::lock_guard lock(m);
        threads.emplace_back([answer = answer_later(req), q]() mutable {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            answer.send(response::text("later " + q));
        });
        return later;
    };
    server s(app, loopback());
    s.start();
    client c(s.port());
    REQUIRE(c.ok());
    for (int i = 0; i < 5; ++i) {
        REQUIRE(c.send("GET /x?" + std::to_string(i) + " HTTP/1.1\r\nHost: localhost\r\n\r\n"));
        CHECK(c.read_response() == "200|later " + std::to_string(i));
    }
    s.stop();
    std::lock_guard lock(m);
    for (auto& t : threads) t.join();
}

TEST_CASE("a file goes out whole, read and sent in bounded pieces, from a UTF-8 path") {
    auto dir = fs::temp_directory_path() / ("porthole_win_files_" + std::to_string(::GetCurrentProcessId()));
    fs::create_directories(dir);
    auto path = dir / fs::path(u8"caf\u00e9-\u65e5\u672c.bin");
    std::string content;
    for (int i = 0; i < 1500000; ++i) content += static_cast<char>('a' + i % 26);
    {
        std::ofstream out(path, std::ios::binary);
        out << content;
    }
    auto u8 = path.u8string();
    std::string utf8_path(u8.begin(), u8.end());
    auto app = [&](request const&) -> response {
        auto r = response::file(utf8_path, "application/octet-stream");
        return r ? std::move(*r) : response(status::not_found);
    };
    server s(app, loopback());
    s.start();
    auto reply = get(s.port(), "/");
    CHECK(reply.size() == 4 + content.size());
    CHECK(reply == "200|" + content);
    s.stop();
    CHECK(!response::file(utf8_path + ".missing"));
    CHECK(!response::file(dir.string()));  // a directory is not a file
    fs::remove_all(dir);
}

TEST_CASE("stop() from another thread ends the loops; the server starts again on the same port") {
    server s(hello_app, loopback(2));
    s.start();
    auto port = s.port();
    client idle(port);  // an idle keep-alive connection does not hold up the stop
    REQUIRE(idle.ok());
    REQUIRE(idle.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    CHECK(idle.read_response() == "200|Hello, World!");
    std::thread stopper([&] { s.stop(); });
    stopper.join();
    s.wait();
    CHECK(s.port() == 0);
    CHECK(idle.closed_by_server());
    server_options o = loopback();
    o.port = port;
    server again(hello_app, o);
    again.start();
    CHECK(again.port() == port);
    CHECK(get(port, "/") == "200|Hello, World!");
}

TEST_CASE("poll() serves from the caller's thread over WSAPoll; there is no descriptor to wait on") {
    server s(hello_app, loopback());
    CHECK(s.native_handle() == -1);
    REQUIRE(s.port() != 0);
    std::atomic<bool> done{false};
    std::string reply;
    std::thread t([&] {
        reply = get(s.port(), "/");
        done = true;
    });
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done && std::chrono::steady_clock::now() < until) s.poll(std::chrono::milliseconds(20));
    t.join();
    CHECK(reply == "200|Hello, World!");
    s.stop();
}

TEST_CASE("50 concurrent keep-alive clients on two loops are all served") {
    server s(hello_app, loopback(2));
    s.start();
    std::atomic<int> good{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 50; ++t) {
        threads.emplace_back([&, t] {
            client c(s.port());
            if (!c.ok()) return;
            for (int i = 0; i < 5; ++i) {
                std::string q = std::to_string(t) + "-" + std::to_string(i);
                if (!c.send("GET /echo?" + q + " HTTP/1.1\r\nHost: localhost\r\n\r\n") ||
                    c.read_response() != "200|" + q)
                    return;
            }
            ++good;
        });
    }
    for (auto& t : threads) t.join();
    CHECK(good == 50);
}

TEST_CASE("connections beyond max_connections get 503 and close; the others go on") {
    server_options o = loopback();
    o.max_connections = 2;
    server s(hello_app, o);
    s.start();
    client a(s.port()), b(s.port());
    REQUIRE(a.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    REQUIRE(b.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    CHECK(a.read_response() == "200|Hello, World!");
    CHECK(b.read_response() == "200|Hello, World!");
    client c(s.port());
    CHECK(c.read_response() == "503|Service Unavailable");
    CHECK(c.closed_by_server());
    REQUIRE(a.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    CHECK(a.read_response() == "200|Hello, World!");
}

TEST_CASE("on loopback a Host naming another machine gets 421; allowed_hosts and IP literals pass") {
    server_options o = loopback();
    o.allowed_hosts = {"tool.example"};
    server s(hello_app, o);
    s.start();
    auto with_host = [&](std::string_view host) {
        client c(s.port());
        if (!c.ok()) return std::string("no connection");
        c.send("GET / HTTP/1.1\r\nHost: " + std::string(host) + "\r\nConnection: close\r\n\r\n");
        return c.read_response().substr(0, 3);
    };
    CHECK(with_host("rebound.example") == "421");
    CHECK(with_host("rebound.example:" + std::to_string(s.port())) == "421");
    CHECK(with_host("tool.example") == "200");
    CHECK(with_host("127.0.0.1:" + std::to_string(s.port())) == "200");
    CHECK(with_host("app.localhost") == "200");
}

TEST_CASE(
    "a unix: address is refused at start on Windows; the command line refuses it and the socket flags, and --help offers neither") {
    server_options o = loopback();
    o.address = "unix:C:\\porthole-test.sock";
    server s(hello_app, o);
    CHECK_THROWS_AS(s.start(), std::system_error);
    CHECK(s.port() == 0);

    char const* unix_address[] = {"hello", "--address", "unix:/tmp/x.sock"};
    auto cl = server_options::from_command_line(3, unix_address);
    CHECK(cl.result == command_line::outcome::invalid);
    CHECK(cl.message.find("Unix sockets are not supported on Windows") != std::string::npos);
    char const* mode[] = {"hello", "--socket-mode", "600"};
    CHECK(server_options::from_command_line(3, mode).result == command_line::outcome::invalid);
    char const* group[] = {"hello", "--socket-group=staff"};  // the = form too
    CHECK(server_options::from_command_line(2, group).result == command_line::outcome::invalid);
    char const* bare[] = {"hello", "--socket-mode"};  // without its value: still the Windows reason
    auto no_value = server_options::from_command_line(2, bare);
    CHECK(no_value.result == command_line::outcome::invalid);
    CHECK(no_value.message.find("not supported on Windows") != std::string::npos);
    char const* help[] = {"hello", "--help"};  // --help offers none of it
    auto usage = server_options::from_command_line(2, help);
    CHECK(usage.result == command_line::outcome::help);
    CHECK(usage.message.find("--port N") != std::string::npos);
    CHECK(usage.message.find("unix:") == std::string::npos);
    CHECK(usage.message.find("--socket-") == std::string::npos);

    server_options both = loopback();  // several TCP addresses still work
    both.extra_addresses = {"127.0.0.1:0"};
    server two(hello_app, both);
    two.start();
    REQUIRE(two.locations().size() == 2);
    CHECK(get(two.port(), "/") == "200|Hello, World!");
}

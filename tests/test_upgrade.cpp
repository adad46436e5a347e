// A protocol that takes a connection over after 101 Switching Protocols (upgrade.hpp): a handler
// leaves one in the request's exchange and returns the 101; the connection writes the 101, then
// hands every byte in and out to it, and tells it of the server stopping and of its own end.
// WebSocket is the shipped one (test_websocket*.cpp); here, a toy that echoes in upper case.
#include <porthole/testing.hpp>
#include <porthole/upgrade.hpp>

#include <doctest/doctest.h>

#include <cctype>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

using namespace porthole;
using porthole::detail::upgraded_protocol;

namespace {

// What the connection did to the protocol; outlives it.
struct record {
    bool started = false, draining_at_start = false, drained = false, ended = false, eof = false;
    int timeouts = 0;
    std::string fed;
    std::size_t written = 0;
};

// Echoes what it is fed in upper case; "bye" closes it.
class shouting_echo final : public upgraded_protocol {
public:
    explicit shouting_echo(record& r) : r_(r) {}
    void start(bool draining) override {
        r_.started = true;
        r_.draining_at_start = draining;
    }
    std::span<char> read_buffer() override {
        buffer_.resize(4096);
        return buffer_;
    }
    void commit(std::size_t n) override { feed(std::span<char>(buffer_.data(), n)); }
    void feed(std::span<char> bytes) override {
        r_.fed.append(bytes.data(), bytes.size());
        for (char c : bytes) out_ += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        if (r_.fed.ends_with("bye")) closed_ = true;
    }
    void read_eof() noexcept override {
        r_.eof = true;
        closed_ = true;
    }
    std::span<std::string_view const> pending_output() override {
        if (out_.empty()) return {};
        view_ = out_;
        return {&view_, 1};
    }
    void written(std::size_t n) override {
        out_.erase(0, n);
        r_.written += n;
    }
    bool has_output() const noexcept override { return !out_.empty(); }
    bool wants_read() const noexcept override { return !closed_; }
    state phase() const noexcept override { return closed_ ? state::closed : state::open; }
    void timeout() override { ++r_.timeouts; }
    void drain() noexcept override { r_.drained = true; }
    void shrink() override { buffer_ = std::string(); }
    void on_notify() override {}
    void end() noexcept override { r_.ended = true; }

private:
    record& r_;
    std::string buffer_, out_;
    std::string_view view_;
    bool closed_ = false;
};

// Answers /shout with a 101 and the protocol; `status_to_send` lets a case get the answer wrong.
struct upgrading_app {
    record* r;
    status status_to_send = status::switching_protocols;
    std::string_view connection_field{};  // the application's own Connection field, if any
    response operator()(request const& req) {
        if (req.path() != "/shout") return response::text("plain");
        detail::exchange_of(req)->upgrade = std::make_unique<shouting_echo>(*r);
        response res(status_to_send);
        res.set_header("Upgrade", "shout");
        if (!connection_field.empty()) res.set_header("Connection", connection_field);
        return res;
    }
};

constexpr std::string_view upgrade_request =
    "GET /shout HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: shout\r\n\r\n";

}  // namespace

TEST_CASE("the 101 goes out with Connection: Upgrade, then every byte in and out is the protocol's") {
    record r;
    upgrading_app app{&r};
    {
        testing::client c(app);
        // Bytes right behind the request, in the same read, are the new protocol's already.
        c.send(std::string(upgrade_request) + "hello");
        CHECK(r.started);
        CHECK_FALSE(r.draining_at_start);
        auto head_end = c.output().find("\r\n\r\n");
        REQUIRE(head_end != std::string::npos);
        auto head = c.output().substr(0, head_end + 4);
        CHECK(head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
        CHECK(head.find("\r\nConnection: Upgrade\r\n") != std::string::npos);
        CHECK(head.find("Connection:") == head.rfind("Connection:"));  // once
        CHECK(head.find("\r\nUpgrade: shout\r\n") != std::string::npos);
        CHECK(c.output().substr(head_end + 4) == "HELLO");
        // What looks like HTTP is not parsed as HTTP any more.
        c.send("GET /shout HTTP/1.1\r\n\r\n");
        CHECK(c.output().ends_with("HELLOGET /SHOUT HTTP/1.1\r\n\r\n"));
        CHECK(r.fed == "helloGET /shout HTTP/1.1\r\n\r\n");
        CHECK(r.written == r.fed.size());
        c.time_out();  // the protocol's own timers
        CHECK(r.timeouts == 1);
        CHECK_FALSE(c.closed());
        c.send("bye");
        CHECK(c.closed());  // closed once its output has gone
        CHECK_FALSE(r.ended);
    }
    CHECK(r.ended);  // the connection's end is the protocol's last word
}

TEST_CASE("an upgrade pipelined behind a body cut short never starts: nothing follows the cut") {
    record r;
    upgrading_app inner{&r};
    auto app = [&inner](request const& req) -> response {
        if (req.path() == "/shout") return inner(req);
        int n = 0;
        return response::stream([n]() mutable -> std::optional<std::string> {
            if (n++ == 2) throw std::runtime_error("disk gone");
            return "piece" + std::to_string(n);
        });
    };
    connection_config cfg;
    cfg.error_log = [](std::string_view) {};
    {
        testing::client c(app, cfg);
        c.send("GET /fails HTTP/1.1\r\nHost: t\r\n\r\n" + std::string(upgrade_request) + "hello");
        CHECK(c.output().ends_with("piece2\r\n"));
        CHECK(c.output().find("HELLO") == std::string::npos);
        CHECK(c.output().find("101") == std::string::npos);
        CHECK(c.conn().phase() == connection_phase::closed);
        CHECK(c.closed());
    }
    CHECK(r.ended);  // told, as any protocol the connection lets go of
}

TEST_CASE("a 101 lists Upgrade in Connection whatever the application's own field says") {
    // field the application sets -> the Connection field lines of the 101
    for (auto const& field_and_want :
         {std::pair<std::string_view, std::string_view>{"keep-alive, Upgrade", "Connection: Upgrade\r\n"},
          {"keep-alive", "Connection: Upgrade\r\n"},
          {"X-Hop", "Connection: X-Hop\r\nConnection: Upgrade\r\n"},
          {"upgrade, X-Hop", "Connection: upgrade,X-Hop\r\n"}}) {
        std::string_view field = field_and_want.first,
                         want = field_and_want.second;  // clang 14: no bindings in CAPTURE
        CAPTURE(field);
        record r;
        upgrading_app app{&r, status::switching_protocols, field};
        testing::client c(app);
        c.send(upgrade_request);
        REQUIRE(r.started);
        auto head = c.output().substr(0, c.output().find("\r\n\r\n") + 2);
        std::string lines;
        for (std::size_t at = head.find("Connection:"); at != std::string::npos; at = head.find("Connection:", at + 1))
            lines += head.substr(at, head.find("\r\n", at) + 2 - at);
        CHECK(lines == want);
    }
}

TEST_CASE("the peer's end of input and the server stopping reach the protocol") {
    record r;
    upgrading_app app{&r};
    testing::client c(app);
    c.send(upgrade_request);
    REQUIRE(r.started);
    c.stop();
    CHECK(r.drained);
    CHECK_FALSE(c.closed());  // the protocol decides when it is done
    c.close_input();
    CHECK(r.eof);
    CHECK(c.closed());
}

TEST_CASE("an upgrade left with anything but a 101, or on HTTP/1.0, is a 500 and the protocol never starts") {
    record r;
    upgrading_app wrong{&r, status::ok};
    std::string logged;
    connection_config cfg;
    cfg.error_log = [&](std::string_view m) { logged = m; };
    auto res = testing::send(wrong, {method::get, "/shout", {}, {}}, cfg);
    CHECK(res.status == 500);
    CHECK(logged.find("without a 101") != std::string::npos);
    CHECK_FALSE(r.started);
    CHECK(r.ended);  // told it never starts

    upgrading_app app{&r};
    testing::client old(app, cfg);
    old.send("GET /shout HTTP/1.0\r\n\r\n");
    auto rs = old.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 500);
    CHECK_FALSE(r.started);
    CHECK(r.ended);
    // The application still answers other requests as before.
    CHECK(testing::get(app, "/").body == "plain");
}

TEST_CASE("a 4xx or 5xx in the 101's place is a refusal: it goes out as it is, and the protocol never starts") {
    // As a layer's after() makes it when it refuses the upgrade: its answer, not a 500.
    for (auto refusal : {status::forbidden, status::service_unavailable}) {
        record r;
        upgrading_app refusing{&r, refusal};
        std::string logged;
        connection_config cfg;
        cfg.error_log = [&](std::string_view m) { logged += m; };
        testing::client c(refusing, cfg);
        c.send(std::string(upgrade_request) + "hello");
        auto rs = c.responses();
        REQUIRE(rs.size() == 1);
        CHECK(rs[0].status == to_int(refusal));
        CHECK(logged.empty());
        CHECK_FALSE(r.started);
        CHECK(r.ended);  // told it never starts
        CHECK(c.output().find("HELLO") == std::string::npos);
    }
    // A refusal that cannot be sent is what any such answer is: a logged 500.
    record r;
    upgrading_app unsendable{&r, status::forbidden, "Upgrade\r\nX-Injected: yes"};
    std::string logged;
    connection_config cfg;
    cfg.error_log = [&](std::string_view m) { logged += m; };
    testing::client c(unsendable, cfg);
    c.send(upgrade_request);
    REQUIRE(c.responses().size() == 1);
    CHECK(c.responses()[0].status == 500);
    CHECK(c.output().find("X-Injected") == std::string::npos);
    CHECK(logged.find("invalid header field Connection") != std::string::npos);
    CHECK(r.ended);
}

TEST_CASE("a 101 with a field refused, or with no upgrade under way, is a 500 and nothing is switched") {
    std::string logged;
    connection_config cfg;
    cfg.error_log = [&](std::string_view m) { logged += m; };
    record r;
    upgrading_app split{&r, status::switching_protocols, "Upgrade\r\nX-Injected: yes"};
    testing::client c(split, cfg);
    c.send(std::string(upgrade_request) + "hello");
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 500);
    CHECK_FALSE(r.started);
    CHECK(r.ended);
    CHECK(c.output().find("X-Injected") == std::string::npos);
    CHECK(c.output().find("HELLO") == std::string::npos);
    CHECK(logged.find("invalid header field Connection") != std::string::npos);

    // A 101 from an application that started no upgrade would leave the client switched to
    // nothing, reading the next answer as the new protocol's.
    logged.clear();
    auto plain = [](request const&) { return response(status::switching_protocols).set_header("Upgrade", "shout"); };
    testing::client d(plain, cfg);
    d.send(std::string(upgrade_request) + "GET /next HTTP/1.1\r\nHost: t\r\n\r\n");
    auto ds = d.responses();
    REQUIRE(ds.size() == 2);
    CHECK(ds[0].status == 500);
    CHECK(ds[1].status == 500);
    CHECK(d.output().find("101") == std::string::npos);
    CHECK(logged.find("status 101 does not end the exchange") != std::string::npos);
}

// Metrics by route, the server's own counters, and their exposition with the published variables.
// Counters are process-wide: every case reads them before and after, and checks the difference.
#include <porthole/porthole.hpp>

#include "server/client.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

using namespace std::chrono_literals;
using porthole::request;
using porthole::response;
using porthole::status;

namespace {

porthole::metrics::snapshot::route find_route(porthole::metrics::snapshot const& s, std::string_view pattern,
                                              std::string_view method) {
    for (auto const& r : s.routes)
        if (r.pattern == pattern && r.method == method) return r;
    return {};
}

std::uint64_t requests(porthole::metrics::snapshot const& s, std::string_view pattern, std::string_view method,
                       unsigned status_class) {
    return find_route(s, pattern, method).classes[status_class - 1].requests;
}

auto make_app() {
    auto inner = porthole::router{porthole::get<"/items/{name}">([](std::string_view n) { return std::string(n); })};
    return porthole::router{
        porthole::get<"/users/{id:int}">([](std::int64_t id) { return std::to_string(id); }),
        porthole::post<"/users">(
            [](request const& r) { return response::text(std::string(r.body()), status::created); }),
        porthole::get<"/slow">([] {
            std::this_thread::sleep_for(3ms);
            return "slow";
        }),
        porthole::get<"/fail">([]() -> response { return status::service_unavailable; }),
        porthole::mount<"/api">(std::move(inner)),
        porthole::get<"/metrics">(porthole::prometheus_metrics()),
    };
}

// promtool's verdict on a text exposition: (exit status, what it printed).
std::pair<int, std::string> promtool_check(std::string const& text) {
    char name[] = "/tmp/porthole_metrics_XXXXXX";
    int fd = ::mkstemp(name);
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    ::close(fd);
    std::string cmd = std::string("promtool check metrics < ") + name + " 2>&1";
    std::FILE* p = ::popen(cmd.c_str(), "r");
    REQUIRE(p);
    std::string out;
    char buf[512];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    int st = ::pclose(p);
    ::unlink(name);
    return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

}  // namespace

TEST_CASE("requests are counted by route pattern, method and status class") {
    auto app = make_app();  // mounts /metrics: recording is on
    REQUIRE(porthole::metrics::enabled());
    auto before = porthole::metrics::collect();
    porthole::testing::client c(app);
    c.send("GET /users/1 HTTP/1.1\r\nHost: t\r\n\r\nGET /users/22 HTTP/1.1\r\nHost: t\r\n\r\n");
    c.send("GET /users/x HTTP/1.1\r\nHost: t\r\n\r\n");  // no route: 404
    c.send("POST /users HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
    c.send("DELETE /users HTTP/1.1\r\nHost: t\r\n\r\n");  // 405, answered by the router
    c.send("GET /api/items/%41b HTTP/1.1\r\nHost: t\r\n\r\n");
    c.send("GET /fail HTTP/1.1\r\nHost: t\r\n\r\n");
    auto rs = c.responses();
    REQUIRE(rs.size() == 7);
    CHECK(rs[5].body == "Ab");
    auto after = porthole::metrics::collect();
    CHECK(requests(after, "/users/{id:int}", "GET", 2) - requests(before, "/users/{id:int}", "GET", 2) == 2);
    CHECK(requests(after, "(none)", "GET", 4) - requests(before, "(none)", "GET", 4) == 1);
    CHECK(requests(after, "/users", "POST", 2) - requests(before, "/users", "POST", 2) == 1);
    CHECK(requests(after, "(none)", "DELETE", 4) - requests(before, "(none)", "DELETE", 4) == 1);
    CHECK(requests(after, "/api/items/{name}", "GET", 2) - requests(before, "/api/items/{name}", "GET", 2) == 1);
    CHECK(requests(after, "/fail", "GET", 5) - requests(before, "/fail", "GET", 5) == 1);
    // Bytes: the POST's head and body in, its whole response out.
    auto post = find_route(after, "/users", "POST").classes[1];
    auto post0 = find_route(before, "/users", "POST").classes[1];
    std::string post_request = "POST /users HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc";
    CHECK(post.bytes_in - post0.bytes_in == post_request.size());
    auto out = c.output();
    auto at = out.find("HTTP/1.1 201");
    auto end = out.find("HTTP/1.1", at + 1);
    CHECK(post.bytes_out - post0.bytes_out == end - at);
    CHECK(find_route(after, "/users/{id:int}", "GET").in_flight == 0);
}

TEST_CASE("latency lands in its bucket") {
    auto app = make_app();
    auto before = find_route(porthole::metrics::collect(), "/slow", "GET").classes[1];
    porthole::testing::get(app, "/slow");
    auto after = find_route(porthole::metrics::collect(), "/slow", "GET").classes[1];
    auto const& bounds = porthole::metrics::latency_buckets;
    REQUIRE(after.requests - before.requests == 1);
    double seconds = static_cast<double>(after.nanoseconds - before.nanoseconds) / 1e9;
    CHECK(seconds >= 0.003);
    for (std::size_t b = 0; b < after.latency.size(); ++b) {
        bool here = (b == 0 || seconds > bounds[b - 1]) && (b == bounds.size() || seconds <= bounds[b]);
        CHECK(after.latency[b] - before.latency[b] == (here ? 1u : 0u));
    }
}

TEST_CASE("an answer that comes later is in flight until it comes") {
    porthole::metrics::enable();
    std::optional<porthole::responder> held;
    auto app = porthole::router{
        porthole::get<"/later/{n}">([&](std::string_view, porthole::responder r) { held.emplace(std::move(r)); })};
    porthole::testing::client c(app);
    auto before = porthole::metrics::collect();
    c.send("GET /later/1 HTTP/1.1\r\nHost: t\r\n\r\n");
    REQUIRE(held);
    CHECK(find_route(porthole::metrics::collect(), "/later/{n}", "GET").in_flight -
              find_route(before, "/later/{n}", "GET").in_flight ==
          1);
    std::this_thread::sleep_for(2ms);
    held->send(response::text("done"));
    c.step();
    REQUIRE(c.responses().size() == 1);
    auto after = porthole::metrics::collect();
    auto r = find_route(after, "/later/{n}", "GET");
    CHECK(r.in_flight == find_route(before, "/later/{n}", "GET").in_flight);
    CHECK(r.classes[1].requests - find_route(before, "/later/{n}", "GET").classes[1].requests == 1);
    CHECK(r.classes[1].nanoseconds - find_route(before, "/later/{n}", "GET").classes[1].nanoseconds >= 2000000u);

    // A client that leaves before the answer: no longer in flight, and no answer counted.
    held.reset();
    c.send("GET /later/2 HTTP/1.1\r\nHost: t\r\n\r\n");
    c.close_input();
    auto left = find_route(porthole::metrics::collect(), "/later/{n}", "GET");
    CHECK(left.in_flight == r.in_flight);
    CHECK(left.classes[1].requests == r.classes[1].requests);
}

namespace {
// A sink that counts what it is given and answers with the count.
struct counting_sink {
    std::shared_ptr<std::size_t> bytes;
    void data(std::string_view piece) { *bytes += piece.size(); }
    response end() { return response::text("got " + std::to_string(*bytes)); }
};
}  // namespace

TEST_CASE("a streamed body's request is counted as answer() counts one: status, bytes in and out, duration") {
    porthole::metrics::enable();
    auto app = porthole::router{
        porthole::post<"/up">(porthole::streamed_body({.max_size = 100},
                                                      [](request const& req) {
                                                          return porthole::take_body(
                                                              req, counting_sink{std::make_shared<std::size_t>()});
                                                      })),
        porthole::post<"/refuse">(porthole::streamed_body(
            {.max_size = 100}, [](request const&) { return response::text("no", status::forbidden); })),
    };
    auto before = porthole::metrics::collect();
    porthole::testing::client c(app);
    std::string head = "POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n";
    c.send(head + "hello");
    CHECK(find_route(porthole::metrics::collect(), "/up", "POST").in_flight -
              find_route(before, "/up", "POST").in_flight ==
          1);  // the sink answers at the end
    std::this_thread::sleep_for(2ms);
    c.send("world");
    c.send("POST /refuse HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
    auto rs = c.responses();
    REQUIRE(rs.size() == 2);
    CHECK(rs[0].body == "got 10");
    CHECK(rs[1].status == 403);
    auto after = porthole::metrics::collect();
    auto up = find_route(after, "/up", "POST"), up0 = find_route(before, "/up", "POST");
    CHECK(up.in_flight == up0.in_flight);
    CHECK(up.classes[1].requests - up0.classes[1].requests == 1);
    CHECK(up.classes[1].bytes_in - up0.classes[1].bytes_in == head.size() + 10);
    auto out = c.output();
    CHECK(up.classes[1].bytes_out - up0.classes[1].bytes_out == out.find("HTTP/1.1 403"));
    CHECK(up.classes[1].nanoseconds - up0.classes[1].nanoseconds >= 2000000u);
    CHECK(requests(after, "/refuse", "POST", 4) - requests(before, "/refuse", "POST", 4) == 1);
    // OPTIONS *, answered by the connection itself, counts under no route.
    auto asterisk = requests(after, "(none)", "OPTIONS", 2);
    porthole::testing::client options(app);
    options.send("OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n");
    REQUIRE(options.responses().size() == 1);
    CHECK(requests(porthole::metrics::collect(), "(none)", "OPTIONS", 2) == asterisk + 1);

    // A chunked body that turns out malformed: the request that took it is answered 400, and
    // counted so; a Content-Length past the route's limit is the route's 413 (its handler
    // answers it), not a parse error.
    auto count413 = [] {
        for (auto [code, n] : porthole::metrics::collect().parse_errors)
            if (code == 413) return n;
        return std::uint64_t{0};
    };
    auto too_large = count413();
    porthole::testing::client bad(app);
    bad.send("POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n");
    auto bad_rs = bad.responses();
    REQUIRE(bad_rs.size() == 1);
    CHECK(bad_rs[0].status == 400);
    auto failed = find_route(porthole::metrics::collect(), "/up", "POST");
    CHECK(failed.classes[3].requests - up.classes[3].requests == 1);
    CHECK(failed.classes[3].bytes_out - up.classes[3].bytes_out == bad.output().size());
    CHECK(failed.in_flight == up0.in_flight);
    porthole::testing::client big(app);
    big.send("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 101\r\n\r\n");
    REQUIRE(big.responses().size() == 1);
    CHECK(big.responses()[0].status == 413);
    CHECK(count413() == too_large);
    auto refused = find_route(porthole::metrics::collect(), "/up", "POST");
    CHECK(refused.classes[3].requests - failed.classes[3].requests == 1);
    CHECK(refused.in_flight == up0.in_flight);
}

TEST_CASE("parse errors are counted by status") {
    porthole::metrics::enable();
    auto app = [](request const&) { return "x"; };
    auto count = [](unsigned code) {
        for (auto [c, n] : porthole::metrics::collect().parse_errors)
            if (c == code) return n;
        return std::uint64_t{0};
    };
    auto bad = count(400), too_long = count(414), not_impl = count(505);
    porthole::testing::client(app).send("GARBAGE\r\n\r\n");
    porthole::testing::client(app).send("GET /" + std::string(20000, 'a') + " HTTP/1.1\r\nHost: t\r\n\r\n");
    porthole::testing::client(app).send("GET / HTTP/2.0\r\nHost: t\r\n\r\n");
    CHECK(count(400) == bad + 1);
    CHECK(count(414) == too_long + 1);
    CHECK(count(505) == not_impl + 1);

    // A body over the limit: a parse error for an application that cannot answer it, the
    // route's 413 (or the router's 404) for a router, which does.
    porthole::connection_config small;
    small.limits.max_body = 4;
    std::string const too_big = "POST /in HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n";
    auto too_large = count(413);
    porthole::testing::client(app, small).send(too_big);
    CHECK(count(413) == too_large + 1);
    auto routed = porthole::router{porthole::post<"/in">([](request const&) { return "in"; })};
    auto before = porthole::metrics::collect();
    porthole::testing::client(routed, small).send(too_big);
    porthole::testing::client(routed, small).send("PUT /elsewhere HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n");
    auto after = porthole::metrics::collect();
    CHECK(count(413) == too_large + 1);
    CHECK(requests(after, "/in", "POST", 4) - requests(before, "/in", "POST", 4) == 1);
    CHECK(requests(after, "(none)", "PUT", 4) - requests(before, "(none)", "PUT", 4) == 1);
}

TEST_CASE("the Prometheus text passes promtool, with histograms, escaped labels and published variables") {
    auto app = make_app();
    auto weird = porthole::expvar::publish_counter("odd \"name\"\nhere");
    weird.add(3);
    porthole::testing::get(app, "/users/5");
    porthole::testing::get(app, "/slow");
    auto res = porthole::testing::get(app, "/metrics");
    REQUIRE(res.status == 200);
    CHECK(res.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
    auto const& t = res.body;
    CHECK(t.find("# TYPE porthole_http_request_duration_seconds histogram\n") != std::string::npos);
    CHECK(t.find("porthole_http_request_duration_seconds_bucket{route=\"/slow\",method=\"GET\",status_class=\"2xx\","
                 "le=\"+Inf\"}") != std::string::npos);
    CHECK(t.find("porthole_http_request_duration_seconds_bucket{route=\"/slow\",method=\"GET\",status_class=\"2xx\","
                 "le=\"0.0001\"} 0\n") != std::string::npos);
    CHECK(t.find("porthole_http_requests_total{route=\"/users/{id:int}\",method=\"GET\",status_class=\"2xx\"}") !=
          std::string::npos);
    CHECK(t.find("odd__name__here_total 3\n") != std::string::npos);
    std::string escaped;
    porthole::detail::append_label_value(escaped, "a\"b\\c\nd");
    CHECK(escaped == "\"a\\\"b\\\\c\\nd\"");
    auto verdict = promtool_check(t);
    INFO(verdict.second);
    CHECK(verdict.first == 0);
}

TEST_CASE("published numbers keep one name each in /metrics: a collision is refused at publishing") {
    auto first = porthole::expvar::publish_gauge("collide.x.y");
    CHECK_THROWS_AS(porthole::expvar::publish_gauge("collide.x_y"), std::invalid_argument);  // both collide_x_y
    auto jobs = porthole::expvar::publish_counter("collide_jobs");                           // collide_jobs_total
    CHECK_THROWS_AS(porthole::expvar::publish_gauge("collide_jobs_total"), std::invalid_argument);
    CHECK_THROWS_AS(porthole::expvar::publish_counter("collide_jobs_total"), std::invalid_argument);
    CHECK_THROWS_AS(porthole::expvar::publish("collide x.y", [] { return 1; }), std::invalid_argument);
    CHECK_THROWS_AS(porthole::expvar::publish_gauge("porthole_connections_open"), std::invalid_argument);
    CHECK_THROWS_AS(porthole::expvar::publish_counter("porthole.anything"), std::invalid_argument);
    (void)porthole::expvar::publish_text("collide.x_y.text");  // text is not in /metrics: no collision
    (void)porthole::expvar::publish_text("collide_x_y");
    CHECK(porthole::expvar::publish_gauge("collide.x.y").value() == first.value());  // the same name again is fine
    first.set(2);
    jobs.add();
    porthole::prometheus_metrics exposition;
    auto t = porthole::testing::get(exposition, "/metrics").body;
    auto count = [&](std::string_view family) {
        std::size_t n = 0;
        for (auto at = t.find(family); at != std::string::npos; at = t.find(family, at + 1)) ++n;
        return n;
    };
    CHECK(count("# TYPE collide_x_y gauge\n") == 1);
    CHECK(count("# TYPE collide_jobs_total counter\n") == 1);
    auto verdict = promtool_check(t);
    INFO(verdict.second);
    CHECK(verdict.first == 0);
}

TEST_CASE("/debug/vars: JSON for programs, an HTML table for browsers") {
    porthole::expvar::publish_text("test.<b>markup</b>").set("<script>x</script>");
    auto app = porthole::router{porthole::get<"/debug/vars">(porthole::debug_vars())};
    auto json = porthole::testing::get(app, "/debug/vars");
    CHECK(json.header("Content-Type") == "application/json");
    CHECK(json.body.find(R"("test.\u003cb>markup\u003c/b>":"\u003cscript>x\u003c/script>")") != std::string::npos);
    CHECK(json.body.find("\"porthole\":{\"routes\":[") != std::string::npos);
    CHECK(json.body.back() == '}');
    auto page = porthole::testing::send(
        app, {porthole::method::get, "/debug/vars", {{"Accept", "text/html,application/xhtml+xml,*/*;q=0.8"}}, {}});
    CHECK(page.header("Content-Type") == "text/html; charset=utf-8");
    CHECK(
        page.body.find("<td>test.&lt;b&gt;markup&lt;/b&gt;</td><td>text</td><td>&lt;script&gt;x&lt;/script&gt;</td>") !=
        std::string::npos);
    CHECK(page.body.find("data-events-url=\"\"") != std::string::npos);
    CHECK(page.body.find("<script src=\"?format=script\" defer></script>") != std::string::npos);
    CHECK(page.body.find("<script>") == std::string::npos);  // nothing inline: a CSP of 'self' holds
    CHECK(page.body.find("<style>") == std::string::npos);
    auto script = porthole::testing::get(app, "/debug/vars?format=script");
    CHECK(script.header("Content-Type") == "text/javascript; charset=utf-8");
    CHECK(script.body.find("new EventSource(eventsUrl)") != std::string::npos);
    CHECK(script.body.find("'?format=events'") != std::string::npos);
    CHECK(porthole::testing::get(app, "/debug/vars?format=style").header("Content-Type") == "text/css; charset=utf-8");
    CHECK(porthole::testing::get(app, "/debug/vars?format=html").body.starts_with("<!doctype html>"));
}

namespace {
std::size_t threads_of_this_process() {
    std::size_t n = 0;
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
        if (line.starts_with("Threads:")) n = std::stoul(line.substr(8));
    return n;
}
}  // namespace

TEST_CASE("/debug/vars pushes its JSON over server-sent events while a page is open, from the first subscriber on") {
    auto pushed = porthole::expvar::publish_counter("test.pushed");
    auto app = porthole::router{
        porthole::get<"/debug/vars">(porthole::debug_vars({.refresh_interval = 20ms, .events_url = {}}))};
    auto threads = threads_of_this_process();
    CHECK(porthole::testing::get(app, "/debug/vars").status == 200);
    CHECK(threads_of_this_process() == threads);  // nothing runs until a page subscribes

    for (std::string_view ask : {"GET /debug/vars?format=events HTTP/1.1\r\nHost: t\r\n\r\n",
                                 "GET /debug/vars HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n\r\n"}) {
        CAPTURE(ask);
        porthole::testing::client c(app);
        c.send(ask);
        auto before = pushed.value();
        std::string body;
        auto deadline = std::chrono::steady_clock::now() + 10s;
        std::size_t events = 0;
        while (events < 3 && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(5ms);
            c.step();
            auto rs = c.responses();
            REQUIRE(rs.size() == 1);
            CHECK(rs[0].status == 200);
            CHECK(rs[0].header("Content-Type") == "text/event-stream");
            body = rs[0].body;
            std::size_t n = 0;
            for (auto at = body.find("data: {"); at != std::string::npos; at = body.find("data: {", at + 1)) ++n;
            if (n > events) {
                events = n;
                pushed.add();  // the next event shows it
            }
        }
        REQUIRE(events >= 3);
        auto last = body.rfind("data: {");
        CHECK(body.find("\"porthole\":{\"routes\":[", last) != std::string::npos);
        auto field = "\"test.pushed\":" + std::to_string(before);
        CHECK(body.find(field) != std::string::npos);        // the state when it subscribed
        CHECK(body.find(field, last) == std::string::npos);  // and later, a newer one
    }
    CHECK(threads_of_this_process() >= threads + 1);  // the publisher (and the hub's heartbeat)
}

TEST_CASE("server counters: accepted, open, refused, timeouts, requests per connection, sendfile") {
    porthole::metrics::enable();
    char file_name[] = "/tmp/porthole_metrics_file_XXXXXX";
    int fd = ::mkstemp(file_name);
    REQUIRE(fd >= 0);
    std::string content(100000, 'f');
    REQUIRE(::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
    ::close(fd);
    std::string path = file_name;
    auto files = porthole::router{porthole::get<"/file">([&] { return *response::file(path); }),
                                  porthole::get<"/">([] { return "hi"; })};
    porthole::server_options o;
    o.port = 0;
    o.threads = 2;
    o.max_connections = 2;
    o.header_timeout = 200ms;
    auto before = porthole::metrics::collect();
    {
        porthole::server s(files, o);
        s.start();
        {
            test_client::connection a(s.port());
            for (std::string_view target : {"/", "/", "/file"}) {
                REQUIRE(a.get(target));
                auto r = a.read_reply();
                REQUIRE(r);
                CHECK(r->status == 200);
                if (target == "/file") CHECK(r->body.size() == content.size());
            }
            test_client::connection slow(s.port());
            slow.send("GET / HTTP/1.1\r\n");  // never finished: the header timeout closes it
            auto open = [&] { return porthole::metrics::collect().connections_open() - before.connections_open(); };
            for (int i = 0; i < 200 && open() != 2; ++i) std::this_thread::sleep_for(5ms);
            CHECK(open() == 2);
            test_client::connection third(s.port());  // beyond max_connections
            auto refused = third.read_reply();
            REQUIRE(refused);
            CHECK(refused->status == 503);
            std::this_thread::sleep_for(500ms);
        }
        s.stop();
    }
    ::unlink(file_name);
    auto after = porthole::metrics::collect();
    CHECK(after.connections_accepted - before.connections_accepted == 2);
    CHECK(after.connections_refused - before.connections_refused == 1);
    CHECK(after.connections_open() == before.connections_open());
    auto header = static_cast<std::size_t>(porthole::metrics::timeout_kind::header);
    CHECK(after.timeouts[header] - before.timeouts[header] == 1);
    CHECK(after.sendfile_bytes - before.sendfile_bytes == content.size());
    CHECK(after.requests_per_connection_sum - before.requests_per_connection_sum == 3);
    // One connection carried 3 requests (bucket le=4), the slow one none (le=1).
    CHECK(after.requests_per_connection[2] - before.requests_per_connection[2] == 1);
    CHECK(after.requests_per_connection[0] - before.requests_per_connection[0] == 1);
}

TEST_CASE("timeouts by kind: body, keep-alive, response, write, and a WebSocket peer only when it is closed") {
    porthole::metrics::enable();
    static std::string const large(64 << 20, 'z');  // more than the socket buffers hold
    std::mutex held_mutex;
    std::vector<porthole::responder> held;  // answered by nobody: the response timeout answers
    auto app = porthole::router{
        porthole::get<"/">([] { return "hi"; }),
        porthole::post<"/">([](request const&) { return "posted"; }),
        porthole::get<"/never">([&](request const& req) -> response {
            std::lock_guard lock(held_mutex);
            held.push_back(porthole::answer_later(req));
            return porthole::later;
        }),
        porthole::websocket<"/ws">(porthole::ws::handlers{}),
        porthole::get<"/large">([] { return response::static_text(large, "text/plain"); }),
    };
    porthole::server_options o;
    o.port = 0;
    o.threads = 1;
    o.write_timeout = 150ms;
    o.body_timeout = 150ms;
    o.keep_alive_timeout = 150ms;
    o.response_timeout = 150ms;
    o.websocket_ping_interval = 300ms;
    auto count = [](porthole::metrics::timeout_kind k) {
        return porthole::metrics::collect().timeouts[static_cast<std::size_t>(k)];
    };
    using kind = porthole::metrics::timeout_kind;
    auto before = porthole::metrics::collect();
    porthole::server s(app, o);
    s.start();
    {
        test_client::connection body(s.port());  // a body that never arrives: 408
        body.send("POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\nab");
        auto r = body.read_reply();
        REQUIRE(r);
        CHECK(r->status == 408);
        CHECK(body.closed_by_peer());
    }
    {
        test_client::connection idle(s.port());  // one answer, then silence: the keep-alive timeout
        REQUIRE(idle.get("/"));
        REQUIRE(idle.read_reply());
        CHECK(idle.closed_by_peer());
    }
    {
        test_client::connection never(s.port());  // an answer that never comes: 503
        REQUIRE(never.get("/never"));
        auto r = never.read_reply();
        REQUIRE(r);
        CHECK(r->status == 503);
    }
    {
        test_client::connection unread(s.port());  // asks for 64 MiB and reads none of it
        REQUIRE(unread.send("GET /large HTTP/1.1\r\nHost: localhost\r\n\r\n"));
        CHECK(test_client::wait_until(
            [&] { return count(kind::write) > before.timeouts[static_cast<std::size_t>(kind::write)]; }, 5000ms));
    }
    auto mid = porthole::metrics::collect();
    CHECK(mid.timeouts[static_cast<std::size_t>(kind::write)] -
              before.timeouts[static_cast<std::size_t>(kind::write)] ==
          1);
    CHECK(mid.timeouts[static_cast<std::size_t>(kind::body)] - before.timeouts[static_cast<std::size_t>(kind::body)] ==
          1);
    CHECK(mid.timeouts[static_cast<std::size_t>(kind::keep_alive)] -
              before.timeouts[static_cast<std::size_t>(kind::keep_alive)] ==
          1);
    CHECK(mid.timeouts[static_cast<std::size_t>(kind::response)] -
              before.timeouts[static_cast<std::size_t>(kind::response)] ==
          1);
    {
        test_client::connection ws(s.port());
        ws.send(
            "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
        auto head =
            ws.read_raw_until([](std::string_view in) { return in.find("\r\n\r\n") != std::string_view::npos; });
        REQUIRE(head.substr(0, 12) == "HTTP/1.1 101");
        auto idle_before = count(kind::keep_alive), ws_before = count(kind::websocket);
        // The ping interval passes: a ping (0x89), which is no timeout of any kind.
        auto got = ws.read_raw_until([](std::string_view in) { return in.find('\x89') != std::string_view::npos; });
        REQUIRE(got.find('\x89') != std::string::npos);
        CHECK(count(kind::keep_alive) == idle_before);
        CHECK(count(kind::websocket) == ws_before);
        // It goes unanswered for another interval: the connection is closed, and counted.
        CHECK(ws.closed_by_peer());
        CHECK(test_client::wait_until([&] { return count(kind::websocket) == ws_before + 1; }, 2000ms));
        CHECK(count(kind::keep_alive) == idle_before);
    }
    s.stop();
}

TEST_CASE("the endpoints are ordinary applications: porthole's own layers decide who sees them") {
    auto app = porthole::router{
        porthole::get<"/metrics">(porthole::layers{porthole::bearer_auth(
            "metrics", [](std::string_view token) { return token == "secret"; })}(porthole::prometheus_metrics())),
        porthole::get<"/debug/vars">(
            porthole::layers{porthole::basic_auth("status", "admin", "pw")}(porthole::debug_vars())),
    };
    auto refused = porthole::testing::get(app, "/metrics");
    CHECK(refused.status == 401);
    CHECK(refused.header("WWW-Authenticate") == "Bearer realm=\"metrics\"");
    CHECK(refused.body.find("porthole_") == std::string::npos);
    auto wrong =
        porthole::testing::send(app, {porthole::method::get, "/metrics", {{"Authorization", "Bearer nope"}}, {}});
    CHECK(wrong.status == 401);
    auto ok =
        porthole::testing::send(app, {porthole::method::get, "/metrics", {{"Authorization", "Bearer secret"}}, {}});
    CHECK(ok.status == 200);
    CHECK(ok.body.find("porthole_http_requests_total{route=\"/metrics\",method=\"GET\",status_class=\"4xx\"} ") !=
          std::string::npos);
    CHECK(porthole::testing::get(app, "/debug/vars").status == 401);
    auto vars = porthole::testing::send(app, {porthole::method::get,
                                              "/debug/vars",
                                              {{"Authorization", "Basic " + porthole::base64::encode("admin:pw")}},
                                              {}});
    CHECK(vars.status == 200);
    CHECK(vars.body.find("\"porthole\":{") != std::string::npos);
}

TEST_CASE("the worker pool's queue depth and rejections") {
    porthole::metrics::enable();
    auto before = porthole::metrics::collect();
    std::promise<void> release;
    auto gate = release.get_future().share();
    std::atomic<int> started{0};
    {
        porthole::worker_pool pool(1, 1);  // one thread, one job waiting at most
        std::function<void()> blocker = [&] {
            ++started;
            gate.wait();
        };
        REQUIRE(pool.try_submit(blocker));
        REQUIRE(test_client::wait_until([&] { return started == 1; }, 5000ms));
        std::function<void()> waiting = [&] { ++started; };
        REQUIRE(pool.try_submit(waiting));
        CHECK(porthole::metrics::collect().worker_queue_depth - before.worker_queue_depth == 1);
        std::function<void()> refused = [] {};
        CHECK(!pool.try_submit(refused));
        CHECK(porthole::metrics::collect().worker_rejections - before.worker_rejections == 1);
        release.set_value();
        CHECK(test_client::wait_until([&] { return started == 2; }, 5000ms));
    }
    CHECK(porthole::metrics::collect().worker_queue_depth == before.worker_queue_depth);
}

TEST_CASE("live streams count themselves while open; an event hub bumps the same gauges") {
    porthole::metrics::enable();
    std::vector<porthole::stream_writer> writers;
    auto app = [&](request const&) -> response {
        auto [res, writer] = porthole::push_stream("text/event-stream");
        writers.push_back(writer);
        return std::move(res);
    };
    auto live = [] { return porthole::metrics::collect().live_streams; };
    auto subscribers = [] { return porthole::metrics::collect().live_subscribers; };
    auto before = live();
    porthole::testing::client a(app), b(app);
    a.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    b.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK(live() - before == 2);
    writers[0].write("x");
    CHECK(writers[0].close());
    a.step();
    CHECK(live() - before == 1);  // ended by its writer
    b.close_input();
    CHECK(live() - before == 0);  // ended by its client leaving

    // A hub's hooks, from threads of its own.
    auto s0 = subscribers();
    std::thread hub([] {
        porthole::metrics::stream_opened();
        porthole::metrics::subscriber_added();
        porthole::metrics::subscriber_added();
    });
    hub.join();
    CHECK(live() - before == 1);
    CHECK(subscribers() - s0 == 2);
    std::thread([] {
        porthole::metrics::subscriber_removed();
        porthole::metrics::subscriber_removed();
        porthole::metrics::stream_closed();
    }).join();
    CHECK(live() - before == 0);
    CHECK(subscribers() - s0 == 0);
}

TEST_CASE("an event hub's subscribers are counted while subscribed") {
    porthole::metrics::enable();
    porthole::event_hub hub;
    auto app = [&](request const& req) { return hub.subscribe(req); };
    auto subscribers = [] { return porthole::metrics::collect().live_subscribers; };
    auto streams = [] { return porthole::metrics::collect().live_streams; };
    auto s0 = subscribers(), l0 = streams();
    {
        porthole::testing::client a(app);
        a.send("GET /events HTTP/1.1\r\nHost: t\r\n\r\n");
        CHECK(subscribers() - s0 == 1);
        CHECK(streams() - l0 == 1);
        a.close_input();
    }
    CHECK(subscribers() - s0 == 0);
    CHECK(streams() - l0 == 0);
}

TEST_CASE("a layer's early answer counts under the route the request was for") {
    porthole::metrics::enable();
    struct key_gate {
        std::optional<response> before(request const& req) const {
            if (!req.header("X-Key")) return response::text("who are you", status::unauthorized);
            return std::nullopt;
        }
    };
    auto inner = porthole::router{porthole::get<"/things/{id:int}">([](std::int64_t) { return "thing"; })};
    auto app = porthole::layers{key_gate{}}(porthole::router{
        porthole::get<"/notes/{id:int}">([](std::int64_t) { return "note"; }),
        porthole::mount<"/api">(porthole::layers{key_gate{}}(inner)),
    });
    auto before = porthole::metrics::collect();
    for (auto target : {"/notes/1", "/notes/x", "/notes/2"}) porthole::testing::get(app, target);
    porthole::testing::send(app, {porthole::method::get, "/api/things/3", {{"X-Key", "1"}}});
    auto after = porthole::metrics::collect();
    CHECK(requests(after, "/notes/{id:int}", "GET", 4) - requests(before, "/notes/{id:int}", "GET", 4) == 2);
    CHECK(requests(after, "(none)", "GET", 4) - requests(before, "(none)", "GET", 4) == 1);  // no route: /notes/x
    // Inside a mount, the inner layer's answer is the inner router's route under the prefix;
    // the outer layer's answer for a path under the mount, the mount's prefix.
    CHECK(requests(after, "/api/things/{id:int}", "GET", 2) - requests(before, "/api/things/{id:int}", "GET", 2) == 1);
    before = after;
    porthole::testing::get(app, "/api/things/4");  // the outer gate answers
    struct inner_only {
        std::optional<response> before(request const& req) const {
            if (req.header("X-Inner")) return response::text("no", status::forbidden);
            return std::nullopt;
        }
    };
    auto nested = porthole::router{porthole::mount<"/api">(porthole::layers{inner_only{}}(inner))};
    porthole::testing::send(nested, {porthole::method::get, "/api/things/5", {{"X-Inner", "1"}}});
    after = porthole::metrics::collect();
    CHECK(requests(after, "/api", "GET", 4) - requests(before, "/api", "GET", 4) == 1);
    CHECK(requests(after, "/api/things/{id:int}", "GET", 4) - requests(before, "/api/things/{id:int}", "GET", 4) == 1);
    CHECK(find_route(after, "/notes/{id:int}", "GET").in_flight == 0);
}

TEST_CASE("a layer's early answer counts under its route through layers nested in layers") {
    porthole::metrics::enable();
    struct gate {
        char const* field;
        std::optional<response> before(request const& req) const {
            if (req.header(field)) return response::text("no", status::forbidden);
            return std::nullopt;
        }
    };
    auto app = porthole::layers{gate{"X-Outer"}}(porthole::layers{gate{"X-Inner"}}(
        porthole::router{porthole::get<"/deep/{id:int}">([](std::int64_t) { return "deep"; })}));
    auto before = porthole::metrics::collect();
    porthole::testing::send(app, {porthole::method::get, "/deep/1", {{"X-Outer", "1"}}});
    porthole::testing::send(app, {porthole::method::get, "/deep/2", {{"X-Inner", "1"}}});
    porthole::testing::send(app, {porthole::method::get, "/deep/x", {{"X-Outer", "1"}}});
    auto after = porthole::metrics::collect();
    CHECK(requests(after, "/deep/{id:int}", "GET", 4) - requests(before, "/deep/{id:int}", "GET", 4) == 2);
    CHECK(requests(after, "(none)", "GET", 4) - requests(before, "(none)", "GET", 4) == 1);
}

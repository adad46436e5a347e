// The metrics and published variables shown (exposition.hpp): Prometheus' text format and the
// JSON of /debug/vars, written from snapshots made here, and the two applications' answers.
#include <porthole/detail/utf8.hpp>
#include <porthole/exposition.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

using namespace porthole;
using porthole::expvar::kind;
using porthole::expvar::reading;

namespace {

bool contains(std::string const& text, std::string_view part) { return text.find(part) != std::string::npos; }

// One route with three 2xx requests: one in the first latency bucket, one at 5 ms, one beyond 10 s.
metrics::snapshot one_route() {
    metrics::snapshot s;
    metrics::snapshot::route r;
    r.pattern = "/users/{id:int}";
    r.method = "GET";
    r.in_flight = 2;
    auto& ok = r.classes[1];
    ok.requests = 3;
    ok.nanoseconds = 12'500'000'000;
    ok.bytes_in = 300;
    ok.bytes_out = 4000;
    ok.latency[0] = 1;
    ok.latency[5] = 1;
    ok.latency[metrics::latency_buckets.size()] = 1;
    s.routes.push_back(r);
    s.connections_accepted = 7;
    s.connections_closed = 4;
    s.parse_errors = {{400, 2}, {431, 1}};
    return s;
}

// Request parts with an Accept field and a query, for the applications.
struct made_request {
    std::vector<header_field> fields;
    request::parts parts;
    made_request(std::string_view accept, std::string_view query = {}) {
        if (!accept.empty()) fields.push_back({"Accept", accept});
        parts.headers = fields;
        parts.query = query;
    }
    request get() const { return request(parts); }
};

}  // namespace

TEST_CASE("published numbers in the text format: counters as counters, the rest as gauges, text left out") {
    std::vector<reading> vars{
        {"jobs.done", kind::counter, 3, {}},
        {"queue", kind::gauge, 1.5, {}},
        {"computed", kind::number_function, std::numeric_limits<double>::infinity(), {}},
        {"version", kind::text, 0, "1.2.3"},
        {"not_a_number", kind::gauge, std::numeric_limits<double>::quiet_NaN(), {}},
    };
    std::string out;
    metrics::write_prometheus(out, metrics::snapshot{}, vars);
    CHECK(contains(out,
                   "# HELP jobs_done_total Published variable jobs.done.\n# TYPE jobs_done_total counter\n"
                   "jobs_done_total 3\n"));
    CHECK(contains(out, "# TYPE queue gauge\nqueue 1.5\n"));
    CHECK(contains(out, "# TYPE computed gauge\ncomputed +Inf\n"));
    CHECK(contains(out, "\nnot_a_number NaN\n"));
    CHECK_FALSE(contains(out, "version"));
    CHECK(out.ends_with("\n"));
}

TEST_CASE("a route's histogram in the text format: cumulative buckets with bounds as written, sum and count") {
    std::string out;
    metrics::write_prometheus(out, one_route(), {});
    std::string const set = "route=\"/users/{id:int}\",method=\"GET\",status_class=\"2xx\"";
    auto bucket = [&](std::string_view le, int n) {
        return "porthole_http_request_duration_seconds_bucket{" + set + ",le=\"" + std::string(le) + "\"} " +
               std::to_string(n) + "\n";
    };
    CHECK(contains(out, bucket("0.0001", 1)));
    CHECK(contains(out, bucket("0.00025", 1)));
    CHECK(contains(out, bucket("0.0025", 1)));
    CHECK(contains(out, bucket("0.005", 2)));
    CHECK(contains(out, bucket("10", 2)));
    CHECK(contains(out, bucket("+Inf", 3)));
    CHECK(contains(out, "porthole_http_request_duration_seconds_sum{" + set + "} 12.5\n"));
    CHECK(contains(out, "porthole_http_request_duration_seconds_count{" + set + "} 3\n"));
    CHECK(contains(out, "porthole_http_requests_total{" + set + "} 3\n"));
    CHECK(contains(out, "porthole_http_requests_in_flight{route=\"/users/{id:int}\",method=\"GET\"} 2\n"));
    CHECK(contains(out, "porthole_http_received_bytes_total{" + set + "} 300\n"));
    CHECK(contains(out, "porthole_http_sent_bytes_total{" + set + "} 4000\n"));
    CHECK_FALSE(contains(out, "status_class=\"4xx\""));  // classes without requests are left out

    // Read while requests go on, the counter and the buckets differ by the requests between the
    // two reads; the histogram's count is its +Inf bucket's, as the format requires.
    auto moving = one_route();
    moving.routes[0].classes[1].requests = 5;
    out.clear();
    metrics::write_prometheus(out, moving, {});
    CHECK(contains(out, bucket("+Inf", 3)));
    CHECK(contains(out, "porthole_http_request_duration_seconds_count{" + set + "} 3\n"));
    CHECK(contains(out, "porthole_http_requests_total{" + set + "} 5\n"));
}

TEST_CASE("the text format escapes label values and HELP text") {
    std::string label;
    detail::append_label_value(label, "a\"b\\c\nd\te");
    CHECK(label == "\"a\\\"b\\\\c\\nd\te\"");  // a tab stays as it is
    std::string out;
    detail::prometheus_writer(out).family("x", "gauge", "back\\slash\nnew \"line\"");
    CHECK(out == "# HELP x back\\\\slash\\nnew \"line\"\n# TYPE x gauge\n");
    CHECK(detail::bound_text(0.0001) == "0.0001");
    CHECK(detail::bound_text(2.5) == "2.5");
    CHECK(detail::bound_text(10) == "10");
}

// Prometheus refuses a whole scrape whose text holds one byte that is not UTF-8 (every metric
// lost, porthole's own too), and JSON readers refuse such a text: a name or a text that is not
// UTF-8 is written with U+FFFD in place of each ill-formed subpart, in either format.
TEST_CASE("names, label values and texts that are not UTF-8 are written with U+FFFD: both formats stay UTF-8") {
    std::vector<reading> vars{
        {"bad\xff\xfeutf8", kind::counter, 3, {}},
        {"caf\xc3\xa9", kind::gauge, 1, {}},
        {"agent", kind::text, 0, "curl\xc3"},
    };
    auto snapshot = one_route();
    snapshot.routes[0].pattern = "/r\xe2\x82";  // a route pattern cut inside a character
    std::string text;
    metrics::write_prometheus(text, snapshot, vars);
    CHECK(detail::valid_utf8(text));
    CHECK(contains(text, "# HELP bad__utf8_total Published variable bad\xef\xbf\xbd\xef\xbf\xbdutf8.\n"));
    CHECK(contains(text, "Published variable caf\xc3\xa9.\n"));  // UTF-8 kept as it is
    CHECK(contains(text, "route=\"/r\xef\xbf\xbd\""));
    std::string json;
    metrics::write_json(json, snapshot, vars);
    CHECK(detail::valid_utf8(json));
    CHECK(contains(json, "\"bad\xef\xbf\xbd\xef\xbf\xbdutf8\":3,"));
    CHECK(contains(json, "\"agent\":\"curl\xef\xbf\xbd\""));
    std::string label;
    detail::append_label_value(label, "\xc0\xaf\"");
    CHECK(label == "\"\xef\xbf\xbd\xef\xbf\xbd\\\"\"");
}

TEST_CASE("the JSON: variables first, numbers as numbers, non-finite as null, text as strings, then the metrics") {
    std::vector<reading> vars{
        {"count", kind::counter, 3, {}},
        {"ratio", kind::gauge, 0.25, {}},
        {"broken", kind::number_function, std::numeric_limits<double>::quiet_NaN(), {}},
        {"note", kind::text, 0, "say \"hi\"\n"},
    };
    std::string out;
    metrics::write_json(out, one_route(), vars);
    CHECK(
        out.starts_with("{\"count\":3,\"ratio\":0.25,\"broken\":null,\"note\":\"say \\\"hi\\\"\\n\","
                        "\"porthole\":{\"routes\":[{\"route\":\"/users/{id:int}\",\"method\":\"GET\",\"in_flight\":2,"
                        "\"by_status_class\":{\"2xx\":{\"requests\":3,\"seconds\":12.5,\"bytes_in\":300,"
                        "\"bytes_out\":4000}}}],\"connections\":{\"accepted\":7,\"open\":3,\"closed\":4,"));
    CHECK(contains(out, "\"parse_errors\":{\"400\":2,\"431\":1}"));
    CHECK(out.ends_with("}}"));
    // Braces and brackets balance (none appear inside the strings here).
    int depth = 0;
    for (char c : out) {
        depth += (c == '{' || c == '[') - (c == '}' || c == ']');
        if (depth < 0) FAIL("closed before opened");
    }
    CHECK(depth == 0);
}

TEST_CASE("/metrics answers the text format, not to be cached, with the published numbers") {
    auto jobs = expvar::publish_counter("exposition_test.jobs");
    jobs.add(5);
    prometheus_metrics app;
    CHECK(metrics::enabled());  // making one turns recording on
    auto res = app(request{});
    CHECK(res.status() == status::ok);
    CHECK(res.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
    CHECK(res.header("Cache-Control") == "no-store");
    CHECK(contains(std::string(res.body_view()), "\nexposition_test_jobs_total 5\n"));
}

TEST_CASE("/debug/vars: JSON unless the client prefers HTML; ?format= decides over Accept") {
    expvar::publish_text("exposition_test.text").set("<b>");
    debug_vars app;
    auto type_for = [&](std::string_view accept, std::string_view query = {}) {
        made_request r(accept, query);
        return std::string(app(r.get()).header("Content-Type").value_or(""));
    };
    CHECK(type_for("") == "application/json");
    CHECK(type_for("*/*") == "application/json");
    CHECK(type_for("text/html,application/xhtml+xml,*/*;q=0.8") == "text/html; charset=utf-8");
    CHECK(type_for("application/json, text/html") == "application/json");
    CHECK(type_for("text/html, application/json") == "text/html; charset=utf-8");
    CHECK(type_for("text/html", "format=json") == "application/json");
    CHECK(type_for("application/json", "format=html") == "text/html; charset=utf-8");
    CHECK(type_for("", "format=style") == "text/css; charset=utf-8");
    CHECK(type_for("", "format=script") == "text/javascript; charset=utf-8");
    made_request plain("");
    auto json = app(plain.get());
    CHECK(json.header("Cache-Control") == "no-store");
    auto body = std::string(json.body_view());
    CHECK(contains(body, "\"exposition_test.text\":\"\\u003cb>\""));  // JSON: '<' as \u003c, nothing else
}

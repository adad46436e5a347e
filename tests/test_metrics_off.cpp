// PORTHOLE_NO_METRICS: recording is compiled out; the endpoints still answer, with published
// variables and zero counts.
#define PORTHOLE_NO_METRICS 1
#include <porthole/porthole.hpp>

#include <doctest/doctest.h>

TEST_CASE("with PORTHOLE_NO_METRICS nothing is recorded, and the endpoints still answer") {
    static_assert(!porthole::metrics::compiled_in);
    auto app = porthole::router{porthole::get<"/a/{n}">([](std::string_view n) { return std::string(n); }),
                                porthole::get<"/metrics">(porthole::prometheus_metrics())};
    CHECK_FALSE(porthole::metrics::enabled());
    porthole::expvar::publish_counter("off.count").add(2);
    for (int i = 0; i < 3; ++i) CHECK(porthole::testing::get(app, "/a/x").status == 200);
    auto s = porthole::metrics::collect();
    CHECK(s.routes.empty());
    CHECK(s.threads == 0);
    auto text = porthole::testing::get(app, "/metrics").body;
    CHECK(text.find("off_count_total 2\n") != std::string::npos);
    CHECK(text.find("porthole_http_requests_total{") == std::string::npos);
}

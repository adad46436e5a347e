// Published variables (expvar.hpp): kinds, names and their refusals, reading from any thread.
// The registry is the process's: every case publishes names of its own.
#include <porthole/expvar.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

porthole::expvar::reading read(std::string_view name) {
    for (auto& r : porthole::expvar::read_all())
        if (r.name == name) return r;
    FAIL("missing " << name);
    return {};
}

}  // namespace

TEST_CASE("published variables: kinds, reading from any thread, the list") {
    auto c = porthole::expvar::publish_counter("test.count");
    auto g = porthole::expvar::publish_gauge("test.level");
    auto s = porthole::expvar::publish_text("test.words");
    porthole::expvar::publish("test.computed", [] { return 41 + 1; });
    porthole::expvar::publish("test.computed_text", [] { return std::string("tab\there"); });
    CHECK_THROWS_AS(porthole::expvar::publish_gauge("test.count"), std::invalid_argument);
    CHECK_THROWS_AS(porthole::expvar::publish_counter("porthole"), std::invalid_argument);
    CHECK(porthole::expvar::publish_counter("test.count").value() == c.value());  // the same variable
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i)
        threads.emplace_back([&] {
            for (int j = 0; j < 1000; ++j) {
                c.add();
                g.add(0.5);
                if (j % 100 == 0) s.set("at " + std::to_string(j));
                (void)porthole::expvar::read_all();
            }
        });
    for (auto& t : threads) t.join();
    CHECK(c.value() >= 4000);
    CHECK(g.value() == doctest::Approx(2000.0));
    auto all = porthole::expvar::read_all();
    auto find = [&](std::string_view n) {
        for (auto& r : all)
            if (r.name == n) return r;
        FAIL("missing " << n);
        return porthole::expvar::reading{};
    };
    CHECK(find("test.computed").number == 42);
    CHECK(find("test.computed_text").text == "tab\there");
    CHECK(find("test.words").text == "at 900");
    auto names = porthole::expvar::names();
    CHECK(std::is_sorted(names.begin(), names.end()));
}

TEST_CASE("a name must be non-empty text other than \"porthole\"") {
    CHECK_THROWS_WITH_AS(porthole::expvar::publish_counter(""), "porthole::expvar: a name cannot be empty",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(porthole::expvar::publish_text("porthole"),
                         "porthole::expvar: \"porthole\" is the server's own name", std::invalid_argument);
    (void)porthole::expvar::publish_counter("ev.kind");
    CHECK_THROWS_WITH_AS(porthole::expvar::publish_gauge("ev.kind"),
                         "porthole::expvar: \"ev.kind\" is published as another kind", std::invalid_argument);
}

TEST_CASE("a number's Prometheus name: other characters as '_', no leading digit, a counter's ending in _total") {
    using porthole::expvar::kind;
    using porthole::expvar::detail::prometheus_name;
    CHECK(prometheus_name("jobs.done", kind::gauge) == "jobs_done");
    CHECK(prometheus_name("jobs.done", kind::counter) == "jobs_done_total");
    CHECK(prometheus_name("jobs_total", kind::counter) == "jobs_total");  // not twice
    CHECK(prometheus_name("9lives", kind::gauge) == "_lives");
    CHECK(prometheus_name("a9:b-c d", kind::number_function) == "a9:b_c_d");
    CHECK(prometheus_name("caf\xc3\xa9", kind::gauge) == "caf__");  // each byte of UTF-8
    // The same rule decides what collides.
    (void)porthole::expvar::publish_gauge("ev.collide-a");
    CHECK_THROWS_WITH_AS(
        porthole::expvar::publish("ev.collide a", [] { return 1.0; }),
        "porthole::expvar: \"ev.collide a\" would be, as \"ev.collide-a\" is, ev_collide_a in /metrics",
        std::invalid_argument);
    (void)porthole::expvar::publish_counter("ev.collide.b");  // ev_collide_b_total
    CHECK_THROWS_AS(porthole::expvar::publish_gauge("ev.collide.b_total"), std::invalid_argument);
    (void)porthole::expvar::publish_text("ev.collide/c");  // text is not in /metrics: nothing to collide with
    (void)porthole::expvar::publish_gauge("ev.collide.c_total");
    CHECK_THROWS_AS(porthole::expvar::publish_counter("ev.collide!c"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(porthole::expvar::publish_counter("porthole_x"),
                         "porthole::expvar: \"porthole_x\" would be the server's own porthole_x_total in /metrics",
                         std::invalid_argument);
}

TEST_CASE("gauges go up and down; text is set whole; read_all says each variable's kind") {
    auto g = porthole::expvar::publish_gauge("ev.gauge");
    g.set(10);
    g.add(-12.5);
    CHECK(g.value() == doctest::Approx(-2.5));
    auto t = porthole::expvar::publish_text("ev.text");
    t.set("first");
    t.set("second");
    CHECK(t.value() == "second");
    auto c = porthole::expvar::publish_counter("ev.counter");
    c.add(5);
    c.add();
    porthole::expvar::publish("ev.fn_number", [] { return 7u; });
    porthole::expvar::publish("ev.fn_text", [] { return "words"; });  // anything convertible to std::string
    using porthole::expvar::kind;
    auto r = read("ev.gauge");
    CHECK(r.kind == kind::gauge);
    CHECK(r.is_number());
    CHECK(r.number == doctest::Approx(-2.5));
    r = read("ev.text");
    CHECK(r.kind == kind::text);
    CHECK_FALSE(r.is_number());
    CHECK(r.text == "second");
    r = read("ev.counter");
    CHECK(r.kind == kind::counter);
    CHECK(r.number == 6);
    r = read("ev.fn_number");
    CHECK(r.kind == kind::number_function);
    CHECK(r.number == 7);
    r = read("ev.fn_text");
    CHECK(r.kind == kind::text_function);
    CHECK(r.text == "words");
    auto names = porthole::expvar::names();
    for (auto n : {"ev.gauge", "ev.text", "ev.counter", "ev.fn_number", "ev.fn_text"})
        CHECK(std::count(names.begin(), names.end(), n) == 1);
}

TEST_CASE("a function published again keeps the first; one that throws reads as text \"error: ...\"") {
    porthole::expvar::publish("ev.first", [] { return 1; });
    porthole::expvar::publish("ev.first", [] { return 2; });
    CHECK(read("ev.first").number == 1);
    porthole::expvar::publish("ev.throws", []() -> double { throw std::runtime_error("no disk"); });
    auto r = read("ev.throws");
    CHECK(r.kind == porthole::expvar::kind::text);
    CHECK(r.text == "error: no disk");
    porthole::expvar::publish("ev.throws_other", []() -> std::string { throw 42; });
    CHECK(read("ev.throws_other").text == "error");
}

TEST_CASE("a function may publish while it is read: it runs outside the registry's lock") {
    porthole::expvar::publish("ev.publisher", [] {
        porthole::expvar::publish_counter("ev.published_while_read").add();
        return 0;
    });
    (void)porthole::expvar::read_all();
    CHECK(read("ev.published_while_read").number >= 1);
}

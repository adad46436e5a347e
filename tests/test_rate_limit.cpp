// The rate limit layer (rate_limit.hpp): a token bucket per client, driven here through take()
// with the test's own clock; 429 with Retry-After once a client's bucket is empty.
#include <porthole/rate_limit.hpp>
#include <porthole/testing.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace porthole;
using porthole::testing::simple_request;

TEST_CASE("rate_limit: a bucket of `burst` tokens refilled at `rate`, then 429 with Retry-After") {
    rate_limit limit({.rate = 2, .burst = 3});
    CHECK(limit.take("a", 100.0) == 0);
    CHECK(limit.take("a", 100.0) == 0);
    CHECK(limit.take("a", 100.0) == 0);
    CHECK(limit.take("a", 100.0) == doctest::Approx(0.5));  // empty: the next token in 1/rate s
    CHECK(limit.take("b", 100.0) == 0);                     // another client has its own bucket
    CHECK(limit.take("a", 100.5) == 0);                     // one token back after 0.5 s
    CHECK(limit.take("a", 100.5) > 0);
    CHECK(limit.take("a", 110.0) == 0);  // full again, never beyond burst
    CHECK(limit.take("a", 110.0) == 0);
    CHECK(limit.take("a", 110.0) == 0);
    CHECK(limit.take("a", 110.0) > 0);

    auto app = layers{rate_limit({.rate = 0.5, .burst = 2})}([](request const&) { return "ok"; });
    testing::client c(app);
    c.conn().set_peer("198.51.100.1:4000");
    c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n");
    auto rs = c.responses();
    REQUIRE(rs.size() == 3);
    CHECK(rs[0].status == 200);
    CHECK(rs[1].status == 200);
    CHECK(rs[2].status == 429);
    CHECK(rs[2].header("Retry-After") == "2");
    // Another port of the same address is the same client; another address is not.
    testing::client same(app);
    same.conn().set_peer("198.51.100.1:4001");
    CHECK(same.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n").responses()[0].status == 429);
    testing::client other(app);
    other.conn().set_peer("198.51.100.2:4000");
    CHECK(other.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n").responses()[0].status == 200);
}

TEST_CASE("rate_limit keys IPv6 clients by their /64 and takes a key function") {
    CHECK(detail::client_address("[2001:db8:1:2:3:4:5:6]:443") == "2001:db8:1:2::/64");
    CHECK(detail::client_address("[::1]:80") == "::/64");
    CHECK(detail::client_address("192.0.2.1:80") == "192.0.2.1");
    auto app = layers{rate_limit({.rate = 1, .burst = 1, .key = [](request const& r) {
                                      return std::string(r.header("X-User").value_or(""));
                                  }})}([](request const&) { return "ok"; });
    CHECK(testing::send(app, simple_request{method::get, "/", {{"X-User", "ann"}}, {}}).status == 200);
    CHECK(testing::send(app, simple_request{method::get, "/", {{"X-User", "ann"}}, {}}).status == 429);
    CHECK(testing::send(app, simple_request{method::get, "/", {{"X-User", "bob"}}, {}}).status == 200);
}

TEST_CASE("rate_limit forgets refilled clients first and never tracks more than max_clients") {
    rate_limit limit({.rate = 1, .burst = 5, .max_clients = 160});
    for (int i = 0; i < 5000; ++i) limit.take("flood-" + std::to_string(i), 0.0);
    CHECK(limit.clients() <= 160);
    // A busy client survives a flood of one-off clients that refill before it does.
    rate_limit keep({.rate = 1, .burst = 2, .max_clients = 16});
    for (int i = 0; i < 2; ++i) keep.take("busy", 0.0);
    CHECK(keep.take("busy", 0.0) > 0);
    for (int i = 0; i < 100; ++i) keep.take("once-" + std::to_string(i), 0.009 * i);
    CHECK(keep.take("busy", 0.9) > 0);  // still limited: it was not forgotten
}

TEST_CASE("rate_limit: newcomers that keep coming to a full table cost a sweep per sixteenth of a shard, not each") {
    // 1,024 clients per shard; 2,500 new clients a second, each bucket refilled 10 s after its
    // one request: the table stays full, and about one bucket frees for each newcomer.
    rate_limit limit({.rate = 0.1, .burst = 5, .max_clients = 16 * 1024});
    double t = 0;
    for (int i = 0; i < 30000; ++i, t += 0.0004) limit.take("warm-" + std::to_string(i), t);
    std::size_t const before = limit.sweeps();
    int passed = 0;
    for (int i = 0; i < 20000; ++i, t += 0.0004) passed += limit.take("new-" + std::to_string(i), t) == 0;
    CAPTURE(limit.sweeps() - before);
    CAPTURE(passed);
    // A sweep whenever the first bucket had refilled read the shard 924 times here: 1,024
    // buckets for each of them, about one newcomer let in for each.
    CHECK(limit.sweeps() - before <= 400);
    CHECK(limit.clients() == 16 * 1024);
    CHECK(passed > 10000);  // as many as the table frees: buckets that refilled are forgotten
}

TEST_CASE("rate_limit is safe from several threads, and copies share the buckets") {
    rate_limit limit({.rate = 1e-9, .burst = 1000});
    rate_limit copy = limit;
    std::atomic<int> allowed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 500; ++i) allowed += (t % 2 ? copy : limit).take("one", 5.0) == 0;
        });
    for (auto& t : threads) t.join();
    CHECK(allowed == 1000);
}

TEST_CASE("rate_limit refuses a rate that is not positive and a burst below one") {
    double const nan = std::numeric_limits<double>::quiet_NaN();
    for (auto bad : {rate_limit_options{.rate = 0}, rate_limit_options{.rate = -1}, rate_limit_options{.rate = nan},
                     rate_limit_options{.burst = 0.5}, rate_limit_options{.burst = nan}}) {
        CHECK_THROWS_WITH_AS(rate_limit{bad}, "porthole::rate_limit: rate > 0 and burst >= 1", std::invalid_argument);
    }
    CHECK_NOTHROW(rate_limit({.rate = 0.001, .burst = 1}));
}

TEST_CASE("tokens come back in fractions: the wait is what the next whole token needs") {
    rate_limit limit({.rate = 4, .burst = 1});
    CHECK(limit.take("c", 10.0) == 0);
    CHECK(limit.take("c", 10.0) == doctest::Approx(0.25));
    CHECK(limit.take("c", 10.1) == doctest::Approx(0.15));  // 0.4 of a token back after 0.1 s
    CHECK(limit.take("c", 10.25) == 0);                     // a whole token at 1/rate
    // A refused request takes nothing: the wait only shrinks as time goes.
    CHECK(limit.take("c", 10.30) == doctest::Approx(0.2));
    CHECK(limit.take("c", 10.40) == doctest::Approx(0.1));
}

TEST_CASE("Retry-After is the wait in whole seconds, rounded up, at least 1; the 429 says why") {
    // Called as a connection calls it, without one (which each application type would compile again).
    request::parts p;
    p.peer = "198.51.100.9:1";
    request req(p);
    auto app = layers{rate_limit({.rate = 0.3, .burst = 1})}([](request const&) { return "ok"; });
    CHECK(app(req).status() == status::ok);
    auto refused = app(req);
    CHECK(refused.status() == status::too_many_requests);
    CHECK(refused.header("Retry-After") == "4");  // 1 / 0.3 = 3.33 s
    CHECK(refused.body_view() == "Too Many Requests");
    CHECK(refused.header("Content-Type") == "text/plain; charset=utf-8");

    auto fast = layers{rate_limit({.rate = 1000, .burst = 1})}([](request const&) { return "ok"; });
    CHECK(fast(req).status() == status::ok);
    auto soon = fast(req);
    if (soon.status() == status::too_many_requests) CHECK(soon.header("Retry-After") == "1");  // never "0"
}

TEST_CASE("client addresses: an address without a port stays whole; bracketed text that is no IPv6 address is kept") {
    CHECK(detail::client_address("192.0.2.1") == "192.0.2.1");
    CHECK(detail::client_address("[not-an-address]:80") == "not-an-address");
    CHECK(detail::client_address("[2001:db8:aaaa:bbbb::1]:1") ==
          detail::client_address("[2001:db8:aaaa:bbbb:ffff::2]:2"));
    CHECK(detail::client_address("[2001:db8:aaaa:bbbb::1]:1") != detail::client_address("[2001:db8:aaaa:bbbc::1]:1"));
}

TEST_CASE("with every tracked client busy, newcomers share one bucket: nobody busy is forgotten, nobody is unlimited") {
    rate_limit limit({.rate = 1, .burst = 2, .max_clients = 1});  // one client per shard at most
    int allowed = 0;
    for (int i = 0; i < 1000; ++i) allowed += limit.take("client-" + std::to_string(i), 0.0) == 0;
    CHECK(limit.clients() == 16);
    CHECK(allowed == 16 + 16 * 2);  // each shard's tracked client, then its overflow bucket's burst
    // The tracked ones are still counted: each has one token left, then none.
    std::size_t limited = 0;
    for (int i = 0; i < 1000; ++i) {
        auto key = "client-" + std::to_string(i);
        if (limit.take(key, 0.0) == 0 && limit.take(key, 0.0) > 0) ++limited;
    }
    CHECK(limited == limit.clients());
    // A newcomer that keeps coming while the table is full is limited as the overflow is: not
    // let through a thousand times in a second.
    allowed = 0;
    for (int i = 0; i < 1000; ++i) allowed += limit.take("newcomer", 0.5 + i / 1000.0) == 0;
    CHECK(allowed <= 3);  // untracked before, all 1000 passed
}

// The shared corpora through the parser: realistic requests parse to what their index says,
// hostile ones get the outcome a strict server gives, and no split of any of them changes
// the result.
#include "parse_driver.hpp"

#include <porthole/parser.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace porthole;
using namespace test_support;

namespace {

std::string corpus(std::string const& sub) { return shared_dir() + "/corpus/" + sub; }

// What a server built on this parser answers, response by response, as outcome tokens.
struct simulated {
    std::vector<std::string> finals;  // "ok" or a status code, in order
    bool closed = false;
    bool interim_100 = false;
};

simulated simulate(outcome const& o) {
    simulated s;
    for (auto const& r : o.requests) {
        auto m = method_from_string(r.method);
        if (m == method::other || m == method::connect) {
            s.finals.push_back("501");  // the connection answers these; framing stays sound
            continue;
        }
        s.finals.push_back("ok");
        if (!r.keep_alive) {
            s.closed = true;
            return s;
        }
    }
    if (o.error != parse_error::none) {
        s.finals.push_back(std::to_string(to_int(error_status(o.error))));
        s.closed = true;
    } else if (o.pending_expect_continue) {
        s.interim_100 = true;
    }
    return s;
}

bool token_matches(std::string const& token, std::string const& got, bool last, bool closed) {
    if (token == "ok") return got == "ok";
    if (token == "ok-close") return got == "ok" && last && closed;
    if (token == "400") return got == "400" && last && closed;
    return token == got;
}

bool any_matches(std::string const& alternatives, std::string const& got, bool last, bool closed) {
    for (auto const& t : split_on(alternatives, '|'))
        if (token_matches(t, got, last, closed)) return true;
    return false;
}

std::vector<std::size_t> offsets_for(std::size_t size) {
    std::vector<std::size_t> v;
    std::size_t step = size <= 4096 ? 1 : 97;
    for (std::size_t i = 1; i < size; i += step) v.push_back(i);
    return v;
}

}  // namespace

TEST_CASE("corpus: every realistic request parses to what its index says") {
    auto rows = read_index(corpus("realistic/index.tsv"));
    REQUIRE(rows.size() >= 24);
    for (auto const& row : rows) {
        auto file = cell(row, "file");
        CAPTURE(file);
        auto o = run(read_file(corpus("realistic/" + file)));
        CHECK(o.error == parse_error::none);
        auto methods = split_on(cell(row, "method"), ',');
        auto targets = split_on(cell(row, "target"), ',');
        auto bodies = split_on(cell(row, "body_len"), ',');
        REQUIRE(o.requests.size() == std::stoul(cell(row, "requests")));
        for (std::size_t i = 0; i < o.requests.size(); ++i) {
            CHECK(o.requests[i].method == methods.at(i));
            CHECK(o.requests[i].target == targets.at(i));
            CHECK(o.requests[i].body.size() == std::stoul(bodies.at(i)));
        }
        CHECK(o.leftover == 0);
    }
}

TEST_CASE("corpus: every hostile request gets an outcome its index allows") {
    auto rows = read_index(corpus("hostile/index.tsv"));
    REQUIRE(rows.size() >= 60);
    for (auto const& row : rows) {
        auto file = cell(row, "file");
        auto expected = cell(row, "expected");
        CAPTURE(file);
        CAPTURE(expected);
        auto o = run(read_file(corpus("hostile/" + file)));
        auto s = simulate(o);
        if (expected == "no-escape") {
            CHECK(true);  // traversal is the static file handler's concern; parsing must just end
            continue;
        }
        if (expected.find("100") != std::string::npos && s.interim_100) continue;
        REQUIRE_MESSAGE(!s.finals.empty(), "no response at all");
        CAPTURE(s.finals[0]);
        CHECK(any_matches(expected, s.finals[0], s.finals.size() == 1, s.closed));
        auto spec = cell(row, "responses");
        if (spec.empty()) continue;
        if (spec.find_first_not_of("0123456789") == std::string::npos) {
            CHECK(s.finals.size() == std::stoul(spec));
        } else {
            auto sets = split_on(spec, ',');
            REQUIRE(s.finals.size() == sets.size());
            for (std::size_t i = 0; i < sets.size(); ++i)
                CHECK(any_matches(sets[i], s.finals[i], i + 1 == sets.size(), s.closed));
        }
    }
}

TEST_CASE("corpus: the strict (preferred) outcome is the one given, where the parser decides it") {
    auto rows = read_index(corpus("hostile/index.tsv"));
    for (auto const& row : rows) {
        auto preferred = cell(row, "preferred");
        // h005: identical Content-Length values collapse to one (RFC 9110 8.6 allows either).
        if (cell(row, "file").rfind("h005", 0) == 0) continue;
        if (preferred == "no-escape" || preferred == "ok" || preferred == "100" || preferred == "501") continue;
        auto file = cell(row, "file");
        CAPTURE(file);
        auto s = simulate(run(read_file(corpus("hostile/" + file))));
        REQUIRE(!s.finals.empty());
        CHECK(s.finals.back() == preferred);
    }
}

TEST_CASE("corpus: every request gives the same result whatever the split") {
    for (auto const* dir : {"realistic", "hostile"}) {
        for (auto const& row : read_index(corpus(std::string(dir) + "/index.tsv"))) {
            auto file = cell(row, "file");
            auto raw = read_file(corpus(std::string(dir) + "/" + file));
            auto whole = run(raw);
            for (auto cut : offsets_for(raw.size())) {
                auto split = run(raw, std::vector<std::size_t>{cut});
                if (!(split == whole)) {
                    CAPTURE(file);
                    CAPTURE(cut);
                    CHECK(split == whole);
                    break;
                }
            }
        }
    }
}

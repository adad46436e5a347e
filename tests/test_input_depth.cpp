// No recursion whose depth the peer controls: every reader of request input, and the code that
// renders and routes it, is run on inputs with hundreds of thousands of elements (segments,
// pairs, parts, chunks, markers, pipelined requests) on a thread with a 512 KiB stack. A
// function that recursed once per element would need megabytes of stack and crash here.
#include "parse_driver.hpp"

#include <porthole/porthole.hpp>

#include <doctest/doctest.h>

#include <pthread.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

using namespace porthole;

namespace {

constexpr std::size_t small_stack = 512 * 1024;

// Runs f on a thread with a small stack and waits for it.
void on_small_stack(std::function<void()> f) {
    pthread_attr_t attr;
    REQUIRE(pthread_attr_init(&attr) == 0);
    REQUIRE(pthread_attr_setstacksize(&attr, small_stack) == 0);
    pthread_t thread;
    auto run = [](void* p) -> void* {
        (*static_cast<std::function<void()>*>(p))();
        return nullptr;
    };
    REQUIRE(pthread_create(&thread, &attr, run, &f) == 0);
    pthread_join(thread, nullptr);
    pthread_attr_destroy(&attr);
}

// GET target through a connection whose request line may be a megabyte long.
template <class App>
unsigned status_of(App& app, std::string target) {
    connection_config cfg;
    cfg.limits.max_request_line = 1 << 20;
    return testing::send(app, testing::simple_request{method::get, std::move(target), {}, {}}, cfg).status;
}

std::string repeat(std::string_view piece, std::size_t n) {
    std::string s;
    s.reserve(piece.size() * n);
    for (std::size_t i = 0; i < n; ++i) s.append(piece);
    return s;
}

}  // namespace

TEST_CASE("the parser: many chunks, long lists, many empty lines, many pipelined requests") {
    bool ok = false;
    on_small_stack([&] {
        parser_limits limits;
        limits.max_body = 1 << 20;
        limits.max_request_line = 1 << 20;  // room for the empty lines
        std::string chunked = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
                              repeat("1\r\nx\r\n", 300000) + "0\r\n\r\n";
        auto o = test_support::run(chunked, limits);
        std::string lists = "GET / HTTP/1.1\r\nHost: a\r\nConnection: " + repeat("a,", 4000) +
                            "\r\nTransfer-Encoding: " + repeat("gzip, ", 1300) + "chunked\r\n\r\n0\r\n\r\n";
        auto l = test_support::run(lists);
        auto e = test_support::run(repeat("\r\n", 300000) + "GET / HTTP/1.1\r\nHost: a\r\n\r\n", limits);
        auto p = test_support::run(repeat("GET / HTTP/1.1\r\nHost: a\r\n\r\n", 20000));
        ok = o.requests.size() == 1 && o.requests[0].body.size() == 300000 &&
             l.error == parse_error::unsupported_transfer_coding && e.requests.size() == 1 &&
             p.requests.size() == 20000;
    });
    CHECK(ok);
}

TEST_CASE("a connection: 100,000 pipelined requests in one feed, and a body of 300,000 chunks") {
    std::size_t answers = 0, body = 0;
    on_small_stack([&] {
        auto app = [](request const& req) { return response::text(std::to_string(req.body().size())); };
        connection_config cfg;
        cfg.max_output_buffered = std::size_t(1) << 30;  // answer them all at once
        testing::client c(app, cfg);
        c.send(repeat("GET / HTTP/1.1\r\nHost: a\r\n\r\n", 100000));
        answers = c.responses().size();
        testing::client chunked(app);
        chunked.send("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + repeat("1\r\nx\r\n", 300000) +
                     "0\r\n\r\n");
        body = std::stoul(chunked.responses().at(0).body);
    });
    CHECK(answers == 100000);
    CHECK(body == 300000);
}

TEST_CASE("URLs, queries, cookies and forms with hundreds of thousands of pieces") {
    std::size_t segments = 0, pairs = 0, cookies = 0, decoded = 0;
    on_small_stack([&] {
        std::string path = repeat("/a%20b", 200000);
        std::string out;
        if (url::decode_path(path, out)) decoded = out.size();
        for (auto seg : url::segments(out)) segments += !seg.empty();
        auto query = repeat("k=v&", 300000);
        for (auto const& p : url::query_params(query)) pairs += !p.name.empty();
        CHECK(!url::query_value(query, "missing"));
        auto header = repeat("a=1; ", 300000);
        for (auto const& c : cookies_view(header)) cookies += !c.name.empty();
        CHECK(!find_cookie(header, "missing"));
    });
    CHECK(decoded == 200000 * 4);
    CHECK(segments == 200000);
    CHECK(pairs == 300000);
    CHECK(cookies == 300000);
}

TEST_CASE("multipart: a body of many parts, and a header of many parameters") {
    bool parsed = false, refused_parameters = false;
    std::size_t parts = 0;
    on_small_stack([&] {
        std::string body =
            repeat("--b\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nv\r\n", 100000) + "--b--\r\n";
        std::vector<multipart::part> out;
        parsed = multipart::parse(body, "b", out, 200000);
        parts = out.size();
        auto type = "multipart/form-data" + repeat("; x=y", 100000) + "; boundary=b";
        refused_parameters = multipart::boundary_from_content_type(type) == "b";
    });
    CHECK(parsed);
    CHECK(parts == 100000);
    CHECK(refused_parameters);
}

TEST_CASE("a router given a path of 200,000 segments") {
    std::vector<unsigned> statuses;
    on_small_stack([&] {
        auto app = router{
            get<"/a/{x}/{y:int}/c">([](std::string_view, std::int64_t) { return "deep"; }),
            get<"/a/{rest...}">([](std::string_view rest) { return std::to_string(rest.size()); }),
            get<"/{x}/b/{y}">([](std::string_view, std::string_view) { return "b"; }),
        };
        auto deep = repeat("/a", 200000);
        auto with_slash = app.redirect_trailing_slash();
        for (auto const& target : {deep, repeat("/b", 200000), deep + "/", repeat("/a/1", 100000)}) {
            statuses.push_back(status_of(app, target));
            statuses.push_back(status_of(with_slash, target));
        }
    });
    std::vector<unsigned> expected{200, 200, 404, 404, 200, 200, 200, 200};
    REQUIRE(statuses.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        CAPTURE(i);
        CHECK(statuses[i] == expected[i]);
    }
}

TEST_CASE("a run-time template of 100,000 markers") {
    std::size_t size = 0;
    on_small_stack([&] {
        page_template page(repeat("<p>@@v@@</p>", 100000));
        size = page.render({{"v", "x"}}).view().size();
    });
    CHECK(size == 100000 * 8);
}

TEST_CASE("static files: a path of 20,000 segments") {
    auto root = std::filesystem::temp_directory_path() / ("porthole_depth_" + std::to_string(::getpid()));
    std::filesystem::create_directories(root / "d");
    std::vector<unsigned> statuses;
    bool saved = detail::openat2_unavailable;
    for (bool walk : {false, true}) {  // with openat2 where the kernel has it, and segment by segment
        detail::openat2_unavailable = walk || saved;
        on_small_stack([&] {
            static_files files(root.string());
            statuses.push_back(status_of(files, repeat("/d", 20000)));
            statuses.push_back(status_of(files, "/d" + repeat("/..", 20000)));  // refused before any lookup
        });
    }
    detail::openat2_unavailable = saved;
    std::filesystem::remove_all(root);
    CHECK(statuses == std::vector<unsigned>{404, 400, 404, 400});
}

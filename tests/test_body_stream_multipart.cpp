// Multipart forms taken as streams (body_stream.hpp's take_multipart): parts as they arrive,
// malformed forms, waits and resumes, parts that cross reads. test_body_stream.cpp has the rest.
#include <porthole/porthole.hpp>

#include "multipart_support.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace porthole;

TEST_CASE("take_multipart streams a form's parts to the route; malformed: 400; not multipart: 415") {
    std::vector<collected_part> got;
    struct form : collector {
        response end() { return response::text("parts " + std::to_string(parts->size())); }
    };
    auto app = router{post<"/form">(streamed_body({.max_size = 1 << 30}, [&](request const& req) {
        got.clear();
        return take_multipart(req, form{{&got}});
    }))};
    std::string file(200000, 'z');
    auto body = form_body(file);
    std::string request =
        "POST /form HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
    testing::client c(app);
    for (std::size_t i = 0; i < request.size(); i += 4093) c.send(std::string_view(request).substr(i, 4093));
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].body == "parts 3");
    REQUIRE(got.size() == 3);
    CHECK(got[1].filename == "f.bin");
    CHECK(got[1].data == file);

    std::string bad = "--XyZ\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XyZ--\r\n";
    auto r = testing::send(app, {.method = method::post,
                                 .target = "/form",
                                 .headers = {{"Content-Type", "multipart/form-data; boundary=XyZ"}},
                                 .body = bad});
    CHECK(r.status == 400);
    r = testing::send(
        app, {.method = method::post, .target = "/form", .headers = {{"Content-Type", "text/plain"}}, .body = "x"});
    CHECK(r.status == 415);
}

TEST_CASE(
    "take_multipart: a form that says stop hears nothing more; its end() answers, even if the rest is malformed") {
    // The `sizes` form of docs/bodies.md: stop once a field passes 1024 bytes.
    struct sizes {
        std::shared_ptr<std::string> out = std::make_shared<std::string>();
        std::shared_ptr<int> after_stop = std::make_shared<int>(0);
        std::size_t n = 0;
        bool stopped = false;
        void part(multipart::part const& p) {
            *after_stop += stopped;
            *out += std::string(p.has_filename ? p.filename : p.name) + "=";
            n = 0;
        }
        body_flow data(std::string_view piece) {
            *after_stop += stopped;
            n += piece.size();
            stopped = n > 1024;
            return stopped ? body_flow::stop : body_flow::more;
        }
        void part_end() {
            *after_stop += stopped;
            *out += std::to_string(n) + ";";
        }
        response end() {
            if (n > 1024) return response::text("field too large\n", status::content_too_large);
            return response::text(*out);
        }
    };
    auto after_stop = std::make_shared<int>(0);
    auto app = router{post<"/upload">(streamed_body({.max_size = 1 << 20}, [&](request const& req) {
        sizes form;
        after_stop = form.after_stop;
        return take_multipart(req, form);
    }))};
    for (std::string rest : {std::string("\r\n--XyZ\r\nContent-Disposition: form-data; name=\"a\"; "
                                         "filename=\"a.txt\"\r\n\r\nabc\r\n--XyZ--\r\n"),
                             std::string("\r\n--XyZ\r\nNo Colon\r\n\r\nabc\r\n--XyZ--\r\n")}) {
        std::string body =
            "--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n" + std::string(5000, 't') + rest;
        auto r = testing::send(app, {.method = method::post,
                                     .target = "/upload",
                                     .headers = {{"Content-Type", "multipart/form-data; boundary=XyZ"}},
                                     .body = body});  // in one piece
        CHECK(r.status == 413);
        CHECK(r.body == "field too large\n");
        CHECK(*after_stop == 0);
    }
}

TEST_CASE("take_multipart: a form that waits hears nothing until resumed, end() included") {
    struct shared_state {
        std::vector<collected_part> parts;
        body_resumer resumer;
        bool waiting = false;
        int calls_while_waiting = 0;
        bool ended = false;
    };
    auto st = std::make_shared<shared_state>();
    struct form {
        std::shared_ptr<shared_state> st;
        void part(multipart::part const& p) {
            st->calls_while_waiting += st->waiting;
            st->parts.push_back({std::string(p.name), {}, {}, {}, false});
        }
        body_flow data(std::string_view piece) {
            st->calls_while_waiting += st->waiting;
            st->parts.back().data += piece;
            st->waiting = true;  // a worker writes the piece, then resumes
            return body_flow::wait;
        }
        void part_end() {
            st->calls_while_waiting += st->waiting;
            st->parts.back().ended = true;
        }
        response end() {
            st->calls_while_waiting += st->waiting;
            st->ended = true;
            return response::text("parts " + std::to_string(st->parts.size()));
        }
    };
    auto app = router{post<"/form">(streamed_body({.max_size = 1 << 20},
                                                  [st](request const& req) {
                                                      body_taken taken = take_multipart(req, form{st});
                                                      st->resumer = taken.resumer;
                                                      return taken;
                                                  })),
                      get<"/after">([] { return "after"; })};
    std::string const file = "file data";
    std::string body = form_body(file);
    std::string request =
        "POST /form HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body + "GET /after HTTP/1.1\r\nHost: t\r\n\r\n";
    testing::client c(app);
    c.send(request);  // all of it in one piece, and a request behind it
    int resumes = 0;
    while (!st->ended && resumes < 10) {
        CHECK(c.responses().empty());
        REQUIRE(st->waiting);
        st->waiting = false;
        std::thread([&] { CHECK(st->resumer.resume()); }).join();
        ++resumes;
        c.step();
    }
    CHECK(resumes == 2);  // once for each part with data (the last part has none)
    CHECK(st->calls_while_waiting == 0);
    REQUIRE(st->parts.size() == 3);
    CHECK(st->parts[0].data == "a title");
    CHECK(st->parts[1].data == file);
    CHECK(st->parts[2].data == "");
    for (auto const& p : st->parts) CHECK(p.ended);
    auto rs = c.responses();
    REQUIRE(rs.size() == 2);
    CHECK(rs[0].body == "parts 3");
    CHECK(rs[1].body == "after");
}

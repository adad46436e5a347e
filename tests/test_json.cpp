// JSON through nlohmann/json: handlers returning it, bodies read as it with refusals that say
// why, typed body parameters on routes.
#include <porthole/blocking.hpp>
#include <porthole/json.hpp>
#include <porthole/router.hpp>
#include <porthole/testing.hpp>

#include <doctest/doctest.h>

#include <string>
#include <thread>
#include <vector>

using namespace porthole;
using porthole::testing::simple_request;

// Outside the anonymous namespace: the macro's to_json/from_json are found by argument-dependent
// lookup, and a type with internal linkage would leave the one not used flagged as unused.
namespace json_types {
struct point {
    int x = 0;
    int y = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(point, x, y)
}  // namespace json_types
using json_types::point;

namespace {

testing::parsed_response post(auto& app, std::string target, std::string body, std::string type = "application/json") {
    simple_request r{method::post, std::move(target), {}, std::move(body)};
    if (!type.empty()) r.headers.emplace_back("Content-Type", type);
    return testing::send(app, r);
}

}  // namespace

TEST_CASE("a handler returns nlohmann::json: 200 application/json, compact") {
    auto app = router{
        get<"/j">([] {
            return nlohmann::json{{"b", 1}, {"a", {1, 2}}};
        }),
        get<"/ordered">([] {
            return nlohmann::ordered_json{{"b", 1}, {"a", "x"}};
        }),
        get<"/maybe/{n:int}">([](std::int64_t n) -> std::optional<nlohmann::json> {
            if (n == 0) return std::nullopt;
            return nlohmann::json{{"n", n}};
        }),
        get<"/created">([] {
            return json_response(nlohmann::json{{"id", 7}}, status::created);
        }),
        get<"/bytes">([] {
            return nlohmann::json{{"name", std::string("job\xff\"<")}};
        }),
    };
    auto r = testing::get(app, "/j");
    CHECK(r.status == 200);
    CHECK(r.header("Content-Type") == "application/json");
    CHECK(r.body == R"({"a":[1,2],"b":1})");
    CHECK(testing::get(app, "/ordered").body == R"({"b":1,"a":"x"})");
    CHECK(testing::get(app, "/maybe/0").status == 404);
    CHECK(testing::get(app, "/maybe/3").body == R"({"n":3})");
    CHECK(testing::get(app, "/created").status == 201);
    // Invalid UTF-8 from the application is replaced, never a 500; quotes are escaped, and '<' as
    // every JSON porthole writes escapes it.
    r = testing::get(app, "/bytes");
    CHECK(r.status == 200);
    CHECK(r.body == "{\"name\":\"job\xEF\xBF\xBD\\\"\\u003c\"}");
    // Also as a plain application.
    auto lambda = [](request const&) { return nlohmann::json::array({1, 2, 3}); };
    static_assert(application<decltype(lambda)>);
    CHECK(testing::get(lambda, "/").body == "[1,2,3]");
}

TEST_CASE("JSON written through nlohmann is safe inside a <script>, as append_json_string's: '<', U+2028, U+2029") {
    // A page that inlines an API's answer in <script> must not be closed by a value in it.
    std::string value = "</script><!--\xe2\x80\xa8\xe2\x80\xa9 \xe2\x80\xa7 \xe2\x82\xac >";
    auto app = [&value](request const&) { return nlohmann::json{{"echo", value}, {"<key>", 1}}; };
    auto r = testing::get(app, "/");
    CHECK(r.body == R"({"\u003ckey>":1,"echo":"\u003c/script>\u003c!--\u2028\u2029 )"
                    "\xe2\x80\xa7 \xe2\x82\xac >\"}");
    std::string direct;
    append_json_string(direct, value);
    CHECK(r.body.find(direct) != std::string::npos);  // the one escaping, whoever writes
    auto back = nlohmann::json::parse(r.body);        // the same value read back
    CHECK(back["echo"] == value);
    CHECK(back["<key>"] == 1);
}

TEST_CASE("read_json: the body, or a 400 with the parser's message, or a 415 for another type") {
    std::optional<nlohmann::json> seen;
    auto app = [&](request const& req) {
        response refusal;
        seen = read_json(req, refusal);
        if (!seen) return refusal;
        return response::text("ok");
    };
    CHECK(post(app, "/", R"({"a": [1, 2.5, null]})").status == 200);
    CHECK((*seen)["a"][1] == 2.5);
    CHECK(post(app, "/", "[]", "application/json; charset=utf-8").status == 200);
    CHECK(post(app, "/", "3", "application/vnd.api+json").status == 200);
    CHECK(post(app, "/", "true", "").status == 200);  // no Content-Type: read as JSON
    auto bad = post(app, "/", "{\"a\": }");
    CHECK(bad.status == 400);
    CHECK(bad.header("Content-Type") == "application/json");
    auto message = nlohmann::json::parse(bad.body).at("error").get<std::string>();
    CHECK(message.starts_with("parse error at line 1, column 7: syntax error while parsing value"));  // no "[json."
    // The message quotes what the parser read: written as every JSON porthole writes, no '<'.
    auto quoting = post(app, "/", R"(["</script><img src=x onerror=alert(1)>)");
    CHECK(quoting.status == 400);
    CHECK(quoting.body.find('<') == std::string::npos);
    CHECK(nlohmann::json::parse(quoting.body).at("error").get<std::string>().find("</script><img") !=
          std::string::npos);
    // A NUL byte is not JSON text anywhere; nlohmann would stop at it and take what came before.
    for (std::string nul : {std::string("{\"a\":1}\0{\"admin\":true}", 22), std::string("[1]\0 ]]]", 8),
                            std::string("\0", 1), std::string("{\"a\":\"x\0\"}", 10)}) {
        CAPTURE(nul.size());
        auto r = post(app, "/", nul);
        CHECK(r.status == 400);
        CHECK(r.body == R"({"error":"a NUL byte in the body: not JSON text"})");
    }
    for (auto type : {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                      "application/jsonx", "json"}) {
        CAPTURE(type);
        auto r = post(app, "/", "{}", type);
        CHECK(r.status == 415);
        CHECK(r.body == R"({"error":"expected Content-Type: application/json"})");
    }
}

TEST_CASE("read_json refuses nesting deeper than json_max_depth, which would overflow a copy's or dump's stack") {
    auto nested = [](int depth) {
        return std::string(static_cast<std::size_t>(depth), '[') + std::string(static_cast<std::size_t>(depth), ']');
    };
    auto app = router{post<"/any">([](json_body<nlohmann::json> j) { return *j; })};  // copied and dumped
    auto at_limit = post(app, "/any", nested(json_max_depth));
    CHECK(at_limit.status == 200);
    CHECK(at_limit.body == nested(json_max_depth));
    auto over = post(app, "/any", nested(json_max_depth + 1));
    CHECK(over.status == 400);
    CHECK(nlohmann::json::parse(over.body).at("error") == "arrays and objects nest deeper than 256 levels");
    // 100,000 levels in 200 KB: refused at once, nothing recursed over (ASan would see the stack).
    CHECK(post(app, "/any", nested(100000)).status == 400);
    CHECK(post(app, "/any", std::string(100000, '[')).status == 400);
    auto objects = std::string();
    for (int i = 0; i < 300; ++i) objects += R"({"a":)";
    objects += "1" + std::string(300, '}');
    CHECK(post(app, "/any", objects).status == 400);
    // A lower limit of the caller's own.
    auto shallow = [](request const& req) {
        response refusal;
        auto j = read_json(req, refusal, 2);
        return j ? response::text("ok") : refusal;
    };
    CHECK(post(shallow, "/", "[[1]]").status == 200);
    CHECK(post(shallow, "/", "[[[1]]]").status == 400);
    CHECK(post(shallow, "/", R"({"a":{"b":[]}})").status == 400);
    // Brackets inside strings, escaped quotes among them, are text, not nesting.
    CHECK(post(shallow, "/", R"(["[[[{{{", "\"[[[", {"k[": "\\"}])").status == 200);
    CHECK(post(shallow, "/", R"(["\"", [["x"]]])").status == 400);
}

TEST_CASE("a route handler takes a typed body after its path parameters, converted by from_json") {
    int calls = 0;
    auto app = router{
        post<"/points">([&](json_body<point> p) {
            ++calls;
            return nlohmann::json{{"sum", p->x + p->y}};
        }),
        route<"/points/{id:int}", PUT>([&](std::int64_t id, json_body<point> p) {
            ++calls;
            return "point " + std::to_string(id) + " at " + std::to_string(p.value.x) + "," + std::to_string((*p).y);
        }),
        post<"/raw/{name}">([&](request const& req, std::string_view name, json_body<nlohmann::json> j) {
            ++calls;
            return std::string(name) + " " + std::string(req.header("X-Tag").value_or("")) + " " + j->dump();
        }),
    };
    CHECK(post(app, "/points", R"({"x": 2, "y": 40})").body == R"({"sum":42})");
    CHECK(testing::send(
              app,
              simple_request{method::put, "/points/9", {{"Content-Type", "application/json"}}, R"({"y": 2, "x": 1})"})
              .body == "point 9 at 1,2");
    CHECK(testing::send(app, simple_request{method::post, "/raw/n", {{"X-Tag", "t"}}, "[1]"}).body == "n t [1]");
    CHECK(calls == 3);
    // Refused before the handler runs: not JSON, not the type, not a JSON content type.
    auto r = post(app, "/points", "{oops}");
    CHECK(r.status == 400);
    r = post(app, "/points", R"({"x": 1})");
    CHECK(r.status == 400);
    CHECK(nlohmann::json::parse(r.body).at("error") == "key 'y' not found");
    r = post(app, "/points", R"({"x": "1", "y": 2})");
    CHECK(r.status == 400);
    CHECK(nlohmann::json::parse(r.body).at("error") == "type must be number, but is string");
    CHECK(post(app, "/points", R"({"x": 1, "y": 2})", "text/plain").status == 415);
    CHECK(calls == 3);
    // Routing comes first: a path or method that does not match is never read.
    CHECK(post(app, "/points/x", "{oops}").status == 404);
    CHECK(testing::send(app, simple_request{method::get, "/points", {}, {}}).status == 405);
}

TEST_CASE("a typed body and a responder together: the body read first, the answer sent later from another thread") {
    std::vector<std::thread> workers;
    int calls = 0;
    auto app = router{
        post<"/jobs/{id:int}">([&](std::int64_t id, json_body<point> p, responder answer) {
            ++calls;
            workers.emplace_back([answer = std::move(answer), id, sum = p->x + p->y]() mutable {
                answer.send(json_response({{"id", id}, {"sum", sum}}, status::accepted));
            });
        }),
    };
    auto r = post(app, "/jobs/7", R"({"x": 2, "y": 3})");
    CHECK(r.status == 202);
    CHECK(r.body == R"({"id":7,"sum":5})");
    CHECK(post(app, "/jobs/7", R"({"x": 2})").status == 400);  // refused: the handler is not called
    CHECK(calls == 1);
    for (auto& w : workers) w.join();
}

TEST_CASE("a typed body to a blocking handler: read on the connection's thread, the handler on the pool") {
    worker_pool pool(2, 4);
    connection_config config;
    config.workers = &pool;
    auto const caller = std::this_thread::get_id();
    std::thread::id ran_on;
    auto app = router{
        post<"/points/{id:int}">(blocking([&](std::int64_t id, json_body<point> p) {
            ran_on = std::this_thread::get_id();
            return json_response({{"id", id}, {"sum", p->x + p->y}});
        })),
    };
    simple_request req{method::post, "/points/3", {{"Content-Type", "application/json"}}, R"({"x": 4, "y": 5})"};
    auto r = testing::send(app, req, config);
    CHECK(r.status == 200);
    CHECK(r.body == R"({"id":3,"sum":9})");
    CHECK(ran_on != caller);
    CHECK(ran_on != std::thread::id{});
    req.body = R"({"x": 4})";  // refused by the reader: no job
    ran_on = {};
    r = testing::send(app, req, config);
    CHECK(r.status == 400);
    CHECK(nlohmann::json::parse(r.body).at("error") == "key 'y' not found");
    CHECK(ran_on == std::thread::id{});
}

// application_ref.hpp: any application behind one type; it calls through, answers later,
// and says how bodies are taken exactly when the application it refers to does.
#include <porthole/application_ref.hpp>
#include <porthole/router.hpp>
#include <porthole/testing.hpp>

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <thread>

using namespace porthole;

namespace {

struct byte_counter {
    std::size_t* bytes;
    void data(std::string_view piece) { *bytes += piece.size(); }
    response end() { return response::text("got " + std::to_string(*bytes)); }
};

}  // namespace

TEST_CASE("an application_ref calls the application it refers to, converting what it returns") {
    int calls = 0;
    auto text = [&calls](request const& req) {
        ++calls;
        return std::string(req.path()) + "!";
    };
    application_ref ref(text);
    auto r = testing::get(ref, "/a");
    CHECK(r.status == 200);
    CHECK(r.body == "/a!");
    CHECK(calls == 1);
    CHECK(!ref.plans_bodies());

    auto maybe = [](request const& req) -> std::optional<std::string> {
        if (req.path() == "/there") return "here";
        return std::nullopt;
    };
    application_ref optional_ref(maybe);
    CHECK(testing::get(optional_ref, "/there").body == "here");
    CHECK(testing::get(optional_ref, "/elsewhere").status == 404);

    application_ref copy = ref;  // refers to the same application
    CHECK(testing::get(copy, "/b").body == "/b!");
    CHECK(calls == 2);
}

TEST_CASE("an application_ref to one that answers later: the answer comes through the responder") {
    auto later_app = [](request const& req, responder answer) {
        std::string path(req.path());
        std::thread([answer = std::move(answer), path]() mutable {
            answer.send(response::text("later " + path));
        }).join();
    };
    application_ref ref(later_app);
    testing::client c(ref);
    c.send("GET /x HTTP/1.1\r\nHost: t\r\n\r\n");
    c.step();
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].body == "later /x");
}

TEST_CASE("an application_ref plans bodies as its application does: streamed routes stream, others keep the limit") {
    std::size_t bytes = 0;
    auto app = router{
        post<"/upload">(streamed_body({.max_size = 8u << 20},
                                      [&bytes](request const& req) { return take_body(req, byte_counter{&bytes}); })),
        post<"/echo">([](request const& req) { return response::text(std::to_string(req.body().size())); }),
    };
    application_ref ref(app);
    CHECK(ref.plans_bodies());
    std::string big(3u << 20, 'x');  // past the 1 MiB default
    auto up = testing::send(ref, {.method = method::post, .target = "/upload", .body = big});
    CHECK(up.status == 200);
    CHECK(up.body == "got " + std::to_string(big.size()));
    CHECK(testing::send(ref, {.method = method::post, .target = "/echo", .body = big}).status == 413);
    CHECK(ref.answers_refusals());  // the router's: a path it has no route for is its 404
    CHECK(testing::send(ref, {.method = method::post, .target = "/nothing", .body = big}).status == 404);
    CHECK(testing::send(ref, {.method = method::post, .target = "/echo", .body = "abc"}).body == "3");

    // An application that plans nothing: bodies are read whole, under the connection's limit.
    auto plain = [](request const& req) { return response::text(std::to_string(req.body().size())); };
    application_ref plain_ref(plain);
    CHECK(!plain_ref.plans_bodies());
    CHECK(!plain_ref.answers_refusals());
    CHECK(!plain_ref.plan_body(request{}));
    CHECK(testing::send(plain_ref, {.method = method::post, .target = "/", .body = "abcd"}).body == "4");
    CHECK(testing::send(plain_ref, {.method = method::post, .target = "/", .body = big}).status == 413);
}

namespace {
std::string plain_function(request const& req) { return "function " + std::string(req.path()); }
}  // namespace

TEST_CASE("an application_ref to a plain function, as serve(function) makes when compiled separately") {
    application_ref ref(plain_function);
    CHECK(testing::get(ref, "/f").body == "function /f");
    CHECK(!ref.plans_bodies());
}

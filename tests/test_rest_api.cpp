// The rest_api example's application, driven through porthole::testing: every status it answers.
#include "../examples/rest_api_app.hpp"

#include <porthole/testing.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace porthole;
using porthole::testing::simple_request;

namespace {

struct fixture {
    rest_api::store db;
    decltype(rest_api::make_app(db)) app = rest_api::make_app(db);
    connection_config config = [] {
        connection_config c;
        c.limits.max_body = rest_api::max_body;  // as rest_api.cpp sets it
        return c;
    }();

    testing::parsed_response send(method m, std::string target, std::string body = {},
                                  std::string type = "application/json") {
        simple_request r{m, std::move(target), {}, std::move(body)};
        if (!type.empty()) r.headers.emplace_back("Content-Type", type);
        return testing::send(app, r, config);
    }
};

}  // namespace

TEST_CASE("rest_api: POST /items creates an item: 201 with Location and the item") {
    fixture f;
    auto r = f.send(method::post, "/items", R"({"name": "chair"})");
    CHECK(r.status == 201);
    CHECK(r.header("Location") == "/items/1");
    CHECK(r.header("Content-Type") == "application/json");
    CHECK(r.body == R"({"id":1,"name":"chair"})");
    CHECK(f.send(method::post, "/items", R"({"name":"table"})").header("Location") == "/items/2");
}

TEST_CASE("rest_api: GET /items lists the items in id order, [] when empty") {
    fixture f;
    CHECK(f.send(method::get, "/items").body == "[]");
    f.send(method::post, "/items", R"({"name": "a"})");
    f.send(method::post, "/items", R"({"name": "b \"quoted\""})");
    auto r = f.send(method::get, "/items");
    CHECK(r.status == 200);
    CHECK(r.body == R"([{"id":1,"name":"a"},{"id":2,"name":"b \"quoted\""}])");
}

TEST_CASE("rest_api: GET /items/{id} is 200 with the item, 404 when absent or not a number") {
    fixture f;
    f.send(method::post, "/items", R"({"name": "lamp"})");
    auto r = f.send(method::get, "/items/1");
    CHECK(r.status == 200);
    CHECK(r.body == R"({"id":1,"name":"lamp"})");
    CHECK(f.send(method::get, "/items/2").status == 404);
    CHECK(f.send(method::get, "/items/-1").status == 404);
    CHECK(f.send(method::get, "/items/one").status == 404);
    CHECK(f.send(method::get, "/items/99999999999999999999").status == 404);
}

TEST_CASE("rest_api: PUT /items/{id} renames: 200, 404 when absent") {
    fixture f;
    f.send(method::post, "/items", R"({"name": "old"})");
    auto r = f.send(method::put, "/items/1", R"({"name": "new"})");
    CHECK(r.status == 200);
    CHECK(r.body == R"({"id":1,"name":"new"})");
    CHECK(f.send(method::get, "/items/1").body == R"({"id":1,"name":"new"})");
    CHECK(f.send(method::put, "/items/7", R"({"name": "x"})").status == 404);
}

TEST_CASE("rest_api: DELETE /items/{id} is 204, then 404") {
    fixture f;
    f.send(method::post, "/items", R"({"name": "gone"})");
    CHECK(f.send(method::delete_, "/items/1").status == 204);
    CHECK(f.send(method::delete_, "/items/1").status == 404);
    CHECK(f.send(method::get, "/items/1").status == 404);
}

TEST_CASE("rest_api: a body that is not {\"name\": string} is a 400, and nothing is stored") {
    fixture f;
    for (std::string bad :
         {"", "{", "[]", "{\"name\": 3}", "{\"nom\": \"x\"}", "{\"name\": \"x\",}", "{\"name\": \"x\"} extra",
          "{\"name\": \"\\q\"}", "{\"name\": \"\\ud800\"}", "{\"name\": \"a\nb\"}", "{\"name\" \"x\"}"}) {
        INFO(bad);
        auto r = f.send(method::post, "/items", bad);
        CHECK(r.status == 400);
        CHECK(r.header("Content-Type") == "application/json");
        auto message = nlohmann::json::parse(r.body).at("error").get<std::string>();  // nlohmann's message
        CHECK(!message.empty());
        CHECK(message.find("json.exception") == std::string::npos);  // not its code in the library
    }
    CHECK(f.send(method::get, "/items").body == "[]");
    f.send(method::post, "/items", R"({"name": "ok"})");
    CHECK(f.send(method::put, "/items/1", "not json").status == 400);
    CHECK(f.send(method::get, "/items/1").body == R"({"id":1,"name":"ok"})");
}

TEST_CASE("rest_api: a Content-Type other than JSON is a 415; none at all is read as JSON") {
    fixture f;
    auto r = f.send(method::post, "/items", R"({"name": "x"})", "application/x-www-form-urlencoded");
    CHECK(r.status == 415);
    CHECK(r.body == R"({"error":"expected Content-Type: application/json"})");
    CHECK(f.send(method::post, "/items", R"({"name": "x"})", "application/problem+json").status == 201);
    CHECK(f.send(method::post, "/items", R"({"name": "y"})", "").status == 201);
    CHECK(f.send(method::put, "/items/1", R"({"name": "z"})", "text/plain").status == 415);
}

TEST_CASE("rest_api: the parser's message comes back escaped, never pasted") {
    fixture f;
    auto r = f.send(method::post, "/items", "{\"name\": \"</script>\"\x01");
    CHECK(r.status == 400);
    auto body = nlohmann::json::parse(r.body);  // well-formed JSON, whatever the message holds
    auto message = body.at("error").get<std::string>();
    CHECK(message.find("parse error") != std::string::npos);
    CHECK(message.find("</script>") != std::string::npos);  // the token it stopped at, quoted inside
    CHECK(r.body.find('\x01') == std::string::npos);
}

TEST_CASE("rest_api: JSON escapes are read and written") {
    fixture f;
    auto r = f.send(method::post, "/items", R"({"other": "ignored", "name": "tab\there \u00e9 \/ \\"})");
    CHECK(r.status == 201);
    CHECK(r.body == "{\"id\":1,\"name\":\"tab\\there \xC3\xA9 / \\\\\"}");
}

TEST_CASE("rest_api: a body over the limit is a 413") {
    fixture f;
    std::string big = R"({"name": ")" + std::string(rest_api::max_body, 'x') + "\"}";
    CHECK(f.send(method::post, "/items", big).status == 413);
    f.send(method::post, "/items", R"({"name": "small"})");
    CHECK(f.send(method::put, "/items/1", big).status == 413);
    CHECK(f.send(method::get, "/items").body == R"([{"id":1,"name":"small"}])");
}

TEST_CASE("rest_api: other methods get 405 with Allow") {
    fixture f;
    auto a = f.send(method::delete_, "/items");
    CHECK(a.status == 405);
    CHECK(a.header("Allow") == "GET, HEAD, POST, OPTIONS");
    auto b = f.send(method::post, "/items/1");
    CHECK(b.status == 405);
    CHECK(b.header("Allow") == "GET, HEAD, PUT, DELETE, OPTIONS");
    auto o = f.send(method::options, "/items/1");
    CHECK(o.status == 204);
    CHECK(o.header("Allow") == "GET, HEAD, PUT, DELETE, OPTIONS");
    CHECK(f.send(method::get, "/elsewhere").status == 404);
}

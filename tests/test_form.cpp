// form.hpp: the fields of a submitted form, chosen by Content-Type. Urlencoded pairs are read
// raw by form_fields and decoded with url::decode_form (WHATWG application/x-www-form-urlencoded:
// '+' is a space, %XX a byte); multipart bodies are split by multipart_parts.
#include <porthole/form.hpp>
#include <porthole/testing.hpp>

#include <doctest/doctest.h>

#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace porthole;

namespace {

// A request carrying `body` with the given Content-Type (none when empty).
struct form_request {
    std::array<header_field, 1> fields;
    request req;
    form_request(std::string_view content_type, std::string_view body) {
        fields[0] = {"Content-Type", content_type};
        request::parts p;
        p.method = method::post;
        p.method_name = "POST";
        p.headers = std::span<header_field const>(fields.data(), content_type.empty() ? 0 : 1);
        p.body = body;
        req = request(p);
    }
};

constexpr std::string_view urlencoded = "application/x-www-form-urlencoded";

// The raw pairs form_fields gives.
std::vector<std::pair<std::string, std::string>> raw_fields(request const& req) {
    std::vector<std::pair<std::string, std::string>> out;
    for (auto const& f : form_fields(req)) out.emplace_back(f.name, f.value);
    return out;
}

// The pairs decoded.
std::vector<std::pair<std::string, std::string>> decoded_fields(request const& req) {
    std::vector<std::pair<std::string, std::string>> out;
    for (auto const& f : form_fields(req)) {
        std::string name, value;
        url::decode_form(f.name, name);
        url::decode_form(f.value, value);
        out.emplace_back(name, value);
    }
    return out;
}

using pairs = std::vector<std::pair<std::string, std::string>>;

}  // namespace

TEST_CASE("is_urlencoded_form compares the media type alone, case-insensitively") {
    CHECK(is_urlencoded_form(form_request(urlencoded, "").req));
    CHECK(is_urlencoded_form(form_request("Application/X-WWW-Form-URLEncoded", "").req));
    CHECK(is_urlencoded_form(form_request("application/x-www-form-urlencoded; charset=UTF-8", "").req));
    CHECK(is_urlencoded_form(form_request(" application/x-www-form-urlencoded ;charset=utf-8", "").req));
    CHECK_FALSE(is_urlencoded_form(form_request("", "a=1").req));  // no Content-Type
    CHECK_FALSE(is_urlencoded_form(form_request("text/plain", "a=1").req));
    CHECK_FALSE(is_urlencoded_form(form_request("application/x-www-form-urlencodedx", "a=1").req));
    CHECK_FALSE(is_urlencoded_form(form_request("multipart/form-data; boundary=b", "a=1").req));
}

TEST_CASE("form_fields gives the pairs in order, raw, duplicates and empty values included") {
    form_request f(urlencoded, "name=a+b&tag=x&tag=y&empty=&flag&&eq=k=v");
    CHECK(raw_fields(f.req) ==
          pairs{{"name", "a+b"}, {"tag", "x"}, {"tag", "y"}, {"empty", ""}, {"flag", ""}, {"eq", "k=v"}});
}

TEST_CASE("decoded with decode_form: '+' is a space, %XX a byte, %2B a plus, hex in either case") {
    form_request f(urlencoded, "q=caf%C3%A9+au+lait&plus=1%2B1&mixed=%2f%2F&space%20name=v&amp=%26%3D");
    CHECK(decoded_fields(f.req) ==
          pairs{{"q", "caf\xC3\xA9 au lait"}, {"plus", "1+1"}, {"mixed", "//"}, {"space name", "v"}, {"amp", "&="}});
}

TEST_CASE("a '%' not followed by two hex digits is kept as it is, as the WHATWG urlencoded parser keeps it") {
    struct {
        std::string_view raw, decoded;
    } const cases[] = {{"%", "%"},       {"%4", "%4"},     {"%zz", "%zz"},   {"a%g1", "a%g1"}, {"%%41", "%A"},
                       {"100%", "100%"}, {"%4+1", "%4 1"}, {"%2%41", "%2A"}, {"%+", "% "}};
    for (auto const& c : cases) {
        CAPTURE(c.raw);
        std::string out = "kept:";
        url::decode_form(c.raw, out);
        CHECK(out == "kept:" + std::string(c.decoded));
    }
    form_request f(urlencoded, "good=1&bad=%zz&also=2");
    CHECK(decoded_fields(f.req) == pairs{{"good", "1"}, {"bad", "%zz"}, {"also", "2"}});
    // The first pair of a name is the one request::form gives, whatever its escapes: a later
    // duplicate cannot take its place (parameter pollution past a proxy that reads the first).
    form_request again(urlencoded, "v=%G0&v=smuggled");
    CHECK(again.req.form("v") == "%G0");
    form_request name(urlencoded, "v%zz=1&v=2");
    CHECK(name.req.form("v%zz") == "1");
    CHECK(name.req.form("v") == "2");
}

TEST_CASE("decoded bytes are not checked: %00 and invalid UTF-8 come through for the application to judge") {
    form_request f(urlencoded, "nul=a%00b&latin1=%E9");
    CHECK(decoded_fields(f.req) == pairs{{"nul", std::string("a\0b", 3)}, {"latin1", "\xE9"}});
}

TEST_CASE("a body of another type gives no fields, however it looks") {
    CHECK(raw_fields(form_request("text/plain", "a=1&b=2").req).empty());
    CHECK(raw_fields(form_request("", "a=1").req).empty());
    CHECK(raw_fields(form_request(urlencoded, "").req).empty());
    CHECK(raw_fields(form_request(urlencoded, "&&&").req).empty());
}

TEST_CASE("the pairs are views into the body: nothing is copied") {
    std::string body = "k=v";
    form_request f(urlencoded, body);
    auto it = form_fields(f.req).begin();
    REQUIRE(it != form_fields(f.req).end());
    CHECK(it->name.data() == body.data());
    CHECK(it->value.data() == body.data() + 2);
}

namespace {
constexpr std::string_view multipart_body =
    "preamble\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"title\"\r\n"
    "\r\n"
    "Hello\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "line1\r\nline2\r\n"
    "--XyZ--\r\n";
}

TEST_CASE("multipart_parts takes the boundary from Content-Type and splits the body") {
    form_request f("multipart/form-data; boundary=XyZ", multipart_body);
    std::vector<multipart::part> parts;
    REQUIRE(multipart_parts(f.req, parts));
    REQUIRE(parts.size() == 2);
    CHECK(parts[0].name == "title");
    CHECK(parts[0].data == "Hello");
    CHECK_FALSE(parts[0].has_filename);
    CHECK(parts[1].name == "file");
    CHECK(parts[1].filename == "a.txt");
    CHECK(parts[1].content_type == "text/plain");
    CHECK(parts[1].data == "line1\r\nline2");  // CRLF inside data is data

    // A quoted boundary and an upper-case media type mean the same.
    form_request quoted("Multipart/Form-Data; boundary=\"XyZ\"", multipart_body);
    CHECK(multipart_parts(quoted.req, parts));
    CHECK(parts.size() == 2);
}

TEST_CASE("multipart_parts refuses another type, a missing boundary and a malformed body, leaving none") {
    std::vector<multipart::part> parts(3);
    CHECK_FALSE(multipart_parts(form_request(urlencoded, multipart_body).req, parts));
    CHECK(parts.empty());

    parts.resize(3);
    CHECK_FALSE(multipart_parts(form_request("multipart/form-data", multipart_body).req, parts));
    CHECK(parts.empty());

    parts.resize(3);
    CHECK_FALSE(multipart_parts(form_request("multipart/form-data; boundary=Other", multipart_body).req, parts));
    CHECK(parts.empty());

    // Cut before the close delimiter.
    auto cut = multipart_body.substr(0, multipart_body.find("--XyZ--"));
    CHECK_FALSE(multipart_parts(form_request("multipart/form-data; boundary=XyZ", cut).req, parts));
    CHECK(parts.empty());
}

TEST_CASE("multipart_parts bounds the number of parts") {
    form_request f("multipart/form-data; boundary=XyZ", multipart_body);
    std::vector<multipart::part> parts;
    CHECK(multipart_parts(f.req, parts, 2));
    CHECK_FALSE(multipart_parts(f.req, parts, 1));
    CHECK(parts.empty());
}

TEST_CASE("a form body larger than the body limit is refused with 413 before the application sees it") {
    bool called = false;
    auto app = [&called](request const& req) {
        called = true;
        return std::to_string(std::distance(form_fields(req).begin(), form_fields(req).end()));
    };
    connection_config config;
    config.limits.max_body = 16;
    std::string body = "a=1&b=2&c=3&d=4&e=5";  // 19 bytes
    auto r = testing::send(
        app, testing::simple_request{method::post, "/", {{"Content-Type", std::string(urlencoded)}}, body}, config);
    CHECK(r.status == 413);
    CHECK_FALSE(called);

    auto fits = testing::send(
        app, testing::simple_request{method::post, "/", {{"Content-Type", std::string(urlencoded)}}, "a=1&b=2&c=3"},
        config);
    CHECK(fits.status == 200);
    CHECK(fits.body == "3");
}

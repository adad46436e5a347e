#include <porthole/multipart.hpp>

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

using namespace porthole;
using namespace std::string_view_literals;

namespace mp = porthole::multipart;

// ---------------------------------------------------------------- boundary

TEST_CASE("boundary_from_content_type reads a token boundary") {
    CHECK(mp::boundary_from_content_type("multipart/form-data; boundary=xyz") == "xyz");
    CHECK(mp::boundary_from_content_type("multipart/form-data;boundary=----WebKitFormBoundary7MA4YWxk") ==
          "----WebKitFormBoundary7MA4YWxk");
    CHECK(mp::boundary_from_content_type("  multipart/mixed ; charset=utf-8 ;boundary=b1  ") == "b1");
}

TEST_CASE("boundary_from_content_type unwraps a quoted boundary") {
    CHECK(mp::boundary_from_content_type("multipart/form-data; boundary=\"a b:c?=d\"") == "a b:c?=d");
    CHECK(mp::boundary_from_content_type("multipart/form-data; boundary=\"simple\"; x=1") == "simple");
}

TEST_CASE("boundary_from_content_type is case-insensitive in type and parameter names") {
    CHECK(mp::boundary_from_content_type("Multipart/Form-Data; BOUNDARY=Xy") == "Xy");
    CHECK(mp::boundary_from_content_type("MULTIPART/form-data; Boundary=\"Q\"") == "Q");
}

TEST_CASE("boundary_from_content_type ignores empty parameters and other ones") {
    CHECK(mp::boundary_from_content_type("multipart/form-data; ; a=\"x;boundary=no\"; boundary=yes;") == "yes");
}

TEST_CASE("boundary_from_content_type enforces RFC 2046 boundary rules") {
    std::string seventy(70, 'a'), seventy_one(71, 'a');
    CHECK(mp::boundary_from_content_type("multipart/form-data; boundary=" + seventy) == seventy);
    CHECK_FALSE(mp::boundary_from_content_type("multipart/form-data; boundary=" + seventy_one));
    for (auto bad : {
             "multipart/form-data"sv,
             "multipart/form-data; boundary="sv,
             "multipart/form-data; boundary=\"\""sv,
             "multipart/form-data; boundary=\"ends with space \""sv,
             "multipart/form-data; boundary=\"a\\\"b\""sv,
             "multipart/form-data; boundary=\"a\\bc\""sv,
             "multipart/form-data; boundary=a!b"sv,
             "multipart/form-data; boundary=\"a@b\""sv,
             "multipart/form-data; boundary=\"unterminated"sv,
             "multipart/form-data; boundary=a; boundary=b"sv,
             "multipart/form-data; boundary = a"sv,
             "multipart/form-data boundary=a"sv,
             "text/plain; boundary=a"sv,
             "multipart; boundary=a"sv,
             "multipart/; boundary=a"sv,
             "multipartx/form-data; boundary=a"sv,
             ""sv,
         }) {
        CAPTURE(bad);
        CHECK_FALSE(mp::boundary_from_content_type(bad));
    }
}

// ---------------------------------------------------------------- parse

namespace {
constexpr std::string_view form =
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"title\"\r\n"
    "\r\n"
    "Hello\r\n"
    "--XyZ\r\n"
    "content-disposition: form-data; name=\"empty\"\r\n"
    "\r\n"
    "\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"upload\"; filename=\"notes.txt\"\r\n"
    "Content-Type:  text/plain \r\n"
    "X-Extra: 1\r\n"
    "\r\n"
    "line one\r\nline two\r\n--XyZnot a delimiter\r\n-- XyZ\r\n"
    "--XyZ--\r\n";
}  // namespace

TEST_CASE("parse splits two fields and one file") {
    std::vector<mp::part> parts;
    REQUIRE(mp::parse(form, "XyZ", parts));
    REQUIRE(parts.size() == 3);

    CHECK(parts[0].name == "title");
    CHECK(parts[0].data == "Hello");
    CHECK_FALSE(parts[0].has_filename);
    CHECK(parts[0].filename.empty());
    CHECK(parts[0].content_type.empty());

    CHECK(parts[1].name == "empty");
    CHECK(parts[1].data.empty());

    CHECK(parts[2].name == "upload");
    CHECK(parts[2].has_filename);
    CHECK(parts[2].filename == "notes.txt");
    CHECK(parts[2].content_type == "text/plain");
    CHECK(parts[2].header("x-extra") == "1");
    CHECK(parts[2].header("CONTENT-TYPE") == "text/plain");
    CHECK_FALSE(parts[2].header("Missing"));
    // CRLF inside the data, and lines that only start like a delimiter, are content.
    CHECK(parts[2].data == "line one\r\nline two\r\n--XyZnot a delimiter\r\n-- XyZ");
}

TEST_CASE("parts are views into the body") {
    std::vector<mp::part> parts;
    REQUIRE(mp::parse(form, "XyZ", parts));
    for (auto const& p : parts) {
        CHECK(p.data.data() >= form.data());
        CHECK(p.data.data() + p.data.size() <= form.data() + form.size());
    }
    CHECK(parts[0].data.data() == form.data() + form.find("Hello"));
}

TEST_CASE("find_part finds by exact name") {
    std::vector<mp::part> parts;
    REQUIRE(mp::parse(form, "XyZ", parts));
    auto const* p = mp::find_part(parts, "upload");
    REQUIRE(p);
    CHECK(p->filename == "notes.txt");
    CHECK(mp::find_part(parts, "Upload") == nullptr);
}

TEST_CASE("parse ignores the preamble and the epilogue") {
    std::string body = "This is the preamble.\r\nIt mentions XyZ and --XyZx.\r\n";
    body += form;
    body += "epilogue --XyZ\r\n";
    std::vector<mp::part> parts;
    REQUIRE(mp::parse(body, "XyZ", parts));
    CHECK(parts.size() == 3);
}

TEST_CASE("a preamble may itself start like a delimiter") {
    std::string_view body = "--bx\r\n--b\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--b--";
    std::vector<mp::part> parts;
    REQUIRE(mp::parse(body, "b", parts));
    REQUIRE(parts.size() == 1);
    CHECK(parts[0].data == "1");
}

TEST_CASE("parse accepts transport padding after a delimiter") {
    std::string_view body =
        "--b \t\r\n"
        "Content-Disposition: form-data; name=a\r\n\r\n1\r\n"
        "--b--  \r\n";
    std::vector<mp::part> parts;
    REQUIRE(mp::parse(body, "b", parts));
    REQUIRE(parts.size() == 1);
    CHECK(parts[0].name == "a");
    CHECK(parts[0].data == "1");
}

TEST_CASE("parse works with a boundary read from a quoted Content-Type parameter") {
    std::string_view ct = "multipart/form-data; boundary=\"with space=\"";
    std::string_view body =
        "--with space=\r\n"
        "Content-Disposition: form-data; name=\"q\"\r\n\r\nv\r\n"
        "--with space=--";
    auto b = mp::boundary_from_content_type(ct);
    REQUIRE(b);
    std::vector<mp::part> parts;
    REQUIRE(mp::parse(body, *b, parts));
    REQUIRE(parts.size() == 1);
    CHECK(parts[0].data == "v");
}

TEST_CASE("a body with no parts is valid") {
    std::vector<mp::part> parts{mp::part{}};
    CHECK(mp::parse("--b--\r\n", "b", parts));
    CHECK(parts.empty());
}

TEST_CASE("data may hold any bytes, NUL and CR included") {
    std::string body =
        "--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.bin\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n";
    std::string data("\0\r\r\n\n--b\xff", 9);
    body += data;
    body += "\r\n--b--";
    std::vector<mp::part> parts;
    REQUIRE(mp::parse(body, "b", parts));
    REQUIRE(parts.size() == 1);
    CHECK(parts[0].data == data);
}

TEST_CASE("name and filename keep their raw quoted contents; unquote undoes escapes") {
    std::string_view body =
        "--b\r\nContent-Disposition: form-data; name=\"a\\\"b\"; filename=\"C:\\dir\\f;1.txt\"\r\n\r\n"
        "x\r\n--b--";
    std::vector<mp::part> parts;
    REQUIRE(mp::parse(body, "b", parts));
    REQUIRE(parts.size() == 1);
    CHECK(parts[0].name == "a\\\"b");
    CHECK(parts[0].filename == "C:\\dir\\f;1.txt");
    std::string name;
    mp::unquote(parts[0].name, name);
    CHECK(name == "a\"b");
}

TEST_CASE("an empty filename still marks a file field") {
    std::string_view body =
        "--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n\r\n--b--";
    std::vector<mp::part> parts;
    REQUIRE(mp::parse(body, "b", parts));
    REQUIRE(parts.size() == 1);
    CHECK(parts[0].has_filename);
    CHECK(parts[0].filename.empty());
    CHECK(parts[0].data.empty());
}

TEST_CASE("Content-Disposition: other parameters are ignored, including filename*") {
    std::string_view body =
        "--b\r\nContent-Disposition: FORM-DATA;name=n ; filename*=UTF-8''x.txt; size=3\r\n\r\n"
        "abc\r\n--b--";
    std::vector<mp::part> parts;
    REQUIRE(mp::parse(body, "b", parts));
    REQUIRE(parts.size() == 1);
    CHECK(parts[0].name == "n");
    CHECK_FALSE(parts[0].has_filename);
}

namespace {
bool parses(std::string_view body, std::string_view boundary = "b", std::size_t max_parts = 100) {
    std::vector<mp::part> parts;
    bool ok = mp::parse(body, boundary, parts, max_parts);
    if (!ok) CHECK(parts.empty());
    return ok;
}
constexpr std::string_view field = "Content-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n";
std::string body_of(int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += "--b\r\n" + std::string(field);
    return s + "--b--\r\n";
}
}  // namespace

TEST_CASE("parse rejects a body without a close delimiter") {
    CHECK(parses(body_of(1)));
    CHECK_FALSE(parses("--b\r\n" + std::string(field)));
    CHECK_FALSE(parses("--b\r\n" + std::string(field) + "--b\r\n"));
    CHECK_FALSE(parses("--b\r\n" + std::string(field) + "--b"));
    CHECK_FALSE(parses("--b\r\n" + std::string(field) + "--b-"));
}

TEST_CASE("parse rejects a body without any delimiter") {
    CHECK_FALSE(parses(""));
    CHECK_FALSE(parses("no delimiter here"));
    CHECK_FALSE(parses("x--b--"));          // not at the start of a line
    CHECK_FALSE(parses("--bb\r\n--bb--"));  // only a longer boundary
}

TEST_CASE("parse rejects a part without Content-Disposition") {
    CHECK_FALSE(parses("--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--"));
    CHECK_FALSE(parses("--b\r\n\r\nx\r\n--b--"));
}

TEST_CASE("parse rejects a Content-Disposition that is not form-data with a name") {
    CHECK_FALSE(parses("--b\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--b--"));
    CHECK_FALSE(parses("--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--"));
    CHECK_FALSE(parses("--b\r\nContent-Disposition: form-data; filename=\"f\"\r\n\r\nx\r\n--b--"));
    CHECK_FALSE(parses("--b\r\nContent-Disposition: form-data; name=\"a\r\n\r\nx\r\n--b--"));
    CHECK_FALSE(parses("--b\r\nContent-Disposition: form-data; name=a; name=b\r\n\r\nx\r\n--b--"));
    CHECK_FALSE(parses("--b\r\nContent-Disposition: form-data; name=a b\r\n\r\nx\r\n--b--"));
    CHECK_FALSE(parses("--b\r\nContent-Disposition: form-data; name=\r\n\r\nx\r\n--b--"));
}

TEST_CASE("parse rejects malformed or repeated part headers") {
    CHECK_FALSE(parses("--b\r\nContent-Disposition: form-data; name=a\r\nno colon\r\n\r\nx\r\n--b--"));
    CHECK_FALSE(parses("--b\r\nContent-Disposition: form-data; name=a\r\nBad Name: 1\r\n\r\nx\r\n--b--"));
    CHECK_FALSE(parses("--b\r\nContent-Disposition: form-data; name=a\r\n folded\r\n\r\nx\r\n--b--"));
    CHECK_FALSE(parses("--b\r\nContent-Disposition: form-data; name=a\r\nX: a\rb\r\n\r\nx\r\n--b--"));
    CHECK_FALSE(parses("--b\r\nContent-Disposition: form-data; name=a\nX: 1\r\n\r\nx\r\n--b--"));
    CHECK_FALSE(
        parses("--b\r\nContent-Disposition: form-data; name=a\r\n"
               "Content-Disposition: form-data; name=b\r\n\r\nx\r\n--b--"));
    CHECK_FALSE(
        parses("--b\r\nContent-Disposition: form-data; name=a\r\nContent-Type: a/b\r\n"
               "content-type: c/d\r\n\r\nx\r\n--b--"));
}

TEST_CASE("parse rejects a part whose headers do not end with a blank line") {
    CHECK_FALSE(parses("--b\r\nContent-Disposition: form-data; name=a\r\n--b--"));
    CHECK_FALSE(parses("--b\r\nContent-Disposition: form-data; name=a\r\nx\r\n--b--"));
}

TEST_CASE("parse enforces max_parts") {
    CHECK(parses(body_of(3), "b", 3));
    CHECK_FALSE(parses(body_of(4), "b", 3));
    CHECK(parses(body_of(100)));
    CHECK_FALSE(parses(body_of(101)));
    CHECK(parses(body_of(0), "b", 0));
}

TEST_CASE("parse refuses an empty or oversized boundary") {
    CHECK_FALSE(parses("--\r\n" + std::string(field) + "----", ""));
    std::string b(71, 'x');
    CHECK_FALSE(parses("--" + b + "\r\n" + std::string(field) + "--" + b + "--", b));
}

TEST_CASE("parse replaces what out held, and empties it on failure") {
    std::vector<mp::part> parts(5);
    REQUIRE(mp::parse(body_of(2), "b", parts));
    CHECK(parts.size() == 2);
    CHECK_FALSE(mp::parse("--b\r\n", "b", parts));
    CHECK(parts.empty());
}

TEST_CASE("parse stays linear on bodies full of near-delimiters") {
    // Every line looks like the start of a delimiter; a quadratic scan would take minutes.
    std::string body = "--b\r\nContent-Disposition: form-data; name=a\r\n\r\n";
    for (int i = 0; i < 200000; ++i) body += "\r\n--bx";
    body += "\r\n--b--";
    std::vector<mp::part> parts;
    REQUIRE(mp::parse(body, "b", parts));
    CHECK(parts.size() == 1);
    CHECK(parts[0].data.size() == 200000 * 6);

    std::string crs = "--b\r\nContent-Disposition: form-data; name=a\r\n\r\n";
    crs.append(1 << 20, '\r');
    crs += "\r\n--b--";
    REQUIRE(mp::parse(crs, "b", parts));
    CHECK(parts[0].data.size() == 1 << 20);
}

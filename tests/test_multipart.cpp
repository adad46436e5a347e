// multipart/form-data (multipart.hpp): the boundary, parse() of a whole body, and stream_parser.
#include <porthole/multipart.hpp>

#include "multipart_support.hpp"

#include <doctest/doctest.h>

#include <random>
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

TEST_CASE(
    "a browser's file name ending in a backslash: filename=\"dir\\\" is read as dir\\, by parse and stream_parser") {
    // HTML's multipart/form-data encoding writes '"' as %22 and '\' as it is (Chromium, Firefox,
    // Node's FormData), so the backslash before the closing quote is the name's own.
    std::string body =
        "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"dir\\\"\r\n\r\n"
        "x\r\n--b--";
    std::vector<mp::part> parts;
    REQUIRE(mp::parse(body, "b", parts));
    REQUIRE(parts.size() == 1);
    CHECK(parts[0].name == "file");
    CHECK(parts[0].filename == "dir\\");
    std::string unquoted;
    mp::unquote(parts[0].filename, unquoted);
    CHECK(unquoted == "dir\\");
    std::vector<collected_part> got;
    collector on{&got};
    mp::stream_parser sp("b");
    for (char ch : body) REQUIRE(sp.feed(std::string_view(&ch, 1), on));
    CHECK(sp.done());
    REQUIRE(got.size() == 1);
    CHECK(got[0].filename == "dir\\");
    // The quoted-pair reading stands where it closes the string: the browser reading is for a
    // string it leaves open, and what follows must still be parameters.
    body.replace(body.find("filename=\"dir\\\""), 15, "filename=\"a\\\"b\"");
    REQUIRE(mp::parse(body, "b", parts));
    CHECK(parts[0].filename == "a\\\"b");
    // Only a last parameter is read so: a string a quoted-pair reader holds open hides nothing
    // from it (a file name, here, that it would not see).
    for (std::string_view bad : {"filename=\"dir\\\"; name=\"f\"", "filename=\"a\\\"b", "filename=\"a\\",
                                 "name=\"a\\\"; filename=evil.php", "name=\"a\\\" x"}) {
        CAPTURE(bad);
        std::string disposition = "--b\r\nContent-Disposition: form-data; " + std::string(bad);
        if (bad.find("name=") == std::string_view::npos) disposition += "; name=f";
        CHECK_FALSE(mp::parse(disposition + "\r\n\r\nx\r\n--b--", "b", parts));
    }
    // A media type's parameters stay RFC 9110 quoted-strings.
    CHECK_FALSE(mp::boundary_from_content_type("multipart/form-data; boundary=\"b\\\""));
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

// ---------------------------------------------------------------- streamed

TEST_CASE("multipart::stream_parser gives what parse() gives, however the body is split") {
    // Content that looks like delimiters but is not: a prefix, the boundary run on, a bare CR.
    std::string file = "one\r\n--XyZa\r\n--Xy\r\r\n-\r\n--XyZ-x\r\n--XyZ \tz end";
    auto body = form_body(file);
    std::vector<multipart::part> whole;
    REQUIRE(multipart::parse(body, "XyZ", whole));
    std::vector<collected_part> expected;
    for (auto const& p : whole)
        expected.push_back(
            {std::string(p.name), std::string(p.filename), std::string(p.content_type), std::string(p.data), true});
    for (std::size_t step = 1; step <= body.size(); step += (step < 12 ? 1 : 7)) {
        std::vector<collected_part> got;
        collector on{&got};
        multipart::stream_parser sp("XyZ");
        for (std::size_t i = 0; i < body.size(); i += step)
            REQUIRE(sp.feed(std::string_view(body).substr(i, step), on));
        CAPTURE(step);
        CHECK(sp.done());
        CHECK(got == expected);
    }
    // Malformed as parse() finds it: no close delimiter, a part without a name, a bad header.
    for (std::string bad : {std::string("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--XyZ\r\n"),
                            std::string("--XyZ\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XyZ--"),
                            std::string("--XyZ\r\nBad Header: x\r\n\r\nx\r\n--XyZ--")}) {
        std::vector<multipart::part> none;
        CHECK(!multipart::parse(bad, "XyZ", none));
        std::vector<collected_part> got;
        collector on{&got};
        multipart::stream_parser sp("XyZ");
        bool ok = true;
        for (char ch : bad) ok = ok && sp.feed(std::string_view(&ch, 1), on);
        CHECK((!ok || !sp.done()));
    }
}

TEST_CASE("multipart::stream_parser: a handler's data() that returns false pauses it right there") {
    // Pauses at every piece of data: what it gives, fed again with nothing each time, is what
    // parse() gives, and nothing is called between a pause and the next feed.
    struct pausing : collector {
        int calls_since_pause = 0;
        bool paused = false;
        void part(multipart::part const& p) {
            CHECK_FALSE(paused);
            collector::part(p);
        }
        bool data(std::string_view piece) {
            CHECK_FALSE(paused);
            collector::data(piece);
            paused = true;
            return false;
        }
        void part_end() {
            CHECK_FALSE(paused);
            collector::part_end();
        }
    };
    std::string file(5000, 'f');
    auto body = form_body(file);
    std::vector<multipart::part> whole;
    REQUIRE(multipart::parse(body, "XyZ", whole));
    for (std::size_t step : {std::size_t{7}, std::size_t{4096}, body.size()}) {
        CAPTURE(step);
        std::vector<collected_part> got;
        pausing on{{&got}};
        multipart::stream_parser sp("XyZ", 100, 128);  // a header block of 128 bytes at most, not what it holds paused
        int pauses = 0;
        for (std::size_t i = 0; i < body.size(); i += step) {
            REQUIRE(sp.feed(std::string_view(body).substr(i, step), on));
            while (sp.paused()) {  // what it held is parsed before any more is given
                ++pauses;
                on.paused = false;
                REQUIRE(sp.feed({}, on));
            }
            on.paused = false;
        }
        CHECK(sp.done());
        REQUIRE(got.size() == whole.size());
        for (std::size_t k = 0; k < got.size(); ++k) CHECK(got[k].data == whole[k].data);
        CHECK(pauses > 0);
    }
}

TEST_CASE("multipart::stream_parser: a delimiter inside a header block ends the part there, as for parse()") {
    // "a:" is a boundary whose delimiter line "--a:" also reads as a header field.
    std::string body = "--a:\r\nContent-Disposition: form-data; name=\"x\"\r\n--a:\r\n\r\ndata\r\n--a:--";
    std::vector<multipart::part> whole;
    CHECK(!multipart::parse(body, "a:", whole));
    for (std::size_t step : {std::size_t(1), std::size_t(5), body.size()}) {
        std::vector<collected_part> got;
        collector on{&got};
        multipart::stream_parser sp("a:");
        bool ok = true;
        for (std::size_t i = 0; i < body.size() && ok; i += step)
            ok = sp.feed(std::string_view(body).substr(i, step), on);
        CHECK((!ok || !sp.done()));
    }
    // A header block whose blank line may begin a delimiter ("\r\n\r\n--XyZ" and padding): the
    // parser waits for the line's end, and reads it as parse() does, whichever way it ends.
    for (std::string end : {std::string("\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--XyZ--"),
                            std::string("x\r\n--XyZ--")}) {
        std::string head = "--XyZ\r\nContent-Disposition: form-data; name=\"h\"\r\nX: a" + std::string(300, '\r');
        std::string padded = head + "\r\n\r\n--XyZ" + std::string(200, ' ') + end;
        std::vector<multipart::part> expected;
        bool parsed = multipart::parse(padded, "XyZ", expected);
        std::vector<collected_part> got;
        collector on{&got};
        multipart::stream_parser sp("XyZ");
        bool ok = true;
        for (std::size_t i = 0; i < padded.size() && ok; ++i) ok = sp.feed(std::string_view(padded).substr(i, 1), on);
        CAPTURE(end);
        CHECK((ok && sp.done()) == parsed);
        if (parsed) CHECK(got.size() == expected.size());
    }
}

TEST_CASE("multipart: a boundary that is not 1 to 70 bchars is refused by parse() and stream_parser alike") {
    // "\r\n--" as a boundary lets one delimiter begin inside another: split byte by byte, this
    // body once read as an empty form although parse() refused it.
    std::string body = "\r\n--\r\n--\r\n--\r\n----";
    std::string valid = "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--b--";
    struct refused {
        std::string boundary, text;
    };
    for (auto const& refusal : {refused{"\r\n--", body}, refused{"b ", valid}, refused{std::string(71, 'b'), valid},
                                refused{"b\r\n", valid}, refused{"b;", valid}}) {
        auto const& [boundary, text] = refusal;
        CAPTURE(refusal.boundary);
        std::vector<multipart::part> none;
        CHECK(!multipart::parse(text, boundary, none));
        for (std::size_t step : {std::size_t(1), text.size()}) {
            std::vector<collected_part> got;
            collector on{&got};
            multipart::stream_parser sp(boundary);
            bool ok = true;
            for (std::size_t i = 0; i < text.size() && ok; i += step)
                ok = sp.feed(std::string_view(text).substr(i, step), on);
            CHECK(!ok);
            CHECK(!sp.done());
            CHECK(got.empty());
        }
    }
    std::vector<multipart::part> one;
    CHECK(multipart::parse(valid, "b", one));
    CHECK(one.size() == 1);
}

TEST_CASE("multipart::stream_parser holds a few KiB whatever the size of a part, and bounds a header block") {
    std::vector<collected_part> got;
    collector on{&got};
    multipart::stream_parser sp("b");
    REQUIRE(sp.feed("--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x\"\r\n\r\n", on));
    std::string block(64 * 1024, '\r');  // CRs everywhere: each could start a delimiter
    for (int i = 0; i < 64; ++i) REQUIRE(sp.feed(block, on));
    REQUIRE(sp.feed("\r\n--b--", on));
    CHECK(sp.done());
    REQUIRE(got.size() == 1);
    CHECK(got[0].data.size() == 64u * block.size());

    multipart::stream_parser huge("b");
    REQUIRE(huge.feed("--b\r\nContent-Disposition: form-data; name=\"f\"\r\nX-Long: ", on));
    bool ok = true;
    for (int i = 0; i < 8 && ok; ++i) ok = huge.feed(std::string(4096, 'a'), on);
    CHECK(!ok);
    CHECK(huge.failed());

    // The bound holds however the block arrives: whole in one piece, or its last bytes later;
    // a block of max_head bytes passes either way, one more byte fails either way.
    std::string const lead = "--b\r\nContent-Disposition: form-data; name=\"f\"\r\nX: ";
    for (std::size_t size : {std::size_t{1024}, std::size_t{1025}}) {
        std::string body = lead + std::string(size - lead.size() + 5 - 4, 'a') + "\r\n\r\nx\r\n--b--";
        CHECK(body.find("\r\n\r\n") + 4 - 5 == size);  // the header block, after "--b\r\n"
        for (std::size_t late : {std::size_t{0}, std::size_t{20}}) {
            CAPTURE(size);
            CAPTURE(late);
            multipart::stream_parser sp("b", 100, 1024);
            bool fed = sp.feed(std::string_view(body).substr(0, body.size() - late), on) &&
                       sp.feed(std::string_view(body).substr(body.size() - late), on);
            CHECK(fed == (size <= 1024));
            CHECK(sp.done() == (size <= 1024));
        }
    }

    // So does the bound on a delimiter line's padding: whole, or split anywhere in it.
    for (std::size_t pad : {std::size_t{1000}, std::size_t{20000}}) {
        std::string body =
            "--b" + std::string(pad, ' ') + "\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nx\r\n--b--";
        for (std::size_t cut : {std::size_t{0}, std::size_t{17}, pad / 2, pad + 2}) {
            CAPTURE(pad);
            CAPTURE(cut);
            multipart::stream_parser sp("b", 100, 1024);
            bool fed =
                sp.feed(std::string_view(body).substr(0, cut), on) && sp.feed(std::string_view(body).substr(cut), on);
            CHECK(fed == (pad < 1024));
            CHECK(sp.done() == (pad < 1024));
        }
    }
}

TEST_CASE("multipart::stream_parser reads padded delimiter lines as parse() does, however they arrive") {
    // Bodies made of delimiter lines with padding, lines that begin as one and turn out content,
    // and data beginning with the boundary right after a header block; fed whole, a byte at a
    // time and at random cuts, by a handler that pauses at random.
    std::mt19937 random(20261206);
    auto pick = [&](std::size_t n) { return static_cast<std::size_t>(random() % n); };
    auto padding = [&] {
        std::string pad;
        for (std::size_t n = pick(4) == 0 ? 0 : pick(40); n > 0; --n) pad += pick(2) ? ' ' : '\t';
        return pad;
    };
    auto near_delimiter = [&]() -> std::string {
        switch (pick(6)) {
            case 0: return "\r\n--b" + padding() + "x";
            case 1: return "\r\n--b" + padding() + "\rx";
            case 2: return "\r\n--b-" + padding();
            case 3: return "\r\n--bb" + padding() + "\r\n";
            case 4: return "--b" + padding() + "y";
            default: return "\r";
        }
    };
    struct pausing : collector {
        std::mt19937* random;
        bool data(std::string_view piece) {
            collector::data(piece);
            return (*random)() % 3 != 0;
        }
    };
    int parsed_bodies = 0;
    for (int round = 0; round < 300; ++round) {
        std::string body;
        switch (pick(3)) {
            case 0: body = "--b" + padding() + "\r\n"; break;
            case 1: body = "pre" + near_delimiter() + "\r\n--b" + padding() + "\r\n"; break;
            default: body = "--b" + padding() + "y" + near_delimiter() + "\r\n--b" + padding() + "\r\n"; break;
        }
        for (std::size_t part = 0, parts = 1 + pick(3); part < parts; ++part) {
            body += "Content-Disposition: form-data; name=\"p" + std::to_string(part) + "\"\r\n\r\n";
            if (pick(3) == 0) body += "--b" + padding() + "z";  // may begin a delimiter at the blank line
            for (std::size_t k = pick(4); k > 0; --k) body += "data" + near_delimiter();
            body += part + 1 < parts ? "\r\n--b" + padding() + "\r\n" : std::string("\r\n--b--");
        }
        if (pick(2)) body += "\r\nepilogue" + near_delimiter();
        CAPTURE(body);
        std::vector<multipart::part> whole;
        bool const parsed = multipart::parse(body, "b", whole);
        parsed_bodies += parsed;
        std::vector<collected_part> expected;
        for (auto const& p : whole) expected.push_back({std::string(p.name), "", "", std::string(p.data), true});
        for (std::size_t cuts : {std::size_t{0}, std::size_t{1}, std::size_t{2}}) {
            CAPTURE(cuts);
            std::vector<collected_part> got;
            pausing on{{&got}, &random};
            multipart::stream_parser sp("b");
            bool ok = true;
            for (std::size_t i = 0; i < body.size() && ok;) {
                std::size_t step = cuts == 0 ? body.size() : cuts == 1 ? 1 : 1 + pick(12);
                ok = sp.feed(std::string_view(body).substr(i, step), on);
                while (ok && sp.paused()) ok = sp.feed({}, on);
                i += step;
            }
            CHECK((ok && sp.done()) == parsed);
            if (parsed) CHECK(got == expected);
        }
    }
    CHECK(parsed_bodies > 100);  // most bodies are forms: the comparison is not of refusals only

    // A body that begins like a padded delimiter and turns out preamble, cut right after it: what
    // was read of that line is not taken for the next line's (a line made up, or one missed).
    std::string const form = "Content-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--b--";
    for (auto const& cut : {std::pair<std::string, std::string>{"--b   y", "\r\n--bX\r\n" + form},
                            std::pair<std::string, std::string>{"--b     y", "\r\n--b\r\n" + form}}) {
        std::string const& first = cut.first;
        std::string const& rest = cut.second;
        CAPTURE(first);
        std::vector<multipart::part> whole;
        bool const parsed = multipart::parse(first + rest, "b", whole);
        std::vector<collected_part> got;
        collector on{&got};
        multipart::stream_parser sp("b");
        bool ok = sp.feed(first, on) && sp.feed(rest, on);
        CHECK((ok && sp.done()) == parsed);
        CHECK(got.size() == whole.size());
    }
}

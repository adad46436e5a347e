// porthole::testing (testing.hpp): the response parser, requests described in a few words, and
// the in-memory client, which delivers what other threads hand a connection only at step().
#include <porthole/testing.hpp>

#include <porthole/blocking.hpp>
#include <porthole/stream.hpp>
#include <porthole/worker_pool.hpp>

#include "connection_output.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace porthole;
using connection_output::with_dates_masked;
using porthole::testing::parse_responses;
using porthole::testing::simple_request;

TEST_CASE("parse_responses splits a stream by Content-Length, chunked coding, and the end of the stream") {
    auto rs = parse_responses(
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nx-a:  2 \r\n\r\nhello"
        "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\na\r\n0123456789\r\n0\r\n\r\n"
        "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nthe rest, to the end");
    REQUIRE(rs.size() == 3);
    CHECK(rs[0].status == 200);
    CHECK(rs[0].reason == "OK");
    CHECK(rs[0].body == "hello");
    CHECK(rs[0].complete);
    CHECK(rs[0].header("x-A") == "1");  // any case, the first of several
    CHECK(rs[0].count_header("X-A") == 2);
    CHECK(rs[0].headers[2].second == "2");  // values without their surrounding whitespace
    CHECK_FALSE(rs[0].header("X-B").has_value());
    CHECK(rs[0].count_header("X-B") == 0);
    CHECK(rs[1].status == 404);
    CHECK(rs[1].reason == "Not Found");
    CHECK(rs[1].body == "abc0123456789");
    CHECK(rs[1].complete);
    CHECK(rs[2].body == "the rest, to the end");
    CHECK(rs[2].complete);
}

TEST_CASE("parse_responses: interim responses, HEAD answers and 204/304 carry no body; a short body is incomplete") {
    auto rs = parse_responses(
        "HTTP/1.1 100 Continue\r\n\r\n"
        "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n"  // answers a HEAD: no body follows
        "HTTP/1.1 204 No Content\r\n\r\n"
        "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"
        "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        {true, false, false, false});
    REQUIRE(rs.size() == 5);
    CHECK(rs[0].status == 100);
    CHECK(rs[1].status == 200);
    CHECK(rs[1].body.empty());
    CHECK(rs[1].complete);
    CHECK(rs[2].status == 204);
    CHECK(rs[3].status == 304);
    CHECK(rs[3].body.empty());
    CHECK(rs[4].body == "short");
    CHECK_FALSE(rs[4].complete);
    // An unfinished chunked body is incomplete too; what is not a response ends the parse.
    rs = parse_responses("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab");
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].body == "ab");  // what has arrived of the chunk
    CHECK_FALSE(rs[0].complete);
    // Chunked bodies are read by the server's own decoder: extensions and a trailer section
    // are taken, and a malformed size line leaves the response incomplete and ends the parse.
    rs = parse_responses(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;name=\"v\"\r\nab\r\n0\r\nX-T: 1\r\n\r\n"
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\ncd\r\nzz\r\nef\r\n0\r\n\r\n"
        "HTTP/1.1 204 No Content\r\n\r\n");
    REQUIRE(rs.size() == 2);
    CHECK(rs[0].body == "ab");
    CHECK(rs[0].complete);
    CHECK(rs[1].body == "cd");
    CHECK_FALSE(rs[1].complete);
    rs = parse_responses("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY1\r\nc\r\n0\r\n\r\n");
    REQUIRE(rs.size() == 1);  // data not followed by CRLF
    CHECK_FALSE(rs[0].complete);
    // A response where a size line should be ends the parse too, rather than being read as the next.
    rs = parse_responses(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n"
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].body == "ab");
    CHECK_FALSE(rs[0].complete);
    CHECK(parse_responses("garbage\r\n\r\n").empty());
    CHECK(parse_responses("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n").empty());  // the head is not finished
}

TEST_CASE("simple_request writes a request line, Host, its fields, and a length only when a body may come") {
    CHECK(simple_request{}.serialize() == "GET / HTTP/1.1\r\nHost: test\r\n\r\n");
    CHECK(simple_request{method::post, "/p?q=1", {{"X-A", "1"}, {"X-B", "2"}}, {}}.serialize() ==
          "POST /p?q=1 HTTP/1.1\r\nHost: test\r\nX-A: 1\r\nX-B: 2\r\nContent-Length: 0\r\n\r\n");
    CHECK(simple_request{method::put, "/", {}, "data"}.serialize() ==
          "PUT / HTTP/1.1\r\nHost: test\r\nContent-Length: 4\r\n\r\ndata");
    CHECK(simple_request{method::delete_, "/x", {}, {}}.serialize() == "DELETE /x HTTP/1.1\r\nHost: test\r\n\r\n");
}

TEST_CASE("a client gets the same responses however the bytes are cut, and collects all the output") {
    auto app = [](request const& req) { return response::text(std::string(req.path())); };
    std::string const two = "GET /a HTTP/1.1\r\nHost: t\r\n\r\nGET /bb HTTP/1.1\r\nHost: t\r\n\r\n";
    testing::client whole(app);
    whole.send(two);
    testing::client cut(app);
    cut.send_split(two, {1, 5, 20, 27, 28, 40});
    CHECK(with_dates_masked(cut.output()) == with_dates_masked(whole.output()));
    auto rs = cut.responses();
    REQUIRE(rs.size() == 2);
    CHECK(rs[0].body == "/a");
    CHECK(rs[1].body == "/bb");
    CHECK_FALSE(cut.closed());
    cut.close_input();
    CHECK(cut.closed());
    CHECK(testing::get(app, "/c?d").body == "/c");
    auto head = testing::send(app, simple_request{method::head, "/h", {}, {}});
    CHECK(head.status == 200);
    CHECK(head.body.empty());
    CHECK(head.header("Content-Length") == "2");
}

TEST_CASE("a client's responses() stay valid until its next call: a reference into them does not dangle") {
    auto app = [](request const& req) { return std::string(req.path()); };
    testing::client c(app);
    c.send("GET /one HTTP/1.1\r\nHost: t\r\n\r\n");
    auto const& first = c.responses().at(0);  // into the client's own vector, not a temporary
    CHECK(first.status == 200);
    CHECK(first.body == "/one");
    auto const& all = c.responses();
    c.send("GET /two HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK(all.size() == 1);  // parsed when asked
    CHECK(&c.responses() == &all);
    REQUIRE(all.size() == 2);
    CHECK(all[1].body == "/two");
}

TEST_CASE("an answer from another thread waits in the client's mailbox until step() delivers it") {
    std::thread worker;
    std::promise<void> returned;  // the answer goes once send() is back: taken at once otherwise
    auto app = [&](request const& req) -> response {
        worker = std::thread([answer = answer_later(req), go = returned.get_future()]() mutable {
            go.wait();
            answer.send(response::text("later"));
        });
        return later;
    };
    testing::client c(app);
    c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    returned.set_value();
    worker.join();  // sent: it is in the mailbox now
    CHECK(c.responses().empty());
    CHECK(c.step() == 1);
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].body == "later");
    CHECK(c.step() == 0);
}

// How long a call took, in milliseconds.
template <class F>
std::int64_t took_ms(F&& f) {
    auto start = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
}

TEST_CASE("wait() sleeps until another thread hands the connection something, or for as long as it is told") {
    std::optional<responder> kept;
    std::optional<stream_writer> writer;
    auto app = [&](request const& req) -> response {
        kept.emplace(answer_later(req));
        return later;
    };
    testing::client c(app);
    c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    std::size_t got = 99;
    CHECK(took_ms([&] { got = c.wait(std::chrono::milliseconds(20)); }) >= 20);
    CHECK(got == 0);  // nothing came
    CHECK(c.responses().empty());
    std::thread worker([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        auto [res, w] = push_stream("text/plain", 4096);
        writer.emplace(w);
        kept->send(std::move(res));
    });
    // Woken by the answer, not after the minute.
    CHECK(took_ms([&] { got = c.wait(std::chrono::seconds(60)); }) < 30000);
    CHECK(got == 1);
    worker.join();
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 200);
    CHECK_FALSE(rs[0].complete);  // a live stream: its body comes as it is written
    // Delivered and taken: a wait finds nothing until the stream is written to.
    CHECK(took_ms([&] { got = c.wait(std::chrono::milliseconds(20)); }) >= 20);
    CHECK(got == 0);
    std::thread([&] { writer->write("one"); }).join();
    CHECK(c.wait(std::chrono::seconds(60)) == 1);
    CHECK(c.output().ends_with("3\r\none\r\n"));
    writer->close();
    CHECK(c.wait(std::chrono::milliseconds::max()) == 1);  // no overflow: woken at once
    CHECK(c.responses().at(0).complete);
}

TEST_CASE("testing::send waits for an answer that comes later, and gives the server's 503 when none comes") {
    std::vector<std::thread> workers;
    std::optional<responder> kept;
    auto app = [&](request const& req) -> response {
        if (req.path() == "/never") {
            kept.emplace(answer_later(req));
            return later;
        }
        workers.emplace_back([answer = answer_later(req), path = std::string(req.path())]() mutable {
            std::this_thread::sleep_for(std::chrono::milliseconds(30));
            if (path == "/dropped") return;  // a responder dropped unanswered: 500
            answer.send(response::text("worked on " + path));
        });
        return later;
    };
    testing::parsed_response done;
    CHECK(took_ms([&] { done = testing::get(app, "/job"); }) < 5000);  // woken by the answer, not the 10 s
    CHECK(done.status == 200);
    CHECK(done.body == "worked on /job");
    auto posted = testing::send(app, simple_request{method::post, "/post", {}, "x"});
    CHECK(posted.body == "worked on /post");
    std::vector<std::string> logged;  // the error log, as a server's would write it
    connection_config logging;
    logging.error_log = [&](std::string_view line) { logged.emplace_back(line); };
    CHECK(testing::send(app, simple_request{method::get, "/dropped", {}, {}}, logging).status == 500);
    auto never =
        testing::send(app, simple_request{method::get, "/never", {}, {}}, logging, std::chrono::milliseconds(30));
    REQUIRE(logged.size() == 2);
    CHECK(logged[0].find("a responder was destroyed without answering (GET /dropped)") != std::string::npos);
    CHECK(logged[1].find("did not answer in time") != std::string::npos);
    CHECK(never.status == 503);
    CHECK(never.header("Connection") == "close");
    CHECK_FALSE(kept->send(response::text("too late")));
    for (auto& w : workers) w.join();

    // A blocking handler on a worker pool answers from the pool's thread.
    worker_pool pool(1, 4);
    connection_config with_pool;
    with_pool.workers = &pool;
    auto slow = blocking([](request const&) { return std::string("from the pool"); });
    CHECK(testing::send(slow, simple_request{method::get, "/", {}, {}}, with_pool).body == "from the pool");
}

TEST_CASE(
    "time_out() is the driver's timer firing: an answer that never came is a 503; stop() is the server stopping") {
    std::optional<responder> kept;
    auto app = [&](request const& req) -> response {
        kept.emplace(answer_later(req));
        return later;
    };
    testing::client c(app);
    c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK(c.responses().empty());
    c.time_out();
    auto rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 503);
    CHECK(c.closed());
    CHECK_FALSE(kept->send(response::text("too late")));

    auto quick = [](request const&) { return "ok"; };
    testing::client idle(quick);
    idle.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK_FALSE(idle.closed());
    idle.stop();  // the server stopping: the next answer says Connection: close, and the connection ends
    idle.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    auto answers = idle.responses();
    REQUIRE(answers.size() == 2);
    CHECK(answers[0].header("Connection") != "close");
    CHECK(answers[1].header("Connection") == "close");
    CHECK(idle.closed());
}

TEST_CASE("a file that ended before its length closes the client's connection, as the event loop does") {
    // A response promised 100 bytes; the file was cut to 10 before it went out. The driver had
    // counted the 100 as written, so the next response was read as the rest of this one's body.
    auto path = (std::filesystem::temp_directory_path() /
                 ("porthole_test_testing_cut_" + std::to_string(std::random_device{}()) + ".txt"))
                    .string();
    std::ofstream(path, std::ios::binary) << std::string(100, 'A');
    auto app = [&](request const& req) -> response {
        if (req.path() != "/file") return response::text("small");
        auto res = response::file(path, "text/plain");
        std::filesystem::resize_file(path, 10);
        return std::move(*res);
    };
    testing::client c(app);
    c.send("GET /file HTTP/1.1\r\nHost: t\r\n\r\nGET /small HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK(c.closed());
    auto const& rs = c.responses();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].header("Content-Length") == "100");
    CHECK_FALSE(rs[0].complete);
    CHECK(rs[0].body == std::string(10, 'A'));
    c.send("GET /small HTTP/1.1\r\nHost: t\r\n\r\n");  // closed: nothing more is read
    CHECK(c.responses().size() == 1);
    std::filesystem::remove(path);
}

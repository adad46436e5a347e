// A porthole::connection with a small application (it echoes the path and the body length, with a
// few paths that exercise other kinds of response), fed arbitrary bytes in fuzzer-chosen pieces
// through each of its input functions, with its output drained by fuzzer-chosen partial amounts.
// Two connections on the same thread take the same steps side by side: neither may disturb the
// other (nothing of one connection's may be shared with another's).
//
// The application answers "/laterN" later, through a responder, N driver steps on; while such an
// answer is to come the input behind it waits (capped) and the memory bound still holds.
//
// Checked: what pending_output() shows only advances by what written() reported; the output is
// a sequence of well-framed HTTP/1.1 responses, one final response per access-log entry, no more
// than one per request served plus one error; nothing follows a "Connection: close" response;
// should_close() never goes back to false; the memory a connection holds stays within the bound
// docs/security.md states (tests/memory_bound.hpp); both connections write the same bytes; a third
// connection given all the bytes in one piece gives the same responses (see the end of
// one_input for the two differences allowed).
//
// Input layout: a control byte, a step-count byte, that many (piece, drain) byte pairs, then
// the bytes to feed.
//   control bits 0-1: parser limits (fuzz_support::limits_from)
//           bit 2:    small max_output_buffered (the connection pauses reading)
//           bit 3:    small inline_body_limit (bodies are referenced, not copied)
//           bit 4:    end with timeout() instead of read_eof()
//           bit 5:    Server header on
//           bit 6:    the application has streamed routes (streamed_echo_app): every head is
//                     parsed on its own first, and "/up..." bodies go to a sink as they arrive
//   piece: how many bytes to feed in this step (0: none); the steps repeat until all are fed
//   drain: bits 0-1 choose the input function (string_view, in-place span, read_buffer/commit);
//          bits 2-7 how much pending output to consume (0: none, 63: all, else a share)
#include "../memory_bound.hpp"
#include "fuzz_support.hpp"
#include "limits.hpp"

#include <porthole/connection.hpp>

#include <cstdlib>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace fuzz_connection {

using namespace porthole;

// An answer the application gives later: sent once the driver has taken `delay` more steps.
struct later_answer {
    responder answer;
    unsigned delay;
    std::string body;
};

struct echo_app {
    std::vector<later_answer>* later = nullptr;
    response operator()(request const& r) const {
        auto path = r.path();
        if (path.starts_with("/later") && later) {  // "/laterN": answered N (0-3) steps on
            unsigned delay = path.size() > 6 ? static_cast<unsigned>(path[6]) % 4 : 1;
            later->push_back({answer_later(r), delay, "later " + std::to_string(r.body().size())});
            return porthole::later;
        }
        // Touch the request's parsing helpers; they must cope with whatever came in.
        auto q = r.query("v");
        auto f = r.form("f");
        auto c = r.cookie("sid");
        std::size_t params = 0;
        for (auto const& p : r.query_params()) params += p.name.size() + p.value.size() > 0;

        if (path.starts_with("/big")) return response::text(std::string(20000, 'b'));
        if (path.starts_with("/static")) return response::static_text("a static body, referenced and never copied");
        if (path.starts_with("/empty")) return status::no_content;
        if (path.starts_with("/missing")) return to_response(std::optional<std::string>{});
        if (path.starts_with("/close")) return response::text("bye").set_header("Connection", "close");
        if (path.starts_with("/header")) return response::text("h").set_header("X-Echo", q.value_or(""));
        if (path.starts_with("/throw")) throw std::runtime_error("thrown by the application");
        if (path.starts_with("/stream")) {
            auto left = std::make_shared<int>(3);
            return response::stream([left]() -> std::optional<std::string> {
                if (*left == 0) return std::nullopt;
                --*left;
                return std::string(static_cast<std::size_t>(*left) * 5, 's');  // one empty piece too
            });
        }
        return to_response("path=" + std::string(path) + " body=" + std::to_string(r.body().size()) +
                           " q=" + std::to_string(q ? q->size() : 0) + " f=" + std::to_string(f ? f->size() : 0) +
                           " c=" + std::to_string(c ? c->size() : 0) + " p=" + std::to_string(params));
    }
};

// The same application with streamed routes (body_stream.hpp): a POST, PUT... to "/up..." has
// its body taken by a sink as it arrives, at most 64 bytes (413 beyond), and answered with its
// size. It answers refusals too (app.hpp): a body over the parser's limit elsewhere is its 413. (A sink that stops
// early is not here: where it stops depends on how the body arrived, and this target compares splits.)
struct streamed_echo_app : echo_app {
    struct counter {
        std::size_t bytes = 0;
        void data(std::string_view piece) { bytes += piece.size(); }
        response end() { return response::text("took " + std::to_string(bytes)); }
    };
    std::optional<body_plan> plan_body(request const& r) const {
        if (!r.path().starts_with("/up")) return std::nullopt;
        return body_plan{.max_size = 64};
    }
    response operator()(request const& r) const {
        if (!r.path().starts_with("/up")) return echo_app::operator()(r);
        return take_body(r, counter{});
    }
    response refuse(request const& r, status st) const {
        if (body_delivery_of(r) != body_delivery::refused || !r.body().empty()) std::abort();  // not caught
        return response::text("refused " + std::string(r.path()), st);
    }
};
static_assert(detail::plans_bodies<streamed_echo_app> && answers_refusals<streamed_echo_app>);

struct logged {
    std::string method;
    unsigned status;
    bool error;  // the connection's own answer, to no request it served (a malformed head, a timeout...)
    friend bool operator==(logged const&, logged const&) = default;
};

inline std::string without_continue(std::string s) {
    constexpr std::string_view interim = "HTTP/1.1 100 Continue\r\n\r\n";
    for (auto at = s.find(interim); at != std::string::npos; at = s.find(interim, at)) s.erase(at, interim.size());
    return s;
}

// The largest string body echo_app returns ("/big", or the echoed path and counts), and the
// largest head (X-Echo carries a query value).
inline test_support::application_sizes app_sizes(connection_config const& c, std::size_t read) {
    return {read, std::max<std::size_t>(20000, c.limits.max_request_line + 128), c.limits.max_request_line + 512};
}

template <class App>
struct side {
    explicit side(connection_config config) : limits(config), logged_config(std::move(config)) {
        // Each request served gets one entry, its answer's; an entry written with no request
        // served since the previous one is the connection's own answer, which ends it. (Its
        // method and target name the request when the head was read, so they cannot tell.)
        logged_config.access_log = [this](access_entry const& e) {
            auto served = conn ? conn->requests_served() : 0;
            log.push_back({std::string(e.method), static_cast<unsigned>(to_int(e.status)), served == served_logged});
            served_logged = served;
        };
        logged_config.error_log = [](std::string_view) {};
        app.later = &later;
        conn = std::make_unique<connection<App>>(app, logged_config);
        conn->attach(box, this);
    }
    ~side() { box->close(); }
    connection_config limits;
    connection_config logged_config;  // the connection refers to it
    App app;
    std::vector<later_answer> later;
    std::shared_ptr<mailbox> box = std::make_shared<mailbox>();
    std::vector<logged> log;
    std::string written;
    std::string fed;               // every byte fed, in order
    std::size_t largest_read = 0;  // the largest piece fed: the driver's read size
    bool closed_seen = false;
    std::unique_ptr<connection<App>> conn;
    std::uint64_t served_logged = 0;  // requests served when the last entry was written
};

template <class Conn>
std::string visible(Conn& c) {
    std::string s;
    for (auto const& chunk : c.pending_output()) {
        FUZZ_CHECK(chunk.file_fd < 0);
        FUZZ_CHECK(chunk.size() > 0);  // an empty chunk would make a driver spin
        s.append(chunk.memory);
    }
    return s;
}

template <class Side>
void check_state(Side& s) {
    FUZZ_CHECK(s.conn->memory_held() <=
               test_support::connection_memory_bound(s.limits, app_sizes(s.limits, s.largest_read)));
    if (s.closed_seen) FUZZ_CHECK(s.conn->should_close());
    s.closed_seen = s.conn->should_close();
    if (s.conn->should_close()) FUZZ_CHECK(!s.conn->wants_read());
    FUZZ_CHECK(s.conn->has_output() == !s.conn->pending_output().empty());
}

// Consumes `share` (1-62 of 63, or all) of what is visible now, keeping it as written.
template <class Side>
void drain(Side& s, unsigned share) {
    if (share == 0) return;
    for (;;) {
        auto before = visible(*s.conn);
        if (before.empty()) return;
        std::size_t n = share >= 63 ? before.size() : std::max<std::size_t>(1, before.size() * share / 63);
        s.written.append(before, 0, n);
        s.conn->written(n);
        auto after = visible(*s.conn);
        auto expected = std::string_view(before).substr(n);
        auto common = std::min(expected.size(), after.size());
        FUZZ_CHECK(std::string_view(after).substr(0, common) == expected.substr(0, common));
        check_state(s);
        if (share < 63) return;
    }
}

// A driver's step for answers that come later: those due now are sent (all of them when `all`)
// and delivered through the mailbox; the others come a step nearer.
template <class Side>
void answer_due(Side& s, bool all) {
    std::vector<later_answer> due;
    for (auto it = s.later.begin(); it != s.later.end();) {
        if (all || it->delay == 0) {
            due.push_back(std::move(*it));
            it = s.later.erase(it);
        } else {
            --it->delay;
            ++it;
        }
    }
    for (auto& d : due) d.answer.send(response::text(std::move(d.body)));
    if (!due.empty()) s.box->run([](void*) {});
    check_state(s);
}

// Every answer still to come is given, and what it lets through answered too (a later answer
// can let a request wait behind another later one).
template <class Side>
void answer_all(Side& s) {
    while (!s.later.empty()) {
        answer_due(s, true);
        drain(s, 63);
    }
}

template <class Side>
void feed(Side& s, std::string_view piece, unsigned mode) {
    auto& c = *s.conn;
    s.fed.append(piece);
    s.largest_read = std::max(s.largest_read, piece.size());
    if (mode == 1 || mode == 3) {
        fuzz_support::exact_buffer buf(piece);  // freed right after: nothing may point into it
        c.feed(std::span<char>(buf.data(), buf.size()));
    } else if (mode == 2 && c.wants_read()) {
        while (!piece.empty()) {
            auto room = c.read_buffer();
            FUZZ_CHECK(!room.empty());
            auto n = std::min(room.size(), piece.size());
            std::memcpy(room.data(), piece.data(), n);
            c.commit(n);
            piece.remove_prefix(n);
            if (!c.wants_read()) break;
        }
        if (!piece.empty()) c.feed(piece);  // a driver would wait; this one hands the rest over anyway
    } else {
        c.feed(piece);
    }
    check_state(s);
}

// Splits what a side wrote into responses and checks them against its access log.
template <class Side>
void check_transcript(Side const& s, std::size_t served) {
    if (std::getenv("FUZZ_DUMP")) std::fprintf(stderr, "[%s]\n", s.written.c_str());
    std::string_view out = s.written;
    if (!out.empty()) FUZZ_CHECK(out.starts_with("HTTP/1.1 "));
    std::size_t finals = 0;
    bool after_close = false;
    while (!out.empty()) {
        FUZZ_CHECK(!after_close);
        FUZZ_CHECK(out.starts_with("HTTP/1.1 ") && out.size() >= 13);
        unsigned code = 0;
        for (std::size_t i = 9; i < 12; ++i) {
            FUZZ_CHECK(out[i] >= '0' && out[i] <= '9');
            code = code * 10 + static_cast<unsigned>(out[i] - '0');
        }
        auto head_end = out.find("\r\n\r\n");
        FUZZ_CHECK(head_end != std::string_view::npos);
        auto head = out.substr(0, head_end + 2);
        out.remove_prefix(head_end + 4);
        if (code == 100) continue;
        FUZZ_CHECK(code >= 200 && code <= 599);
        FUZZ_CHECK(finals < s.log.size());
        auto const& entry = s.log[finals++];
        FUZZ_CHECK(entry.status == code);

        std::optional<std::uint64_t> length;
        bool chunked = false;
        auto lines = head.substr(head.find("\r\n") + 2);
        while (!lines.empty()) {
            auto eol = lines.find("\r\n");
            auto line = lines.substr(0, eol);
            lines.remove_prefix(eol + 2);
            auto colon = line.find(':');
            FUZZ_CHECK(colon != std::string_view::npos && colon > 0);
            auto name = line.substr(0, colon), value = detail::trim_ows(line.substr(colon + 1));
            FUZZ_CHECK(detail::is_token(name));
            for (char ch : value) FUZZ_CHECK(detail::is_field_char(ch));
            if (iequals(name, "Content-Length")) {
                FUZZ_CHECK(!length);
                std::uint64_t v = 0;
                FUZZ_CHECK(detail::parse_decimal(value, v));
                length = v;
            } else if (iequals(name, "Transfer-Encoding")) {
                FUZZ_CHECK(value == "chunked");
                chunked = true;
            } else if (iequals(name, "Connection") && iequals(value, "close")) {
                after_close = true;
            }
        }
        FUZZ_CHECK(!(chunked && length));
        // No answer to HEAD has content, the connection's own included (RFC 9110 section 9.3.2).
        // One to a HEAD whose request line failed after its method logs "-": as the last answer,
        // it may be bodiless when nothing follows its head and the input holds a HEAD.
        bool failed_head_line =
            entry.method == "-" && entry.error && out.empty() && s.fed.find("HEAD ") != std::string::npos;
        bool bodiless = entry.method == "HEAD" || failed_head_line || code == 204 || code == 304;
        if (bodiless) {
            if (code == 204 || code == 304) FUZZ_CHECK(!length && !chunked);
        } else if (chunked) {
            for (;;) {
                auto eol = out.find("\r\n");
                FUZZ_CHECK(eol != std::string_view::npos && eol > 0);
                std::uint64_t size = 0;
                for (char ch : out.substr(0, eol)) {
                    FUZZ_CHECK(detail::hex_value(ch) >= 0);
                    size = size * 16 + static_cast<unsigned>(detail::hex_value(ch));
                }
                out.remove_prefix(eol + 2);
                if (size == 0) {
                    FUZZ_CHECK(out.starts_with("\r\n"));
                    out.remove_prefix(2);
                    break;
                }
                FUZZ_CHECK(out.size() >= size + 2 && out.substr(size, 2) == "\r\n");
                out.remove_prefix(size + 2);
            }
        } else if (length) {
            FUZZ_CHECK(out.size() >= *length);
            out.remove_prefix(static_cast<std::size_t>(*length));
        } else {
            FUZZ_CHECK(after_close);  // delimited by the close
            out = {};
        }
    }
    FUZZ_CHECK(finals == s.log.size());
    std::size_t errors = 0;
    for (std::size_t i = 0; i < s.log.size(); ++i)
        if (s.log[i].error) {
            ++errors;
            FUZZ_CHECK(i + 1 == s.log.size());  // an error response is the last one
        }
    FUZZ_CHECK(s.log.size() <= served + 1);
    FUZZ_CHECK(s.log.size() - errors <= served);
    if (after_close) FUZZ_CHECK(s.conn->should_close());
}

template <class App>
void one_input(std::uint8_t const* data, std::size_t size) {
    fuzz_support::input in(data, size);
    auto control = in.byte();
    std::vector<std::pair<std::uint8_t, std::uint8_t>> steps(in.byte() & 15);
    for (auto& st : steps) {
        st.first = in.byte();
        st.second = in.byte();
    }
    auto bytes = in.rest();

    connection_config config;
    config.limits = fuzz_support::limits_from(control & 3);
    if (control & 4) config.max_output_buffered = 64;
    if (control & 8) config.inline_body_limit = 8;
    config.server_header = (control & 32) != 0;

    side<App> a(config), b(config);
    bool any_piece = false;
    for (auto const& st : steps) any_piece |= st.first != 0;
    std::size_t fed = 0, step = 0;
    while (fed < bytes.size()) {
        std::size_t n = bytes.size() - fed;
        unsigned mode = 0, share = 63;
        if (!steps.empty()) {
            auto [piece, drain_byte] = steps[step++ % steps.size()];
            if (any_piece) n = std::min<std::size_t>(n, piece);
            mode = drain_byte & 3;
            share = drain_byte >> 2;
        }
        auto piece = bytes.substr(fed, n);
        fed += n;
        for (auto* s : {&a, &b}) {
            answer_due(*s, false);
            if (!s->conn->wants_read()) drain(*s, 63);  // a driver writes before it reads again
            // and, with input capped behind an answer still to come, waits for it
            while (!s->conn->wants_read() && !s->later.empty()) {
                answer_due(*s, true);
                drain(*s, 63);
            }
            feed(*s, piece, mode);
            drain(*s, share);
        }
    }
    for (auto* s : {&a, &b}) {
        drain(*s, 63);
        answer_all(*s);
        if (control & 16) s->conn->timeout();
        else s->conn->read_eof();
        check_state(*s);
        drain(*s, 63);
        FUZZ_CHECK(!s->conn->has_output());
        FUZZ_CHECK(s->conn->phase() == connection_phase::closed);
        check_transcript(*s, s->conn->requests_served());
    }
    FUZZ_CHECK(a.written == b.written);

    // The same bytes in one piece: the same responses, but for 100 Continue (sent only when a
    // head arrives before its body) and the last response when it is an error: an error inside
    // a line that the input never ends is found at once in one piece, in pieces only when the
    // line ends (see fuzz_parser_split), so at the end one may have answered 400 where the other
    // still waited (and then answered the timeout or nothing).
    side<App> whole(config);
    whole.largest_read = bytes.size();
    whole.fed = bytes;
    whole.conn->feed(bytes);
    check_state(whole);
    drain(whole, 63);
    answer_all(whole);
    if (control & 16) whole.conn->timeout();
    else whole.conn->read_eof();
    drain(whole, 63);
    check_transcript(whole, whole.conn->requests_served());
    if (a.log == whole.log) {
        FUZZ_CHECK(without_continue(a.written) == without_continue(whole.written));
    } else {
        std::size_t same = 0;
        while (same < a.log.size() && same < whole.log.size() && a.log[same] == whole.log[same]) ++same;
        FUZZ_CHECK(a.log.size() <= same + 1 && whole.log.size() <= same + 1);
        if (a.log.size() > same) FUZZ_CHECK(a.log[same].error);
        if (whole.log.size() > same) FUZZ_CHECK(whole.log[same].error);
    }
}

inline void one_input(std::uint8_t const* data, std::size_t size) {
    if (size > 0 && (data[0] & 64)) one_input<streamed_echo_app>(data, size);
    else one_input<echo_app>(data, size);
}

}  // namespace fuzz_connection

PORTHOLE_FUZZ_ENTRY(fuzz_connection)

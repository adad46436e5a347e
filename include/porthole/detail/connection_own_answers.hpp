// porthole/detail/connection_own_answers.hpp: the answers a connection gives without the
// application: a head refused (a parse error, an Expect it cannot meet), a timeout (408, or 503
// for an answer that did not come), OPTIONS *, a Host that names another machine, and a 500 for
// a response that cannot be sent. Each is counted and logged as an answer. Members of connection
// (connection.hpp), defined here, out of the class.
#pragma once

#include <porthole/connection.hpp>

namespace porthole {

template <class App>
inline void connection<App>::timeout() {
    if (up_) [[unlikely]]
        return up_->timeout();
    if (phase() == connection_phase::writing) {  // no answer of ours would reach the peer either
        break_off();
        return;
    }
    if constexpr (plans_bodies) {
        if (incoming_) {  // a streamed body stopped coming (or its sink never resumed), or a drain ended
            fail_body(incoming_->waiting || draining_ ? status::service_unavailable : status::request_timeout);
            in_.clear();
            return;
        }
    }
    if (waiting_) {
        log_error(detail::about_request(
            "the application did not answer in time (response timeout, or the end of a drain): 503",
            pending_->summary.method_name, pending_->summary.target));
        answer_instead(status::service_unavailable);
        closing_ = true;
        in_.clear();
        return;
    }
    if (closing_) return;
    auto p = phase();
    if (p == connection_phase::reading_headers || p == connection_phase::reading_body) {
        // The request line's views are in the buffer its bytes were parsed in, the driver's
        // own or one since moved: the unfinished request's bytes, as much of its head as was
        // parsed among them, are kept at the start of in_.
        if (parser_.request_line_parsed()) parser_.follow(in_.data());
        queue_error(draining_ ? status::service_unavailable : status::request_timeout, parsed_request());
    }
    closing_ = true;
    in_.clear();
}

// A response that is not valid (response.hpp: an invalid header field, or a status that does
// not end the exchange, which would leave the client reading the next answer as this one's)
// is not sent: logged, a 500 instead.
template <class App>
void connection<App>::replace_invalid(request const& req, response& res) {
    log_error(detail::about_request(detail::why_invalid(res), req.method_name(), req.target()));
    res = response::error(status::internal_server_error);
}

// 421 (RFC 9110 7.4): an "https" target on a connection that is not secured, which an origin
// server MUST reject, or a target of another scheme than http and https ("ftp://", "ws://"),
// for which an HTTP server is not authoritative (4.3); or, with the loopback check, a Host the
// check refuses, or the authority of an absolute-form target, which overrides Host (RFC 9112
// 3.2.2).
template <class App>
inline bool connection<App>::misdirected(request_head const& h) const noexcept {
    auto absolute = detail::split_absolute_form(h.target);
    if (absolute && !iequals(absolute->scheme, "http") && !(secure_ && iequals(absolute->scheme, "https"))) return true;
    if (!host_check_) return false;
    if (absolute) return !detail::is_local_host(absolute->authority, config_.allowed_hosts);
    return !h.host.empty() && !detail::is_local_host(h.host, config_.allowed_hosts);
}

// RFC 9110 9.3.7: 200, Allow with the methods the connection hands to applications (CONNECT
// is refused; TRACE is passed on but not advertised), and Content-Length: 0.
template <class App>
inline response connection<App>::server_options_response() {
    response res(status::ok);
    res.set_header("Allow", "GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH");
    return res;
}

// A head refused before any application sees it (a parse error, an Expect it cannot meet, a
// target that does not split): counted, answered, and the connection closed after the answer,
// since the peer may still be sending the request.
template <class App>
inline void connection<App>::refuse_head(status s) {
    count_parse_error(s);
    queue_error(s, parsed_request());
    closing_ = input_cut_ = true;
}

// Answers `answered` with `s`'s error page; returns the body bytes queued (the head's are
// last_head_size_).
template <class App>
inline std::uint64_t connection<App>::queue_error(status s, answered_request const& answered) {
    auto res = response::error(s);
    return queue_own_answer(res, answered);
}
template <class App>
inline std::uint64_t connection<App>::queue_own_answer(response& res, answered_request const& answered) {
    // An answer to HEAD has no content, the connection's own too (RFC 9110 section 9.3.2).
    auto bytes = queue_response(res, answered.head_only, http_1_1, false).bytes;
    if (config_.access_log) log_own_answer(res.status(), bytes, answered);
    return bytes;
}

// The access log's line for an answer of the connection's own (a malformed head or body, a
// body over its limit, a timeout).
template <class App>
void connection<App>::log_own_answer(status s, std::uint64_t bytes, answered_request const& answered) {
    config_.access_log(access_entry{peer_, answered.method_name, answered.target, answered.version, s, bytes});
}

template <class App>
inline void connection<App>::answer_instead(status s) {
    auto record = std::exchange(metric_, {});
    auto held = pending_;  // its summary names the request in the access log
    abandon_answer(true);
    auto bytes = held ? queue_error_instead(s, *held) : queue_error(s, unknown_request());  // s: as sent
    if (record) [[unlikely]]
        record.end(to_int(s), last_head_size_ + bytes);
}

}  // namespace porthole

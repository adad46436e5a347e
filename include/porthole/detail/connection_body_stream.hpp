// porthole/detail/connection_body_stream.hpp: request bodies that are not read whole before the
// handler runs. Taken as streams (body_stream.hpp): the application asked how a body is taken once
// its head is in, the body's bytes handed to its sink as they arrive, and the sink's answer. And
// refused for their size, answered by an application that answers refusals (app.hpp). Members of
// connection (connection.hpp), defined here, out of the class.
#pragma once

#include <porthole/connection.hpp>

namespace porthole {

// The head is complete and a body follows: asks the application how it is taken. True when
// the connection takes it from here (streamed to a sink, or dropped after an early answer),
// or refused it; false when the parser reads it whole, under the plan's limit if any.
// `arrived`: the bytes in hand from the head's first on.
template <class App>
bool connection<App>::plan_body(std::size_t arrived) {
    if constexpr (std::same_as<std::remove_cv_t<App>, application_ref>) {
        if (!app_.plans_bodies()) return false;  // it stands for an application that never plans
    }
    auto const& h = parser_.head();
    // Requests refused whatever the route are answered once whole, as always.
    if (h.expect_unsupported || h.method == method::other || h.method == method::connect || misdirected(h))
        return false;
    target_views t;
    if (!split_head_target(h, t)) return false;
    request req = request_of(h, t, {}, h.keep_alive);
    std::optional<body_plan> plan;
    try {
        plan = app_.plan_body(req);
    } catch (...) {
        log_error("plan_body threw: " + detail::what_was_thrown());
    }
    if (!plan) return false;
    if (!plan->streamed) {
        parser_.set_body_limit(plan->max_size);
        return false;
    }
    // Too large by its Content-Length: the handler is asked all the same, so that the layers
    // around it (authentication first, CORS and the access log after) see the request, and its
    // take_body() answers 413; the body is not read.
    bool too_large = h.framing == body_framing::content_length && h.content_length > plan->max_size;
    ++served_;
    // Metrics as answer() records them; the body's bytes are added as they are taken.
    detail::metrics_shard* recorder = detail::metrics_recorder();
    if (recorder) [[unlikely]]
        metric_.begin(*recorder, static_cast<std::uint8_t>(h.method), parser_.head_size());
    ex_.body_offered = true;
    ex_.body_too_large = too_large;
    response res = call_guarded(req);
    ex_.body_offered = ex_.body_too_large = false;
    if (recorder) [[unlikely]]
        metric_.routed(*recorder);
    auto consumer = std::move(ex_.body);
    incoming_ = std::make_unique<detail::incoming_body>(nullptr, h, config_.limits, plan->max_size);
    // A client that asked for a 100 sends no body before it (RFC 9110 10.1.1), unless there is
    // none to send (Content-Length: 0) or it sent the body all the same: then there is no wait.
    bool awaits_continue = h.expect_continue && (h.framing == body_framing::chunked ||
                                                 (h.framing == body_framing::content_length && h.content_length != 0 &&
                                                  arrived - parser_.head_size() < h.content_length));
    if (consumer && ex_.started && res.answered_later()) {  // taken: the sink answers at the end
        incoming_->consumer = std::move(consumer);
        await_answer(req, true);
        if (awaits_continue && h.version.minor >= 1) append_buffered("HTTP/1.1 100 Continue\r\n\r\n");
        return true;
    }
    consumer.reset();                    // the application answered without it: the body is dropped
    if (awaits_continue || too_large) {  // the client waits before sending it, or it is too large: close instead
        incoming_.reset();
        closing_ = input_cut_ = true;
    }
    // take_body() said 413 and the handler returned porthole::later all the same: nothing answers
    // later, so the refusal is the answer.
    if (too_large && !ex_.started && res.answered_later()) res = response::error(status::content_too_large);
    bool close_after = closing_;  // say so in the answer
    closing_ = false;             // until it is queued
    if (ex_.started || res.answered_later()) {
        auto outcome = await_answer(req, res.answered_later());
        if (outcome == awaiting::yes) {
            if (close_after && pending_) pending_->summary.keep_alive = false;
            closing_ = close_after && !pending_;
            return true;
        }
        if (outcome == awaiting::unanswerable) res = response::error(status::internal_server_error);
    }
    if (!res.valid()) replace_invalid(req, res);
    auto summary = answered_request::of(req);
    if (close_after) summary.keep_alive = false;
    finish(summary, std::move(res));
    if (closing_) {  // closes after the answer (Connection: close): the body is not read on
        incoming_.reset();
        input_cut_ = true;
    }
    return true;
}

template <class App>
std::size_t connection<App>::take_body(char* data, std::size_t size) {
    std::size_t off = 0;
    while (incoming_ && !incoming_->waiting) {
        detail::incoming_body::step st;
        try {
            st = incoming_->take(data + off, size - off);
        } catch (...) {
            log_error("a body sink threw: " + detail::what_was_thrown());
            fail_body(status::internal_server_error);
            return size;
        }
        off += st.used;
        if (metric_) [[unlikely]]
            metric_.bytes_in += st.used;
        if (st.status == parse_status::error) {
            fail_body(error_status(st.error));
            return size;
        }
        // A sink that waits on the last piece hears end() once it is resumed, not before.
        if (st.flow == body_flow::stop || (st.status == parse_status::complete && st.flow == body_flow::more)) {
            end_body(st.status != parse_status::complete);
            break;
        }
        if (st.flow == body_flow::wait) incoming_->waiting = true;
        else if (off == size || st.used == 0) break;  // all taken, or a chunk line to complete
    }
    if (incoming_ && incoming_->waiting) paused_ = true;
    return off;
}

// The body is in, or the sink wants no more (`cut`: the rest is not read, so the connection
// closes after the answer): the sink answers, now or later.
template <class App>
inline void connection<App>::end_body(bool cut) {
    auto consumer = std::move(incoming_->consumer);
    incoming_.reset();
    if (cut) input_cut_ = true;
    if (cut && pending_) pending_->summary.keep_alive = false;
    if (consumer) consumer->end();
    if (pending_) take_answer();
}

template <class App>
inline void connection<App>::fail_body(status s) {
    // The sink's answer is owed: it is `s`, given as its answer, so that the layers' after steps
    // (CORS, the access log) apply to it as to any other.
    if (incoming_ && incoming_->consumer && pending_) {
        auto res = response::error(s);
        pending_->settle(detail::answer_state::phase::answered, &res);
        pending_->summary.keep_alive = false;
        abort_body();  // the sink's own failure finds the answer given
        take_answer();
        closing_ = input_cut_ = true;
        return;
    }
    bool answer_owed = (incoming_ && incoming_->consumer) || pending_;
    abort_body();
    if (answer_owed) answer_instead(s);
    else abandon_answer();
    closing_ = input_cut_ = true;
}

template <class App>
inline void connection<App>::abort_body() noexcept {
    if constexpr (plans_bodies) {
        if (!incoming_) return;
        auto consumer = std::move(incoming_->consumer);
        incoming_.reset();
        if (consumer) consumer->abort();
    }
}

// The body of a complete head is over its limit: the application answers in place of the
// handler, through its layers (authentication first; CORS, the access log and metrics after), the
// body unread, and the connection closes after the answer. False where the connection answers
// itself: an application that does not answer refusals, or a request refused whatever the route.
template <class App>
bool connection<App>::answer_refusal(status refusal) {
    if constexpr (std::same_as<std::remove_cv_t<App>, application_ref>) {
        if (!app_.answers_refusals()) return false;
    }
    auto const& h = parser_.head();
    if (h.expect_unsupported || h.method == method::other || h.method == method::connect || misdirected(h) ||
        (h.form != target_form::origin && h.form != target_form::absolute))
        return false;
    target_views t;
    if (!split_head_target(h, t)) return false;
    request req = request_of(h, t, {}, false);  // not kept alive: what follows the head is the refused body
    ++served_;
    detail::metrics_shard* recorder = detail::metrics_recorder();
    if (recorder) [[unlikely]]
        metric_.begin(*recorder, static_cast<std::uint8_t>(h.method), parser_.head_size());
    response res;
    ex_.body_too_large = true;  // body_delivery_of(req): refused
    try {
        detail::header_storage_lease lease;
        res = app_.refuse(req, refusal);
    } catch (...) {
        log_error(detail::about_exception(req.method_name(), req.target()));
        res = response::error(status::internal_server_error);
    }
    ex_.body_too_large = false;
    if (recorder) [[unlikely]]
        metric_.routed(*recorder);
    ex_.upgrade.reset();  // a refused request switches to nothing
    input_cut_ = true;    // the body is not read
    if (ex_.started || res.answered_later()) {
        auto outcome = await_answer(req, res.answered_later());
        if (outcome == awaiting::yes) return true;  // closes once it is written
        if (outcome == awaiting::unanswerable) res = response::error(status::internal_server_error);
    }
    if (!res.valid()) replace_invalid(req, res);
    finish(answered_request::of(req), std::move(res));
    return true;
}

}  // namespace porthole

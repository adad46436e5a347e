// porthole/detail/connection_later.hpp: answers that come later (responder.hpp) and live streams
// (stream.hpp), as a connection holds them: a request's place kept until its answer comes, streams
// linked to the driver's mailbox, and every handle told when the connection ends. Members of
// connection (connection.hpp), defined here, out of the class.
#pragma once

#include <porthole/connection.hpp>

namespace porthole {

// The handler took a responder: hold the request's place until its answer comes. False
// when the handler answered at once after all (it returned a response, or threw): the
// responder is then refused. Out of line, as everything here that answering at once never
// reaches: the common path stays as compact as it was.
template <class App>
auto connection<App>::await_answer(request const& req, bool returned_later) -> awaiting {
    if (!ex_.started) {
        log_error(detail::about_request("the application returned porthole::later without calling answer_later()",
                                        req.method_name(), req.target()));
        return awaiting::unanswerable;
    }
    auto state = std::move(ex_.started);
    if (!returned_later) {
        state->close();
        return awaiting::no;
    }
    state->keep(req);
    pending_ = std::move(state);
    waiting_ = true;
    take_answer();  // it may have come already, even from this thread
    return awaiting::yes;
}

template <class App>
inline bool connection<App>::take_answer() {
    auto res = pending_->take(error_log_for(*pending_), [] { return response::error(status::internal_server_error); });
    if (!res) return false;
    auto state = std::move(pending_);
    waiting_ = false;
    finish(state->summary, std::move(*res));
    return true;
}

template <class App>
inline void connection<App>::abandon_answer(bool answered_instead) noexcept {
    metric_.abandon();  // in flight no more, with no answer to count
    if (!pending_) return;
    pending_->close(answered_instead);
    pending_.reset();
    waiting_ = false;
}

// The error page in place of an answer that did not come (or of one whose request's body broke
// off): the layers' after() steps run on it as on the answer (CORS fields that let a page read
// it, the request id, an error page's form). `s` becomes the status sent.
template <class App>
std::uint64_t connection<App>::queue_error_instead(status& s, detail::answer_state& held) {
    response res = response::error(s);
    held.run_steps(res, error_log_for(held), [s] { return response::error(s); });
    s = res.status();
    return queue_own_answer(res, held.summary);
}

template <class App>
void connection<App>::start_live_stream(segment& s, detail::stream_channel& live) {
    s.live = &live;
    if (metrics::enabled() && !live.counted) {
        live.counted = true;
        metrics::stream_opened();
    }
    if (draining_) live.stopping.store(true, std::memory_order_release);
    if (ex_.box) {
        ex_.ensure_link();
        live.attach(ex_.link);
    }
}

template <class App>
inline bool connection<App>::has_live_stream() const noexcept {
    for (std::size_t i = first_unsent_; i < segments_.size(); ++i)
        if (segments_[i].kind == segment::stream && segments_[i].live && !segments_[i].stream_ended) return true;
    return false;
}

template <class App>
inline void connection<App>::discard_output() noexcept {
    segments_.clear();
    first_unsent_ = 0;
    front_done_ = 0;
    held_.clear();
    out_.clear();
    open_head_at_ = npos;
}

template <class App>
inline void connection<App>::let_go() noexcept {
    abort_body();
    if (up_) {
        up_->end();
        up_.reset();
    }
    ex_.upgrade.reset();
    abandon_answer();
    ex_.started.reset();
    let_go_of_streams();
    if (ex_.link) {
        ex_.link->disconnect();
        ex_.link.reset();
    }
}

template <class App>
inline void connection<App>::on_notify(void* self) noexcept {
    auto& c = *static_cast<connection*>(self);
    try {
        c.notified();
    } catch (...) {
        // What escapes here (an access log that throws, memory that runs out) costs this
        // connection only, as in a driver's own read path; never the loop, whose thread would
        // end the program.
        try {
            c.log_error("an exception escaped while an answer given later was taken: the connection is closed");
        } catch (...) {  // a log that throws too: closed all the same
        }
        c.break_off();
    }
}

template <class App>
inline void connection<App>::break_off() noexcept {
    let_go();
    discard_output();
    in_.clear();
    closing_ = true;
    input_cut_ = false;  // nothing is left to send, so nothing to linger for
}

template <class App>
inline void connection<App>::notified() {
    if (up_) return up_->on_notify();
    if (pending_ && take_answer() && !in_.empty()) process_buffered();
    if constexpr (plans_bodies) {
        auto* in = incoming_.get();
        if (in && in->waiting && in->consumer && in->consumer->resume_wanted.exchange(false)) {
            in->waiting = false;
            paused_ = false;
            process_buffered();
        }
    }
    for (std::size_t i = first_unsent_; i < segments_.size(); ++i) {
        auto& s = segments_[i];
        if (s.kind != segment::stream) continue;
        if (s.paused && s.live->take_resume()) s.paused = false;
        break;  // only the first stream can be waiting
    }
}

}  // namespace porthole

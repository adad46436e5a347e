// porthole/detail/connection_upgrade.hpp: a connection after a 101 (upgrade.hpp): the switch to
// the new protocol, and its output and phase as the driver sees them. Members of connection
// (connection.hpp), defined here, out of the class.
#pragma once

#include <porthole/connection.hpp>

namespace porthole {

template <class App>
void connection<App>::switch_protocols(request const& req, response&& res) {
    auto up = std::move(ex_.upgrade);
    ex_.started.reset();
    // Refused, the protocol never starts, and hears so: a WebSocket opened during the handler
    // call (on_open) is closed (on_close, 1006) and its handles turn unconnected. A 4xx or 5xx
    // in the 101's place is a refusal (a layer's 403, say) and goes out as it is; anything else
    // left there is a mistake: 500.
    if (res.status() != status::switching_protocols || req.version() != http_1_1) {
        up->end();
        if (auto code = to_int(res.status()); code >= 400 && code <= 599) {
            if (!res.valid()) replace_invalid(req, res);  // as any answer: a field refused is a logged 500
            return finish(answered_request::of(req), std::move(res));
        }
        log_error("an upgrade was left without a 101 in HTTP/1.1: 500");
        return finish(answered_request::of(req), response::error(status::internal_server_error));
    }
    if (!res.invalid_field().empty()) {  // a field refused: the 101 is not sent (response.hpp)
        replace_invalid(req, res);
        up->end();
        return finish(answered_request::of(req), std::move(res));
    }
    std::size_t before = out_.size();
    // A 101 names the upgrade in Connection (RFC 9110 7.8); write_head keeps the application's
    // other options.
    if (!connection_lists(res, "upgrade")) res.add_header("Connection", "Upgrade");
    queue_response(res, false, http_1_1, true);
    if (metric_) [[unlikely]]
        metric_.end(to_int(status::switching_protocols), out_.size() - before);
    if (config_.access_log) {
        auto r = answered_request::of(req);
        config_.access_log(access_entry{peer_, r.method_name, r.target, r.version, res.status(), 0});
    }
    up_ = std::move(up);
    up_->start(draining_);
}

template <class App>
std::span<output_chunk const> connection<App>::upgraded_output(std::span<output_chunk> room) {
    auto out = up_->pending_output();
    std::size_t n = std::min(out.size(), room.size());
    for (std::size_t i = 0; i < n; ++i) room[i] = output_chunk{out[i]};
    return room.first(n);
}

template <class App>
inline connection_phase connection<App>::upgraded_phase() const noexcept {
    if (first_unsent_ < segments_.size() || up_->has_output()) return connection_phase::writing;
    switch (up_->phase()) {
        case detail::upgraded_protocol::state::open: return connection_phase::upgraded;
        case detail::upgraded_protocol::state::closing: return connection_phase::upgraded_closing;
        default: return connection_phase::closed;
    }
}

}  // namespace porthole

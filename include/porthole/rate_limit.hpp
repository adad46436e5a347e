// porthole/rate_limit.hpp: a per-client rate limit as a layer. Each client has a token bucket
// (`burst` tokens, refilled at `rate` per second); a request takes one, and a client with none
// gets 429 Too Many Requests with Retry-After (RFC 6585 4, RFC 9110 10.2.3).
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/detail/platform.hpp>
#include <porthole/layer.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#if !defined(_WIN32)
#include <arpa/inet.h>  // on Windows, platform.hpp's ws2tcpip.h
#endif

namespace porthole {

struct rate_limit_options {
    double rate = 10;   // tokens per second: the sustained rate a client may keep up
    double burst = 20;  // bucket size: how many requests may come at once after a quiet spell
    // Clients tracked at once. When the table is full, clients whose buckets have refilled are
    // forgotten (they are as good as new); while every one is busy, newcomers share one bucket
    // (per 1/16 of the table) rather than a busy client being forgotten: a flood of addresses
    // neither grows the memory nor lets anyone through unlimited.
    std::size_t max_clients = 100000;
    // The client a request counts against; default: the peer's address without its port, an
    // IPv6 address by its /64 (one host usually holds a whole /64). Behind a trusted reverse
    // proxy, read the proxy's forwarding header here instead.
    std::function<std::string(request const&)> key{};
};

namespace detail {
// "203.0.113.7:5555" -> "203.0.113.7"; "[2001:db8:1:2:3:4:5:6]:5555" -> "2001:db8:1:2::/64".
inline std::string client_address(std::string_view peer) {
    if (peer.size() > 2 && peer.front() == '[') {
        auto close = peer.find(']');
        std::string text(peer.substr(1, close == std::string_view::npos ? peer.size() - 1 : close - 1));
        in6_addr a{};
        if (::inet_pton(AF_INET6, text.c_str(), &a) != 1) return text;
        std::fill(a.s6_addr + 8, a.s6_addr + 16, std::uint8_t{0});
        char out[INET6_ADDRSTRLEN];
        if (!::inet_ntop(AF_INET6, &a, out, sizeof out)) return text;
        return std::string(out) + "/64";
    }
    auto colon = peer.rfind(':');
    return std::string(colon == std::string_view::npos ? peer : peer.substr(0, colon));
}
}  // namespace detail

class rate_limit {
public:
    explicit rate_limit(rate_limit_options o = {}) : shared_(std::make_shared<shared>()) {
        if (!(o.rate > 0) || !(o.burst >= 1))
            throw std::invalid_argument("porthole::rate_limit: rate > 0 and burst >= 1");
        shared_->opts = std::move(o);
        shared_->per_shard = std::max<std::size_t>(1, shared_->opts.max_clients / shard_count);
        for (auto& s : shared_->shards) s.overflow = bucket{shared_->opts.burst, 0};
    }

    std::optional<response> before(request const& req) const {
        auto key = shared_->opts.key ? shared_->opts.key(req) : detail::client_address(req.peer());
        double wait = take(key, now());
        if (wait <= 0) return std::nullopt;
        auto r = response::error(status::too_many_requests);
        r.set_header("Retry-After", std::to_string(static_cast<long long>(std::ceil(wait))));
        return r;
    }

    // Takes a token from `key`'s bucket at time `now` (seconds); 0 when there was one, else the
    // seconds until there will be. Public for tests that drive the clock.
    double take(std::string const& key, double now) const {
        auto& s = shared_->shards[std::hash<std::string>{}(key) % shard_count];
        auto const& o = shared_->opts;
        std::lock_guard lock(s.mutex);
        auto it = s.buckets.find(key);
        if (it == s.buckets.end()) {
            // Every tracked client busy (the sweep runs only once a sixteenth of them may have
            // refilled, so a full table costs no scan per request): the newcomers share the
            // overflow bucket.
            if (s.buckets.size() >= shared_->per_shard && (now < s.next_sweep || !forget_full(s, now)))
                return take_from(s.overflow, now);
            it = s.buckets.emplace(key, bucket{o.burst, now}).first;
            // Refilled by then, if not used again: at a high rate, sooner than the sixteenth
            // forget_full waits for (sweeps stay bounded by time: one per 1 / rate at most).
            s.next_sweep = std::min(s.next_sweep, now + 1 / o.rate);
        }
        return take_from(it->second, now);
    }

    std::size_t clients() const {
        std::size_t n = 0;
        for (auto& s : shared_->shards) {
            std::lock_guard lock(s.mutex);
            n += s.buckets.size();
        }
        return n;
    }

    // How often a full table was swept for clients whose buckets refilled: a sweep reads a
    // sixteenth of the table, and the next waits until a sixteenth of that part may have
    // refilled, so newcomers that keep coming cost a sweep for every 1/256 of the table.
    std::size_t sweeps() const {
        std::size_t n = 0;
        for (auto& s : shared_->shards) {
            std::lock_guard lock(s.mutex);
            n += s.sweeps;
        }
        return n;
    }

private:
    static constexpr std::size_t shard_count = 16;
    struct bucket {
        double tokens;
        double updated;  // seconds
    };
    struct shard {
        std::mutex mutex;
        std::unordered_map<std::string, bucket> buckets;
        bucket overflow{0, 0};  // the newcomers' while every tracked client is busy
        double next_sweep = 0;  // not worth a sweep before this (seconds): see forget_full
        std::size_t sweeps = 0;
        std::vector<double> soonest;  // forget_full's scratch: the earliest refill times
    };
    // Shared by copies (a layers list is copied into the application it wraps).
    struct shared {
        rate_limit_options opts;
        std::size_t per_shard = 1;
        std::array<shard, shard_count> shards;
    };

    static double now() noexcept {
        return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    }

    // 0 when `b` had a token (taken), else the seconds until it will have one.
    double take_from(bucket& b, double now) const {
        auto const& o = shared_->opts;
        b.tokens = std::min(o.burst, b.tokens + (now - b.updated) * o.rate);
        b.updated = now;
        if (b.tokens >= 1) {
            b.tokens -= 1;
            return 0;
        }
        return std::max((1 - b.tokens) / o.rate, 1e-3);
    }

    // A full shard drops the clients whose buckets have refilled (they are as good as new);
    // false when none has, every client it holds busy. The next sweep waits until a sixteenth
    // of the shard may have refilled (taking tokens only puts that later), not only the first
    // bucket: with newcomers coming steadily, each sweep would free one and the next newcomer
    // sweep again, the whole shard read for every request. Newcomers meanwhile share the
    // overflow bucket.
    bool forget_full(shard& s, double now) const {
        auto const& o = shared_->opts;
        std::size_t const k = std::max<std::size_t>(1, shared_->per_shard / 16);
        auto& soonest = s.soonest;  // a max-heap of the k earliest refill times
        soonest.clear();
        ++s.sweeps;
        std::erase_if(s.buckets, [&](auto const& kv) {
            double refilled_at = kv.second.updated + (o.burst - kv.second.tokens) / o.rate;
            if (refilled_at <= now) return true;
            if (soonest.size() < k) {
                soonest.push_back(refilled_at);
                std::push_heap(soonest.begin(), soonest.end());
            } else if (refilled_at < soonest.front()) {
                std::pop_heap(soonest.begin(), soonest.end());
                soonest.back() = refilled_at;
                std::push_heap(soonest.begin(), soonest.end());
            }
            return false;
        });
        s.next_sweep = soonest.empty() ? now : soonest.front();
        return s.buckets.size() < shared_->per_shard;
    }

    std::shared_ptr<shared> shared_;
};

}  // namespace porthole

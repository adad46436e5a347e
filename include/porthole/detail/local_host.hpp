// porthole/detail/local_host.hpp: whether a request's Host names this machine, for the check a
// connection makes on a loopback listener (connection::set_host_check), a DNS rebinding defence.
#pragma once

#include <porthole/http.hpp>

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace porthole::detail {

// Whether a Host value (uri-host [":" port]) can only have come from a client that means this
// machine: an IP literal, "localhost" or a name below ".localhost" (RFC 6761 6.3), or one of
// `allowed`. A page that rebinds its own name to 127.0.0.1 sends that name, and is refused.
// Runs for every request on a loopback listener, so the usual values take a few steps.
inline bool is_local_host(std::string_view host, std::vector<std::string> const& allowed) noexcept {
    auto is = [&](std::string_view name) {  // exactly `name`, with or without a port
        return host.size() >= name.size() && std::memcmp(host.data(), name.data(), name.size()) == 0 &&
               (host.size() == name.size() || host[name.size()] == ':');
    };
    if (is("127.0.0.1") || is("localhost")) return true;  // what browsers and tools send, first
    if (host.empty()) return false;
    if (host[0] == '[') return true;         // an IPv6 literal (the parser checked its characters)
    if (host[0] >= '0' && host[0] <= '9') {  // a dotted IPv4 address: four numbers of 0 to 255
        unsigned parts = 1, digits = 0, value = 0;
        std::size_t i = 0;
        for (; i < host.size() && host[i] != ':'; ++i) {
            char c = host[i];
            if (c == '.') {
                if (digits == 0) break;
                ++parts;
                digits = value = 0;
            } else if (c >= '0' && c <= '9' && digits < 3) {
                value = value * 10 + static_cast<unsigned>(c - '0');
                ++digits;
                if (value > 255) break;
            } else {
                break;
            }
        }
        if ((i == host.size() || host[i] == ':') && parts == 4 && digits > 0) return true;
    }
    host = host.substr(0, host.find(':'));
    if (!host.empty() && host.back() == '.') host.remove_suffix(1);  // "localhost." is the same name
    if (host.size() >= 9 && iequals(host.substr(host.size() - 9), "localhost") &&
        (host.size() == 9 || host[host.size() - 10] == '.'))
        return true;
    for (auto const& name : allowed)
        if (iequals(host, name)) return true;
    return false;
}

}  // namespace porthole::detail

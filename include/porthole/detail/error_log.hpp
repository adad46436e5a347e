// porthole/detail/error_log.hpp: the lines of the error log (server_options::error_log) that
// name a request, and where they go by default (stderr).
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <cstddef>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

namespace porthole::detail {

inline void default_error_log(std::string_view message) {
    std::fprintf(stderr, "porthole: %.*s\n", static_cast<int>(message.size()), message.data());
}

// An error-log line about one request: "what (GET /path)", the target cut at 200 bytes. The
// parser let no control character into either.
inline std::string about_request(std::string_view what, std::string_view method, std::string_view target) {
    constexpr std::size_t target_shown = 200;
    std::string line(what);
    line.append(" (").append(method).append(" ").append(target.substr(0, target_shown));
    if (target.size() > target_shown) line += "...";
    line += ')';
    return line;
}

// Inside a catch block: what the exception being handled says (a std::exception's what()), or
// "a non-standard exception".
inline std::string what_was_thrown() {
    try {
        throw;
    } catch (std::exception const& e) {
        return e.what();
    } catch (...) {
        return "a non-standard exception";
    }
}

// The error-log line for the exception being handled (inside a catch block): "application
// threw: what (GET /path)".
inline std::string about_exception(std::string_view method, std::string_view target) {
    try {
        throw;
    } catch (std::exception const& e) {
        return about_request(std::string("application threw: ") + e.what(), method, target);
    } catch (...) {
        return about_request("application threw a non-standard exception", method, target);
    }
}

}  // namespace porthole::detail

// An application that records what it was called with, and a GET request's bytes: shared by the
// tests that drive a connection in memory.
#pragma once

#include <porthole/request.hpp>
#include <porthole/response.hpp>

#include <string>
#include <vector>

namespace {

// Answers with the path it saw, and records what it was called with.
struct recorder {
    std::vector<std::string> paths;
    std::vector<std::string> bodies;
    porthole::response operator()(porthole::request const& req) {
        paths.emplace_back(req.path());
        bodies.emplace_back(req.body());
        return porthole::response::text("path=" + std::string(req.path()));
    }
};

// A GET of `target` with a Host field and the fields in `extra` (each ending in CRLF).
inline std::string get(std::string const& target, std::string const& extra = {}) {
    return "GET " + target + " HTTP/1.1\r\nHost: t\r\n" + extra + "\r\n";
}

}  // namespace

// What a browser's EventSource makes of an event stream, and a subscriber driven through
// porthole::testing: shared by the tests of sse.hpp and event_hub.hpp.
#pragma once

#include <porthole/testing.hpp>

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

namespace {

// What an EventSource dispatches for a text/event-stream, by the WHATWG HTML standard's
// "interpreting an event stream" (9.2.6), written from the standard, independently of the encoder.
struct dispatched {
    std::string type, data, last_id;
};
struct event_parser {
    std::vector<dispatched> events;
    std::string data, type, last_id, id_buffer;
    long retry = -1;
    std::size_t comments = 0;

    void feed(std::string_view stream) {
        while (!stream.empty()) {
            auto end = stream.find_first_of("\r\n");
            REQUIRE(end != std::string_view::npos);  // the encoder ends every line
            line(stream.substr(0, end));
            end += stream[end] == '\r' && end + 1 < stream.size() && stream[end + 1] == '\n' ? 2 : 1;
            stream.remove_prefix(end);
        }
    }
    void line(std::string_view l) {
        if (l.empty()) {
            last_id = id_buffer;
            if (data.empty()) {
                type.clear();
                return;
            }
            if (data.back() == '\n') data.pop_back();
            events.push_back({type.empty() ? "message" : type, data, last_id});
            data.clear();
            type.clear();
            return;
        }
        if (l[0] == ':') {
            ++comments;
            return;
        }
        auto colon = l.find(':');
        std::string_view name = l.substr(0, colon), value;
        if (colon != std::string_view::npos) {
            value = l.substr(colon + 1);
            if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
        }
        if (name == "event") type = value;
        else if (name == "data") (data += value) += '\n';
        else if (name == "id" && value.find('\0') == std::string_view::npos) id_buffer = value;
        else if (name == "retry" && !value.empty() && value.find_first_not_of("0123456789") == std::string_view::npos)
            retry = std::stol(std::string(value));
    }
};

std::vector<dispatched> parse(std::string_view stream) {
    event_parser p;
    p.feed(stream);
    return p.events;
}

template <class App>
struct subscriber {
    porthole::testing::client<App> client;
    std::size_t seen = 0;
    subscriber(App& app, std::string_view last_event_id = {}) : client(app) {
        std::string req = "GET /events HTTP/1.1\r\nHost: t\r\n";
        if (!last_event_id.empty()) req += "Last-Event-ID: " + std::string(last_event_id) + "\r\n";
        client.send(req + "\r\n");
    }
    std::string body() {
        client.step();
        auto rs = client.responses();
        REQUIRE(rs.size() == 1);
        return rs[0].body;
    }
    std::vector<dispatched> events() { return parse(body()); }
};

}  // namespace

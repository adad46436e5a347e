// rest_api_app.hpp: a JSON CRUD API over an in-memory map, as one porthole::router.
//
//   GET    /items           200  [{"id":1,"name":"chair"}, ...]
//   POST   /items           201  {"id":1,"name":"chair"}  Location: /items/1   (body {"name": "chair"})
//   GET    /items/{id:int}  200  {"id":1,"name":"chair"}, or 404
//   PUT    /items/{id:int}  200  the item renamed, or 404
//   DELETE /items/{id:int}  204, or 404
//
// Bodies are read and written by nlohmann/json: a body that is not a JSON object with a string
// "name" is a 400 with the parser's message, one with a Content-Type other than JSON a 415; other
// methods get 405 with Allow. Bodies over max_body bytes are refused (413) by the server's
// parser limit, before they arrive (rest_api.cpp sets it), through the layers around the router.
#pragma once

#include <porthole/json.hpp>
#include <porthole/router.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace rest_api {

inline constexpr std::size_t max_body = 4096;

// The items, shared by the server's threads.
struct store {
    std::mutex mutex;
    std::map<std::int64_t, std::string> items;
    std::int64_t next_id = 1;
};

// What POST and PUT take: {"name": string}; other members are ignored.
struct item_body {
    std::string name;
};
inline void from_json(nlohmann::json const& j, item_body& b) { j.at("name").get_to(b.name); }

inline nlohmann::json item_json(std::int64_t id, std::string_view name) { return {{"id", id}, {"name", name}}; }

inline porthole::response error(porthole::status s, std::string_view message) {
    return porthole::json_response(nlohmann::json{{"error", message}}, s);
}

inline auto make_app(store& db) {
    using namespace porthole;
    return router{
        get<"/items">([&db] {
            std::lock_guard lock(db.mutex);
            auto out = nlohmann::json::array();
            for (auto const& [id, name] : db.items) out.push_back(item_json(id, name));
            return out;
        }),
        post<"/items">([&db](json_body<item_body> body) {
            std::lock_guard lock(db.mutex);
            auto id = db.next_id++;
            db.items[id] = body->name;
            auto res = json_response(item_json(id, body->name), status::created);
            res.set_header("Location", "/items/" + std::to_string(id));
            return res;
        }),
        get<"/items/{id:int}">([&db](std::int64_t id) -> std::optional<nlohmann::json> {
            std::lock_guard lock(db.mutex);
            auto it = db.items.find(id);
            if (it == db.items.end()) return std::nullopt;  // 404
            return item_json(id, it->second);
        }),
        put<"/items/{id:int}">([&db](std::int64_t id, json_body<item_body> body) {
            std::lock_guard lock(db.mutex);
            auto it = db.items.find(id);
            if (it == db.items.end()) return error(status::not_found, "no such item");
            it->second = body->name;
            return json_response(item_json(id, body->name));
        }),
        delete_<"/items/{id:int}">([&db](std::int64_t id) {
            std::lock_guard lock(db.mutex);
            return db.items.erase(id) ? status::no_content : status::not_found;
        }),
    };
}

}  // namespace rest_api

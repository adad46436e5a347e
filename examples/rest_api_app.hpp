// rest_api_app.hpp: a JSON CRUD API over an in-memory map, as one porthole::router.
//
//   GET    /items           200  [{"id":1,"name":"chair"}, ...]
//   POST   /items           201  {"id":1,"name":"chair"}  Location: /items/1   (body {"name": "chair"})
//   GET    /items/{id:int}  200  {"id":1,"name":"chair"}, or 404
//   PUT    /items/{id:int}  200  the item renamed, or 404
//   DELETE /items/{id:int}  204, or 404
//
// A body that is not a JSON object with a string "name" is a 400; one over max_body bytes is a
// 413; other methods get 405 with Allow. The JSON is read and written by hand: an object of
// string members is all this API needs.
#pragma once

#include <porthole/json_string.hpp>
#include <porthole/router.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
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

namespace json {

// Appends `s` as a JSON string literal.
inline void append_string(std::string& out, std::string_view s) { porthole::append_json_string(out, s); }

class reader {
public:
    explicit reader(std::string_view text) noexcept : s_(text) {}

    // The string members of a JSON object: calls f(name, value) for each. False when the
    // text is not exactly one object whose members are all strings.
    template <class F>
    bool object_of_strings(F&& f) {
        skip_space();
        if (!eat('{')) return false;
        skip_space();
        if (!eat('}')) {
            for (;;) {
                std::string name, value;
                skip_space();
                if (!string(name)) return false;
                skip_space();
                if (!eat(':')) return false;
                skip_space();
                if (!string(value)) return false;
                f(name, value);
                skip_space();
                if (eat('}')) break;
                if (!eat(',')) return false;
            }
        }
        skip_space();
        return i_ == s_.size();
    }

private:
    bool eat(char c) noexcept {
        if (i_ < s_.size() && s_[i_] == c) return ++i_, true;
        return false;
    }
    void skip_space() noexcept {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
    }
    static int hex(char c) noexcept {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    }
    void append_utf8(std::string& out, unsigned cp) {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xc0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        } else {
            out += static_cast<char>(0xe0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        }
    }
    // A string literal; \u escapes outside the surrogate range only.
    bool string(std::string& out) {
        if (!eat('"')) return false;
        while (i_ < s_.size()) {
            char c = s_[i_++];
            if (c == '"') return true;
            if (static_cast<unsigned char>(c) < 0x20) return false;
            if (c != '\\') {
                out += c;
                continue;
            }
            if (i_ == s_.size()) return false;
            switch (s_[i_++]) {
            case '"': out += '"'; break;
            case '\\': out += '\\'; break;
            case '/': out += '/'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'u': {
                if (s_.size() - i_ < 4) return false;
                unsigned cp = 0;
                for (int k = 0; k < 4; ++k) {
                    int h = hex(s_[i_++]);
                    if (h < 0) return false;
                    cp = cp * 16 + static_cast<unsigned>(h);
                }
                if (cp >= 0xd800 && cp <= 0xdfff) return false;
                append_utf8(out, cp);
                break;
            }
            default: return false;
            }
        }
        return false;
    }

    std::string_view s_;
    std::size_t i_ = 0;
};

}  // namespace json

// The name in a body {"name": "..."} (other string members are ignored), or nullopt.
inline std::optional<std::string> parse_item(std::string_view body) {
    std::optional<std::string> name;
    bool ok = json::reader(body).object_of_strings([&](std::string const& key, std::string const& value) {
        if (key == "name") name = value;
    });
    if (!ok) return std::nullopt;
    return name;
}

inline std::string item_json(std::int64_t id, std::string_view name) {
    std::string out = "{\"id\":" + std::to_string(id) + ",\"name\":";
    json::append_string(out, name);
    out += '}';
    return out;
}

inline porthole::response error(porthole::status s, std::string_view message) {
    std::string body = "{\"error\":";
    json::append_string(body, message);
    body += '}';
    return porthole::response::json(std::move(body), s);
}

// The name in the request's body, or the response that refuses it.
inline std::optional<std::string> read_name(porthole::request const& req, porthole::response& refusal) {
    if (req.body().size() > max_body) {
        refusal = error(porthole::status::content_too_large, "body over " + std::to_string(max_body) + " bytes");
        return std::nullopt;
    }
    auto name = parse_item(req.body());
    if (!name) refusal = error(porthole::status::bad_request, "expected {\"name\": string}");
    return name;
}

inline auto make_app(store& db) {
    using namespace porthole;
    return router{
        get<"/items">([&db] {
            std::lock_guard lock(db.mutex);
            std::string out = "[";
            for (auto const& [id, name] : db.items) {
                if (out.size() > 1) out += ',';
                out += item_json(id, name);
            }
            out += ']';
            return response::json(std::move(out));
        }),
        post<"/items">([&db](request const& req) {
            response refusal;
            auto name = read_name(req, refusal);
            if (!name) return refusal;
            std::lock_guard lock(db.mutex);
            auto id = db.next_id++;
            db.items[id] = *name;
            auto res = response::json(item_json(id, *name), status::created);
            res.set_header("Location", "/items/" + std::to_string(id));
            return res;
        }),
        get<"/items/{id:int}">([&db](std::int64_t id) -> std::optional<response> {
            std::lock_guard lock(db.mutex);
            auto it = db.items.find(id);
            if (it == db.items.end()) return std::nullopt;  // 404
            return response::json(item_json(id, it->second));
        }),
        put<"/items/{id:int}">([&db](request const& req, std::int64_t id) {
            response refusal;
            auto name = read_name(req, refusal);
            if (!name) return refusal;
            std::lock_guard lock(db.mutex);
            auto it = db.items.find(id);
            if (it == db.items.end()) return error(status::not_found, "no such item");
            it->second = *name;
            return response::json(item_json(id, *name));
        }),
        delete_<"/items/{id:int}">([&db](std::int64_t id) {
            std::lock_guard lock(db.mutex);
            return db.items.erase(id) ? status::no_content : status::not_found;
        }),
    };
}

}  // namespace rest_api

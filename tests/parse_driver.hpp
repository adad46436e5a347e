// Test support: drives request_parser over input that arrives in pieces, the way a connection
// does, and records what came out, so tests can compare outcomes across splits.
#pragma once

#include <porthole/parser.hpp>

#include <array>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace test_support {

struct parsed_request {
    std::string method, target;
    int minor = 1;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    bool keep_alive = false;
    bool expect_continue = false;
    bool expect_unsupported = false;
    porthole::body_framing framing = porthole::body_framing::none;
    friend bool operator==(parsed_request const&, parsed_request const&) = default;
};

struct outcome {
    std::vector<parsed_request> requests;
    porthole::parse_error error = porthole::parse_error::none;
    bool pending_head = false;  // a complete head waits for its body at the end of input
    bool pending_expect_continue = false;
    std::size_t leftover = 0;  // unparsed bytes at the end
    std::string named;         // at an error or the end: the request its request line names, if parsed
    friend bool operator==(outcome const&, outcome const&) = default;
};

inline std::string named_by(porthole::request_parser const& parser) {
    if (!parser.request_line_parsed()) return {};
    auto const& h = parser.head();
    return std::string(h.method_name) + " " + std::string(h.target) + " HTTP/1." + std::to_string(h.version.minor);
}

// Feeds `input` cut at the given offsets (ascending). Each piece is appended to a buffer that is
// then moved to a new allocation, so the parser has to follow its views; decoded chunk framing
// is dropped from it after each piece.
inline outcome run(std::string_view input, std::vector<std::size_t> const& cuts,
                   porthole::parser_limits const& limits = {}) {
    std::array<porthole::header_field, 1000> storage{};
    porthole::request_parser parser(storage, limits);
    outcome out;
    std::string buf;
    std::size_t from = 0;
    auto pieces = cuts;
    pieces.push_back(input.size());
    for (auto to : pieces) {
        buf.append(input.substr(from, to - from));
        from = to;
        std::string moved(buf);  // a different address every time
        buf.swap(moved);
        for (;;) {
            auto st = parser.parse(buf.data(), buf.size());
            if (st == porthole::parse_status::error) {
                out.error = parser.error();
                out.named = named_by(parser);
                return out;
            }
            if (st == porthole::parse_status::incomplete) {
                buf.resize(parser.discard_framing(buf.data(), buf.size()));  // as a connection does
                break;
            }
            auto const& h = parser.head();
            parsed_request r;
            r.method = std::string(h.method_name);
            r.target = std::string(h.target);
            r.minor = h.version.minor;
            for (auto const& f : h.headers) r.headers.emplace_back(f.name, f.value);
            r.body = std::string(parser.body());
            r.keep_alive = h.keep_alive;
            r.expect_continue = h.expect_continue;
            r.expect_unsupported = h.expect_unsupported;
            r.framing = h.framing;
            out.requests.push_back(std::move(r));
            buf.erase(0, parser.consumed());
            parser.reset();
            if (buf.empty()) break;
        }
    }
    out.pending_head = parser.head_complete();
    out.pending_expect_continue = parser.head_complete() && parser.head().expect_continue;
    out.leftover = buf.size();
    out.named = named_by(parser);
    return out;
}

inline outcome run(std::string_view input, porthole::parser_limits const& limits = {}) {
    return run(input, {}, limits);
}

inline std::string read_file(std::string const& path) {
    std::ifstream f(path, std::ios::binary);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

// Rows of a corpus index.tsv as column-name -> value maps.
inline std::vector<std::vector<std::pair<std::string, std::string>>> read_index(std::string const& path) {
    std::istringstream in(read_file(path));
    std::string line;
    std::vector<std::string> columns;
    std::vector<std::vector<std::pair<std::string, std::string>>> rows;
    auto split = [](std::string const& l) {
        std::vector<std::string> v;
        std::size_t start = 0;
        for (;;) {
            auto tab = l.find('\t', start);
            v.push_back(l.substr(start, tab - start));
            if (tab == std::string::npos) break;
            start = tab + 1;
        }
        return v;
    };
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        if (columns.empty()) {
            columns = split(line);
            continue;
        }
        auto cells = split(line);
        std::vector<std::pair<std::string, std::string>> row;
        for (std::size_t i = 0; i < columns.size(); ++i)
            row.emplace_back(columns[i], i < cells.size() ? cells[i] : std::string{});
        rows.push_back(std::move(row));
    }
    return rows;
}

inline std::string cell(std::vector<std::pair<std::string, std::string>> const& row, std::string const& name) {
    for (auto const& [k, v] : row)
        if (k == name) return v;
    return {};
}

inline std::vector<std::string> split_on(std::string const& s, char sep) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (;;) {
        auto at = s.find(sep, start);
        out.push_back(s.substr(start, at - start));
        if (at == std::string::npos) break;
        start = at + 1;
    }
    return out;
}

// The folders of one kind of corpus ("realistic", "hostile"): the repository's, then the one
// PORTHOLE_EXTRA_CORPUS names, when it is set and has that kind (tests/corpus/README.md).
struct corpus_folder {
    std::string path;
    bool extra = false;
};
inline std::vector<corpus_folder> corpus_folders(std::string const& kind) {
    std::vector<corpus_folder> out{{std::string(PORTHOLE_SOURCE_DIR) + "/tests/corpus/" + kind, false}};
    if (char const* extra = std::getenv("PORTHOLE_EXTRA_CORPUS")) {
        std::string path = std::string(extra) + "/" + kind;
        if (std::ifstream(path + "/index.tsv")) out.push_back({path, true});
    }
    return out;
}

}  // namespace test_support

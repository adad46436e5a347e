// How fast is the parser? porthole's request_parser against nodejs/http-parser (Debian
// libhttp-parser-dev), on the same bytes, in the same run.
//
//   parser_bench [--rounds 5] [--seconds 0.3]     throughput table (medians), ratios
//   parser_bench --loop porthole|http_parser FILE N   parse FILE N times (for callgrind; see
//                                                       bench/parser_instructions.py)
#include <porthole/parser.hpp>

#include <http_parser.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#ifndef PORTHOLE_SHARED_DIR
#define PORTHOLE_SHARED_DIR "../shared"
#endif

namespace {

struct sample {
    std::string name;
    std::string bytes;  // one or more pipelined requests
    bool mutates;       // chunked bodies are decoded in place: parse a fresh copy each time
};

std::string read_file(std::string const& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) {
        std::fprintf(stderr, "cannot read %s\n", path.c_str());
        std::exit(2);
    }
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

sample load(std::string const& path) {
    auto bytes = read_file(path);
    bool chunked = bytes.find("chunked") != std::string::npos;
    return {path.substr(path.rfind('/') + 1), bytes, chunked};
}

// ---- porthole

std::array<porthole::header_field, 128> g_fields;
std::string g_scratch;

extern "C" __attribute__((noinline)) std::size_t porthole_parse_all(char const* data, std::size_t size, bool mutates) {
    char* buf = const_cast<char*>(data);
    if (mutates) {
        g_scratch.assign(data, size);
        buf = g_scratch.data();
    }
    porthole::request_parser p(g_fields);
    std::size_t requests = 0, off = 0;
    while (off < size) {
        if (p.parse(buf + off, size - off) != porthole::parse_status::complete) std::abort();
        off += p.consumed();
        ++requests;
        p.reset();
    }
    return requests;
}

// ---- nodejs/http-parser, with callbacks that keep views as porthole does

struct hp_state {
    std::array<std::pair<char const*, std::size_t>, 256> fields;
    std::size_t n = 0;
    std::size_t messages = 0;
};

int hp_keep(http_parser* p, char const* at, std::size_t len) {
    auto* s = static_cast<hp_state*>(p->data);
    if (s->n < s->fields.size()) s->fields[s->n++] = {at, len};
    return 0;
}
int hp_done(http_parser* p) {
    static_cast<hp_state*>(p->data)->messages++;
    return 0;
}

http_parser_settings make_settings() {
    http_parser_settings s;
    http_parser_settings_init(&s);
    s.on_url = hp_keep;
    s.on_header_field = hp_keep;
    s.on_header_value = hp_keep;
    s.on_body = hp_keep;
    s.on_message_complete = hp_done;
    return s;
}
http_parser_settings const g_settings = make_settings();

extern "C" __attribute__((noinline)) std::size_t http_parser_parse_all(char const* data, std::size_t size,
                                                                       bool mutates) {
    char const* buf = data;
    if (mutates) {  // same copy as porthole pays, to keep the comparison even
        g_scratch.assign(data, size);
        buf = g_scratch.data();
    }
    hp_state st;
    http_parser p;
    http_parser_init(&p, HTTP_REQUEST);
    p.data = &st;
    if (http_parser_execute(&p, &g_settings, buf, size) != size) std::abort();
    return st.messages;
}

using parse_fn = std::size_t (*)(char const*, std::size_t, bool);

struct figure {
    double mb_s, req_s;
};

figure measure(parse_fn fn, std::vector<sample> const& set, double seconds, int rounds) {
    std::vector<double> mbs, reqs;
    for (int r = 0; r < rounds; ++r) {
        std::size_t bytes = 0, requests = 0;
        auto start = std::chrono::steady_clock::now();
        double elapsed = 0;
        do {
            for (int k = 0; k < 64; ++k)
                for (auto const& s : set) {
                    requests += fn(s.bytes.data(), s.bytes.size(), s.mutates);
                    bytes += s.bytes.size();
                }
            elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        } while (elapsed < seconds);
        mbs.push_back(static_cast<double>(bytes) / elapsed / 1e6);
        reqs.push_back(static_cast<double>(requests) / elapsed);
    }
    std::sort(mbs.begin(), mbs.end());
    std::sort(reqs.begin(), reqs.end());
    return {mbs[mbs.size() / 2], reqs[reqs.size() / 2]};
}

}  // namespace

int main(int argc, char** argv) {
    std::string shared = PORTHOLE_SHARED_DIR;
    int rounds = 5;
    double seconds = 0.3;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--rounds" && i + 1 < argc) rounds = std::atoi(argv[++i]);
        else if (a == "--seconds" && i + 1 < argc) seconds = std::atof(argv[++i]);
        else if (a == "--shared" && i + 1 < argc) shared = argv[++i];
        else if (a == "--loop" && i + 3 < argc) {
            std::string which = argv[++i];
            auto s = load(argv[++i]);
            long n = std::atol(argv[++i]);
            parse_fn fn = which == "porthole" ? porthole_parse_all : http_parser_parse_all;
            std::size_t total = 0;
            for (long k = 0; k < n; ++k) total += fn(s.bytes.data(), s.bytes.size(), s.mutates);
            std::printf("%zu\n", total);
            return 0;
        } else {
            std::fprintf(stderr,
                         "usage: parser_bench [--rounds N] [--seconds S] [--shared DIR] | --loop WHICH FILE N\n");
            return 2;
        }
    }

    std::vector<std::pair<std::string, std::vector<sample>>> sets;
    {
        std::vector<sample> realistic;
        std::istringstream index(read_file(shared + "/corpus/realistic/index.tsv"));
        std::string line;
        std::getline(index, line);
        while (std::getline(index, line))
            if (!line.empty())
                realistic.push_back(load(shared + "/corpus/realistic/" + line.substr(0, line.find('\t'))));
        sets.emplace_back("realistic corpus", realistic);
        for (auto name : {"a", "b", "c", "d"})
            sets.emplace_back(std::string("request ") + name,
                              std::vector<sample>{load(shared + "/bench/requests/" + name + ".http")});
    }

    std::printf("parser throughput, median of %d runs of %.1f s each\n", rounds, seconds);
    std::printf("%-18s %12s %12s %14s %14s %8s\n", "input", "porthole MB/s", "peer MB/s", "porthole req/s",
                "peer req/s", "ratio");
    for (auto const& [name, set] : sets) {
        auto ours = measure(porthole_parse_all, set, seconds, rounds);
        auto peer = measure(http_parser_parse_all, set, seconds, rounds);
        std::printf("%-18s %12.0f %12.0f %14.0f %14.0f %7.2fx\n", name.c_str(), ours.mb_s, peer.mb_s, ours.req_s,
                    peer.req_s, ours.req_s / peer.req_s);
    }
    std::printf("peer: nodejs/http-parser %u.%u.%u (Debian libhttp-parser-dev); ratio = porthole / peer\n",
                HTTP_PARSER_VERSION_MAJOR, HTTP_PARSER_VERSION_MINOR, HTTP_PARSER_VERSION_PATCH);
    return 0;
}

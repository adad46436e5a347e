// porthole/detail/route_trie.hpp: the trie the router dispatches through, built by the compiler
// from the routes' segments: literal children sorted (hashed when many), parameters by kind, the
// routes that end at each node, and runs of single literals joined into one edge.
#pragma once

#include <porthole/route_pattern.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

namespace porthole::detail {

inline constexpr std::int16_t no_node = -1;

struct trie_node {
    std::uint16_t literals_begin = 0, literals_end = 0;  // into trie::edges, sorted by (size, text)
    std::int16_t integer = no_node, unsigned_integer = no_node, string = no_node, rest = no_node;
    std::uint16_t routes_begin = 0, routes_end = 0;  // into trie::routes: routes ending here
    std::uint16_t methods = 0;                       // their union
    std::uint16_t table_begin = 0;                   // into trie::slots, when table_bits > 0
    std::uint8_t table_bits = 0;                     // log2 of the table's size
    bool only_literal = false;                       // one literal child, no parameter: its edge is compared in place
};

struct literal_edge {
    std::string_view text;  // one segment, or a run of them ("api/v1") below an only_literal node
    std::uint64_t key = 0;  // literal_key(text)
    std::uint16_t child = 0;
    std::uint16_t segments = 1;
};

// A hash of a literal from its length and first and last eight bytes, for the nodes that have
// many literal children: one probe instead of a search whose branches the CPU cannot predict.
constexpr std::uint64_t load_bytes(char const* p, std::size_t n) noexcept {  // n <= 8, little-endian
    if (!std::is_constant_evaluated() && std::endian::native == std::endian::little && (n == 8 || n == 4)) {
        if (n == 8) {
            std::uint64_t v;
            std::memcpy(&v, p, 8);
            return v;
        }
        std::uint32_t v;
        std::memcpy(&v, p, 4);
        return v;
    }
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v |= std::uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
    return v;
}
constexpr std::uint64_t literal_key(std::string_view s) noexcept {
    auto n = s.size();
    auto const* p = s.data();
    std::uint64_t a = 0, b = 0;
    if (n >= 8) {
        a = load_bytes(p, 8);
        b = load_bytes(p + n - 8, 8);
    } else if (n >= 4) {
        a = load_bytes(p, 4);
        b = load_bytes(p + n - 4, 4);
    } else {
        a = load_bytes(p, n);
    }
    return a * 0x9e3779b97f4a7c15u ^ (b + n) * 0xc2b2ae3d27d4eb4fu;
}
inline constexpr std::size_t hashed_literals = 5;  // children from which a node gets a table

struct route_shape {
    segment_spec const* segments;
    std::size_t size;
    std::uint16_t methods;
};

template <std::size_t Routes, std::size_t Nodes>
struct trie {
    std::array<trie_node, Nodes> nodes{};
    std::array<literal_edge, Nodes> edges{};
    std::array<std::uint16_t, 4 * Nodes> slots{};    // per-node open-addressing tables: edge + 1, or 0
    std::array<std::uint16_t, Routes + 1> routes{};  // route indices grouped by end node
    std::size_t node_count = 1;
    std::size_t depth = 0;                          // most segments before a rest
    int conflict_first = -1, conflict_second = -1;  // two routes with the same shape and a shared method
};

// build_trie's passes, in the order it calls them. The first links a trie with each node's
// children in order, remembering which route and segment made each node; the others lay it out
// in trie's arrays.
template <std::size_t Routes, std::size_t Nodes>
struct linked_trie {
    std::array<segment_spec, Nodes> edge_of{};
    std::array<std::int16_t, Nodes> first_child{}, next_sibling{};
    std::array<std::uint16_t, Routes + 1> end_node{};
    std::array<std::uint16_t, Nodes> creator_route{}, creator_segment{};  // who made each node
};

// Segments as the trie tells them apart: a literal by its text, a parameter by its kind alone
// (names do not matter). Negative, zero or positive, as for strcmp.
constexpr int compare_segments(segment_spec const& a, segment_spec const& b) noexcept {
    if (a.kind != b.kind) return a.kind < b.kind ? -1 : 1;
    if (a.kind != segment_kind::literal) return 0;
    if (a.text.size() != b.text.size()) return a.text.size() < b.text.size() ? -1 : 1;
    for (std::size_t i = 0; i < a.text.size(); ++i)  // one pass: compilers bound constant evaluation's steps
        if (a.text[i] != b.text[i])
            return static_cast<unsigned char>(a.text[i]) < static_cast<unsigned char>(b.text[i]) ? -1 : 1;
    return 0;
}

// First a linked trie. The routes are taken in the order of their segments, so that each
// shares with the one before it the longest prefix it shares with any: its nodes are that
// prefix of the previous route's path, then new ones (O(n log n) in the routes, where looking
// each segment up among its siblings was quadratic in a wide table) ...
template <std::size_t Routes, std::size_t Nodes>
constexpr linked_trie<Routes, Nodes> link_routes(std::array<route_shape, Routes> const& shapes,
                                                 trie<Routes, Nodes>& t) {
    linked_trie<Routes, Nodes> l;
    for (auto& x : l.first_child) x = no_node;
    for (auto& x : l.next_sibling) x = no_node;
    std::array<std::uint16_t, Routes + 1> order{};
    for (std::size_t r = 0; r < Routes; ++r) order[r] = static_cast<std::uint16_t>(r);
    std::sort(order.begin(), order.begin() + Routes, [&](std::uint16_t a, std::uint16_t b) {
        auto const& x = shapes[a];
        auto const& y = shapes[b];
        for (std::size_t i = 0; i < x.size && i < y.size; ++i)
            if (int c = compare_segments(x.segments[i], y.segments[i])) return c < 0;
        return x.size < y.size;
    });
    std::array<std::uint16_t, Nodes> path{};  // the previous route's nodes, segment by segment
    std::array<std::int16_t, Nodes> last_child{};
    for (std::size_t k = 0; k < Routes; ++k) {
        auto const r = order[k];
        auto const& shape = shapes[r];
        std::size_t common = 0;
        if (k > 0) {
            auto const& before = shapes[order[k - 1]];
            while (common < shape.size && common < before.size &&
                   compare_segments(shape.segments[common], before.segments[common]) == 0)
                ++common;
        }
        std::size_t cur = common > 0 ? path[common - 1] : 0;
        for (std::size_t i = common; i < shape.size; ++i) {
            auto const made = t.node_count++;
            l.edge_of[made] = shape.segments[i];
            l.creator_route[made] = r;
            l.creator_segment[made] = static_cast<std::uint16_t>(i);
            // Appended: children are made in the routes' sorted order, so each node's list is sorted.
            if (l.first_child[cur] == no_node) l.first_child[cur] = static_cast<std::int16_t>(made);
            else l.next_sibling[static_cast<std::size_t>(last_child[cur])] = static_cast<std::int16_t>(made);
            last_child[cur] = static_cast<std::int16_t>(made);
            path[i] = static_cast<std::uint16_t>(made);
            cur = made;
        }
        std::size_t plain = 0;
        for (std::size_t i = 0; i < shape.size; ++i) plain += shape.segments[i].kind != segment_kind::rest;
        if (plain > t.depth) t.depth = plain;
        l.end_node[r] = static_cast<std::uint16_t>(cur);
    }
    return l;
}

// ... then each node's literal children as a run of edges (sorted, as link_routes made them),
// parameters by kind.
template <std::size_t Routes, std::size_t Nodes>
constexpr void sort_children(linked_trie<Routes, Nodes> const& l, trie<Routes, Nodes>& t) {
    std::size_t edge_count = 0;
    for (std::size_t n = 0; n < t.node_count; ++n) {
        auto& node = t.nodes[n];
        node.literals_begin = static_cast<std::uint16_t>(edge_count);
        for (auto c = l.first_child[n]; c != no_node; c = l.next_sibling[static_cast<std::size_t>(c)]) {
            auto const& e = l.edge_of[static_cast<std::size_t>(c)];
            switch (e.kind) {
                case segment_kind::literal:
                    t.edges[edge_count++] = {e.text, literal_key(e.text), static_cast<std::uint16_t>(c)};
                    break;
                case segment_kind::integer: node.integer = c; break;
                case segment_kind::unsigned_integer: node.unsigned_integer = c; break;
                case segment_kind::string: node.string = c; break;
                case segment_kind::rest: node.rest = c; break;
            }
        }
        node.literals_end = static_cast<std::uint16_t>(edge_count);
    }
}

// Tables at most half full for the nodes with many literal children.
template <std::size_t Routes, std::size_t Nodes>
constexpr void hash_literals(trie<Routes, Nodes>& t) {
    std::size_t slot_count = 0;
    for (std::size_t n = 0; n < t.node_count; ++n) {
        auto& node = t.nodes[n];
        std::size_t literals = node.literals_end - node.literals_begin;
        if (literals < hashed_literals) continue;
        std::uint8_t bits = 1;
        while ((std::size_t{1} << bits) < 2 * literals) ++bits;
        node.table_bits = bits;
        node.table_begin = static_cast<std::uint16_t>(slot_count);
        std::size_t mask = (std::size_t{1} << bits) - 1;
        for (std::size_t e = node.literals_begin; e < node.literals_end; ++e) {
            auto slot = static_cast<std::size_t>(t.edges[e].key >> (64 - bits));
            while (t.slots[slot_count + slot] != 0) slot = (slot + 1) & mask;
            t.slots[slot_count + slot] = static_cast<std::uint16_t>(e + 1);
        }
        slot_count += mask + 1;
    }
}

// Routes grouped by the node they end at, in declaration order within a node (counted, then
// placed: linear in routes and nodes). Two routes of one node that share a method conflict; the
// one reported is the first route declared that conflicts with an earlier one, with the first of
// those, whatever the order of the nodes.
template <std::size_t Routes, std::size_t Nodes>
constexpr void group_routes(std::array<route_shape, Routes> const& shapes, linked_trie<Routes, Nodes> const& l,
                            trie<Routes, Nodes>& t) {
    std::array<std::uint16_t, Nodes + 1> next{};  // where node n's next route goes
    for (std::size_t r = 0; r < Routes; ++r) ++next[l.end_node[r] + 1u];
    for (std::size_t n = 0; n < t.node_count; ++n) {
        next[n + 1] = static_cast<std::uint16_t>(next[n + 1] + next[n]);
        t.nodes[n].routes_begin = next[n];
        t.nodes[n].routes_end = next[n + 1];
    }
    for (std::size_t r = 0; r < Routes; ++r) t.routes[next[l.end_node[r]]++] = static_cast<std::uint16_t>(r);
    for (std::size_t n = 0; n < t.node_count; ++n) {
        auto& node = t.nodes[n];
        for (std::size_t k = node.routes_begin; k < node.routes_end; ++k) {
            auto methods = shapes[t.routes[k]].methods;
            for (std::size_t q = node.routes_begin; q < k; ++q)
                if ((shapes[t.routes[q]].methods & methods) &&
                    (t.conflict_second < 0 || t.routes[k] < t.conflict_second ||
                     (t.routes[k] == t.conflict_second && t.routes[q] < t.conflict_first))) {
                    t.conflict_first = t.routes[q];
                    t.conflict_second = t.routes[k];
                }
            node.methods = static_cast<std::uint16_t>(node.methods | methods);
        }
    }
}

// A node with one literal child and no parameter compares that edge in place; when the
// child and those below it are the same (no route ends there, one literal child), the edge
// runs on through them: "/api/v1/..." is one comparison. The nodes of such a run were all
// made by one route (the first to pass a node makes its only child), so the run's text is
// one piece of that route's pattern.
template <std::size_t Routes, std::size_t Nodes>
constexpr void join_literal_runs(std::array<route_shape, Routes> const& shapes, linked_trie<Routes, Nodes> const& l,
                                 trie<Routes, Nodes>& t) {
    auto only_literal = [&](trie_node const& n) {
        return n.literals_end - n.literals_begin == 1 && n.table_bits == 0 && n.integer == no_node &&
               n.unsigned_integer == no_node && n.string == no_node && n.rest == no_node;
    };
    for (std::size_t n = 0; n < t.node_count; ++n) {
        auto& node = t.nodes[n];
        if (!only_literal(node)) continue;
        node.only_literal = true;
        auto& edge = t.edges[node.literals_begin];
        auto const& shape = shapes[l.creator_route[edge.child]];
        std::size_t first = l.creator_segment[edge.child], last = first;
        std::size_t end = edge.child;
        while (t.nodes[end].routes_begin == t.nodes[end].routes_end && only_literal(t.nodes[end])) {
            end = t.edges[t.nodes[end].literals_begin].child;
            ++last;
        }
        auto const* begin = shape.segments[first].text.data();
        auto const& tail = shape.segments[last].text;
        edge.text = std::string_view(begin, static_cast<std::size_t>(tail.data() + tail.size() - begin));
        edge.key = literal_key(edge.text);
        edge.child = static_cast<std::uint16_t>(end);
        edge.segments = static_cast<std::uint16_t>(last - first + 1);
    }
}

template <std::size_t Routes, std::size_t Nodes>
constexpr trie<Routes, Nodes> build_trie(std::array<route_shape, Routes> const& shapes) {
    trie<Routes, Nodes> t;
    auto const linked = link_routes(shapes, t);
    sort_children(linked, t);
    hash_literals(t);
    group_routes(shapes, linked, t);
    join_literal_runs(shapes, linked, t);
    return t;
}

}  // namespace porthole::detail

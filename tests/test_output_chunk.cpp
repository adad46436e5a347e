// output_chunk.hpp: a piece of output and the thread's room for listing them.
#include <porthole/output_chunk.hpp>

#include <doctest/doctest.h>

#include <thread>

using porthole::output_chunk;

TEST_CASE("a chunk's size is its bytes in memory, or its file range's length") {
    output_chunk in_memory{"Hello, World!"};
    CHECK(in_memory.size() == 13);
    output_chunk empty{};
    CHECK(empty.size() == 0);
    output_chunk file{{}, 7, 4096, 100000};
    CHECK(file.size() == 100000);              // the range, not the (empty) memory view
    output_chunk file_from_zero{{}, 0, 0, 5};  // descriptor 0 is a file too
    CHECK(file_from_zero.size() == 5);
}

TEST_CASE("the thread's output room: the same on one thread, another on each other thread and piece type") {
    auto here = porthole::detail::thread_output_room<output_chunk>();
    CHECK(here.size() == 16);
    CHECK(porthole::detail::thread_output_room<output_chunk>().data() == here.data());
    here[0].memory = "kept";
    CHECK(porthole::detail::thread_output_room<output_chunk>()[0].memory == "kept");  // the same storage, not a copy
    output_chunk const* there = nullptr;
    std::size_t there_size = 0;
    std::thread([&] {
        auto t = porthole::detail::thread_output_room<output_chunk>();
        there = t.data();
        there_size = t.size();
    }).join();
    CHECK(there != here.data());
    CHECK(there_size == 16);
    auto pieces = porthole::detail::thread_output_room<std::string_view>();  // a WebSocket's pieces
    CHECK(pieces.size() == 16);
    CHECK(static_cast<void const*>(pieces.data()) != static_cast<void const*>(here.data()));
    CHECK(porthole::detail::thread_output_room<std::string_view>().data() == pieces.data());
    here[0] = {};
}

// Shared by the fuzz targets and by tests/test_fuzz_regressions.cpp, which replays saved inputs
// through the same checks.
//
// A failed check aborts in a fuzzing build (libFuzzer saves the input as a crash) and throws
// fuzz_support::check_failure when PORTHOLE_FUZZ_REPLAY is defined (a doctest case reports it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace fuzz_support {

struct check_failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

[[noreturn]] inline void fail(char const* what, char const* file, int line) {
    std::string message = std::string(file) + ":" + std::to_string(line) + ": check failed: " + what;
#ifdef PORTHOLE_FUZZ_REPLAY
    throw check_failure(message);
#else
    std::fprintf(stderr, "%s\n", message.c_str());
    std::abort();
#endif
}

// Reads the fuzzer's control bytes from the front of the input, then hands out the rest.
// Past the end it gives zeros, so every input is a valid one.
class input {
public:
    input(std::uint8_t const* data, std::size_t size) noexcept
        : data_(reinterpret_cast<char const*>(data)), size_(size) {}

    std::uint8_t byte() noexcept {
        if (pos_ == size_) return 0;
        return static_cast<std::uint8_t>(data_[pos_++]);
    }
    std::uint16_t u16() noexcept {
        auto lo = byte();
        return static_cast<std::uint16_t>(lo | (byte() << 8));
    }
    std::uint64_t u64() noexcept {
        std::uint64_t v = 0;
        for (int i = 0; i < 8; ++i) v |= std::uint64_t{byte()} << (8 * i);
        return v;
    }
    std::string_view take(std::size_t n) noexcept {
        n = n < size_ - pos_ ? n : size_ - pos_;
        std::string_view v(data_ + pos_, n);
        pos_ += n;
        return v;
    }
    std::string_view rest() noexcept { return take(size_ - pos_); }

private:
    char const* data_;
    std::size_t size_;
    std::size_t pos_ = 0;
};

// A heap copy of exactly `bytes.size()` bytes, so that the sanitizer sees any read past its end.
class exact_buffer {
public:
    explicit exact_buffer(std::string_view bytes)
        : size_(bytes.size()), data_(new char[bytes.size() == 0 ? 1 : bytes.size()]) {
        if (size_ != 0) std::memcpy(data_.get(), bytes.data(), size_);
    }
    char* data() noexcept { return data_.get(); }
    std::size_t size() const noexcept { return size_; }
    std::string_view view() const noexcept { return {data_.get(), size_}; }

private:
    std::size_t size_;
    std::unique_ptr<char[]> data_;
};

// True when `part` lies within [base, base + size).
inline bool within(std::string_view part, char const* base, std::size_t size) noexcept {
    if (part.empty()) return true;  // an empty view may point anywhere (or nowhere)
    auto p = reinterpret_cast<std::uintptr_t>(part.data());
    auto b = reinterpret_cast<std::uintptr_t>(base);
    return p >= b && p - b <= size && part.size() <= size - (p - b);
}

}  // namespace fuzz_support

#define FUZZ_CHECK(cond) ((cond) ? void() : ::fuzz_support::fail(#cond, __FILE__, __LINE__))

// Each target defines its check as `void one_input(data, size)` in a namespace of its own and
// closes with PORTHOLE_FUZZ_ENTRY(namespace); the replay test includes several targets in one
// program and so goes without the libFuzzer entry point.
#ifdef PORTHOLE_FUZZ_REPLAY
#define PORTHOLE_FUZZ_ENTRY(ns)
#else
#define PORTHOLE_FUZZ_ENTRY(ns)                                                         \
    extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) { \
        ns::one_input(data, size);                                                      \
        return 0;                                                                       \
    }
#endif

// Counts a program's heap allocations, so that a test or a benchmark can show that a path makes
// none. Included by one file of a program, it replaces the global operator new and new[] with
// malloc, counted (and their deletes with free). Not under ThreadSanitizer, whose runtime
// defines operator new itself: there allocation_count::counted is false and the count stays 0.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

#if defined(__SANITIZE_THREAD__)
#define PORTHOLE_TEST_COUNTS_ALLOCATIONS 0
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PORTHOLE_TEST_COUNTS_ALLOCATIONS 0
#endif
#endif
#ifndef PORTHOLE_TEST_COUNTS_ALLOCATIONS
#define PORTHOLE_TEST_COUNTS_ALLOCATIONS 1
#endif

namespace allocation_count {
inline constexpr bool counted = PORTHOLE_TEST_COUNTS_ALLOCATIONS;
inline std::atomic<std::size_t> calls{0};
// operator new calls so far, from every thread.
inline std::size_t now() noexcept { return calls.load(std::memory_order_relaxed); }
}  // namespace allocation_count

#if PORTHOLE_TEST_COUNTS_ALLOCATIONS
// g++ cannot see that this operator new is malloc's, and warns at the frees below.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t n) {
    allocation_count::calls.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
#endif

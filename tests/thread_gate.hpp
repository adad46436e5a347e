// A gate that jobs or handlers on other threads wait at until the test opens it, with a count of
// those waiting: shared by the tests of worker_pool.hpp and blocking.hpp.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace {

struct thread_gate {
    std::mutex m;
    std::condition_variable cv;
    bool open = false;
    int waiting = 0;
    void pass() {
        std::unique_lock lock(m);
        ++waiting;
        cv.notify_all();
        cv.wait(lock, [&] { return open; });
    }
    // Whether `n` are waiting within 10 s.
    bool wait_for_waiting(int n) {
        std::unique_lock lock(m);
        return cv.wait_for(lock, std::chrono::seconds(10), [&] { return waiting >= n; });
    }
    void release() {
        std::lock_guard lock(m);
        open = true;
        cv.notify_all();
    }
};

}  // namespace

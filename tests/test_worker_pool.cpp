// The pool blocking handlers run on (worker_pool.hpp): threads started as jobs need them, a
// bounded queue that refuses without taking the job, and a shutdown that drops waiting jobs and
// lets running ones finish.
#include "thread_gate.hpp"

#include <porthole/worker_pool.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <signal.h>
#include <thread>
#include <vector>

using porthole::worker_pool;

namespace {

// Opens the gate when it goes, before the pool it is declared after joins its threads: a
// failed check never leaves a job waiting at the gate forever.
struct open_at_exit {
    thread_gate& g;
    ~open_at_exit() { g.release(); }
};

bool submit(worker_pool& pool, std::function<void()> job) { return pool.try_submit(job); }

// Polls `done` until it holds, at most ten seconds.
template <class F>
bool eventually(F done) {
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done()) {
        if (std::chrono::steady_clock::now() > end) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

}  // namespace

TEST_CASE("limits as given, at least one thread; no thread until a job needs one") {
    worker_pool pool(3, 5);
    CHECK(pool.max_threads() == 3);
    CHECK(pool.queue_limit() == 5);
    CHECK(pool.started_threads() == 0);
    worker_pool none(0, 0);
    CHECK(none.max_threads() == 1);
    CHECK(none.started_threads() == 0);
}

TEST_CASE("jobs run on the pool's threads, never more of them than the limit") {
    worker_pool pool(4, 1000);
    std::mutex m;
    std::set<std::thread::id> threads;
    std::atomic<int> ran{0};
    for (int i = 0; i < 200; ++i) {
        CHECK(submit(pool, [&] {
            {
                std::lock_guard lock(m);
                threads.insert(std::this_thread::get_id());
            }
            ++ran;
        }));
    }
    REQUIRE(eventually([&] { return ran == 200; }));
    CHECK(pool.started_threads() <= 4);
    std::lock_guard lock(m);
    CHECK(threads.size() <= 4);
    CHECK(threads.count(std::this_thread::get_id()) == 0);
}

TEST_CASE("a full queue refuses a job and leaves it with the caller, untouched") {
    thread_gate g;
    worker_pool pool(1, 2);
    open_at_exit opener{g};
    REQUIRE(submit(pool, [&] { g.pass(); }));
    REQUIRE(g.wait_for_waiting(1));  // the one thread is busy
    std::atomic<int> ran{0};
    CHECK(submit(pool, [&] { ++ran; }));
    CHECK(submit(pool, [&] { ++ran; }));
    bool refused_ran = false;
    std::function<void()> refused = [&] { refused_ran = true; };
    CHECK_FALSE(pool.try_submit(refused));
    REQUIRE(refused);  // still the caller's, to answer 503 with
    refused();
    CHECK(refused_ran);
    g.release();
    REQUIRE(eventually([&] { return ran == 2; }));
    // Room again once the queue drains.
    CHECK(submit(pool, [&] { ++ran; }));
    REQUIRE(eventually([&] { return ran == 3; }));
    CHECK(pool.started_threads() == 1);
}

TEST_CASE("a queue limit of 0 still hands a job to an idle thread, or one still to start") {
    thread_gate g;
    worker_pool pool(2, 0);
    open_at_exit opener{g};
    CHECK(submit(pool, [&] { g.pass(); }));  // starts the first thread
    CHECK(submit(pool, [&] { g.pass(); }));  // and the second
    REQUIRE(g.wait_for_waiting(2));
    CHECK_FALSE(submit(pool, [] {}));  // both busy, nowhere to wait
    g.release();
}

TEST_CASE("a job that says it is finishing frees its thread: the next job is taken, not refused") {
    // A blocking handler says so before it answers: its client may send the next request
    // before the job has returned, and found the one thread busy and no room to wait (503).
    thread_gate finishing, tail;
    worker_pool pool(1, 0);
    open_at_exit open_finishing{finishing}, open_tail{tail};
    std::atomic<bool> on_pool{false};
    CHECK_FALSE(pool.runs_this_thread());
    REQUIRE(submit(pool, [&] {
        on_pool = pool.runs_this_thread();
        finishing.pass();
        worker_pool::job_finishing();
        worker_pool::job_finishing();  // once a job: the second does nothing
        tail.pass();                   // the job's tail: its thread is not back at the queue yet
    }));
    REQUIRE(finishing.wait_for_waiting(1));
    CHECK_FALSE(submit(pool, [] {}));  // busy, nowhere to wait
    worker_pool::job_finishing();      // not on a pool thread: nothing
    CHECK_FALSE(submit(pool, [] {}));
    finishing.release();
    REQUIRE(tail.wait_for_waiting(1));
    std::atomic<bool> ran{false};
    CHECK(submit(pool, [&] { ran = true; }));  // taken by the finishing thread once it is back
    CHECK_FALSE(submit(pool, [] {}));          // one thread finishing takes one job
    tail.release();
    CHECK(eventually([&] { return ran.load(); }));
    CHECK(on_pool.load());
    CHECK(pool.started_threads() == 1);
}

TEST_CASE("jobs submitted together each get a thread of their own while there are threads to start") {
    thread_gate g;
    worker_pool pool(4, 100);
    open_at_exit opener{g};
    std::atomic<bool> first_done{false};
    REQUIRE(submit(pool, [&] { first_done = true; }));
    REQUIRE(eventually([&] { return first_done.load(); }));  // one thread, idle again (or about to be)
    // Four jobs that each block: however quickly they come, four threads run them at once,
    // rather than some waiting behind a thread already promised to another job.
    for (int i = 0; i < 4; ++i) REQUIRE(submit(pool, [&] { g.pass(); }));
    CHECK(g.wait_for_waiting(4));
    CHECK(pool.started_threads() == 4);
}

TEST_CASE("shut_down drops waiting jobs unrun, lets the running one finish, and refuses new ones") {
    thread_gate g;
    worker_pool pool(1, 10);
    open_at_exit opener{g};
    std::atomic<bool> running_finished{false};
    REQUIRE(submit(pool, [&] {
        g.pass();
        running_finished = true;
    }));
    REQUIRE(g.wait_for_waiting(1));
    auto token = std::make_shared<int>(0);
    std::weak_ptr<int> watch = token;
    std::atomic<int> waiting_ran{0};
    for (int i = 0; i < 3; ++i) REQUIRE(submit(pool, [&waiting_ran, token] { ++waiting_ran; }));
    token.reset();  // only the waiting jobs hold it now
    std::thread stopper([&] { pool.shut_down(); });
    // The waiting jobs are destroyed without running while the running one still waits.
    CHECK(eventually([&] { return watch.expired(); }));
    CHECK_FALSE(running_finished);
    g.release();
    stopper.join();  // joined: the running job finished first
    CHECK(running_finished);
    CHECK(waiting_ran == 0);
    CHECK(pool.started_threads() == 0);
    CHECK_FALSE(submit(pool, [] {}));
}

TEST_CASE("the destructor shuts the pool down the same way") {
    auto token = std::make_shared<int>(0);
    std::weak_ptr<int> watch = token;
    std::atomic<int> ran{0};
    thread_gate g;
    std::thread releaser;
    {
        worker_pool pool(1, 10);
        REQUIRE(submit(pool, [&] {
            g.pass();
            ++ran;
        }));
        REQUIRE(g.wait_for_waiting(1));
        REQUIRE(submit(pool, [&ran, token] { ++ran; }));
        token.reset();
        // Opens the gate once the waiting job is gone: while the destructor waits for the running one.
        releaser = std::thread([&] {
            eventually([&] { return watch.expired(); });
            g.release();
        });
    }
    releaser.join();
    CHECK(watch.expired());
    CHECK(ran == 1);  // the running job finished; the waiting one never ran
}

TEST_CASE("a worker takes no asynchronous signals, whatever the mask of the thread that started it") {
    worker_pool pool(1, 1);
    std::atomic<int> seen{0};  // 1: SIGINT and SIGTERM blocked, SIGSEGV not; 2: otherwise
    bool submitted = false;
    std::thread([&] {  // a thread that lets every signal through: the worker starts from it
        sigset_t none;
        sigemptyset(&none);
        ::pthread_sigmask(SIG_SETMASK, &none, nullptr);
        submitted = submit(pool, [&] {
            sigset_t now;
            ::pthread_sigmask(SIG_BLOCK, nullptr, &now);
            bool right = sigismember(&now, SIGINT) && sigismember(&now, SIGTERM) && !sigismember(&now, SIGSEGV);
            seen = right ? 1 : 2;
        });
    })
        .join();
    REQUIRE(submitted);
    REQUIRE(eventually([&] { return seen != 0; }));
    CHECK(seen == 1);
}

// porthole/worker_pool.hpp: a bounded pool of threads for handlers that block (blocking.hpp).
// The server owns one; its threads start only when a job first needs one, so a program that
// marks nothing blocking has none.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <porthole/detail/sys.hpp>
#include <porthole/metrics.hpp>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace porthole {

class worker_pool {
public:
    // At most `threads` threads (at least one), and at most `queue_limit` jobs waiting for one.
    explicit worker_pool(std::size_t threads = 16, std::size_t queue_limit = 256)
        : max_threads_(threads ? threads : 1), queue_limit_(queue_limit) {}
    worker_pool(worker_pool const&) = delete;
    worker_pool& operator=(worker_pool const&) = delete;

    // Jobs still waiting are dropped (destroyed without running); running ones finish first.
    ~worker_pool() { shut_down(); }

    // Any thread: queues `job` to run on a pool thread. False, with the job not taken, when
    // as many jobs already wait as the queue holds, or the pool has shut down.
    bool try_submit(std::function<void()>& job) {
        std::unique_lock lock(mutex_);
        // Jobs that a thread takes at once do not count as waiting: one per idle thread, per
        // thread started and not yet at the queue, and per thread still to start.
        std::size_t takers = idle_ + starting_;
        if (stopping_ || queue_.size() >= queue_limit_ + takers + (startable_ - threads_.size())) {
            detail::count_worker_rejection();
            return false;
        }
        queue_.push_back(std::move(job));
        detail::count_worker_queue(1);
        if (queue_.size() > takers && threads_.size() < max_threads_) {
            try {
                // Started with every asynchronous signal blocked (a thread inherits the mask),
                // whatever the submitting thread lets through: signals are the program's.
                detail::async_signals_blocked blocked;
                threads_.emplace_back([this] { work(); });
                ++starting_;
                startable_ = max_threads_;
            } catch (...) {                    // no thread to be had: the job waits for a running one, if any
                startable_ = threads_.size();  // till one starts, those not started make no room
                if (threads_.empty()) {
                    job = std::move(queue_.back());
                    queue_.pop_back();
                    detail::count_worker_queue(-1);
                    detail::count_worker_rejection();
                    return false;
                }
            }
        }
        bool wake = idle_ > 0;
        lock.unlock();
        if (wake) wake_.notify_one();
        return true;
    }

    // Stops taking jobs, drops the waiting ones, and joins the threads.
    void shut_down() {
        std::deque<std::function<void()>> dropped;
        std::vector<std::thread> threads;
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
            dropped.swap(queue_);
            detail::count_worker_queue(-static_cast<std::int64_t>(dropped.size()));
            threads.swap(threads_);
        }
        wake_.notify_all();
        dropped.clear();  // outside the lock: a dropped job's destructor may do anything
        for (auto& t : threads) t.join();
    }

    // From a job, on a pool thread: the job is as good as done (it is about to answer, or to
    // resume what waits on it) though it has not returned, so its thread counts as free from
    // now on, and a job submitted in answer to it is not refused for want of one. Once a job;
    // elsewhere it does nothing. It speaks for the whole job, whatever code of it calls: a job
    // that then submits to its own pool and waits for that job may wait for itself.
    static void job_finishing() noexcept {
        auto& job = running_job();
        if (!job.pool || job.finished) return;
        job.finished = true;
        std::lock_guard lock(job.pool->mutex_);
        ++job.pool->idle_;
    }
    // Whether the calling thread is one of this pool's, running a job.
    bool runs_this_thread() const noexcept { return running_job().pool == this; }

    std::size_t max_threads() const noexcept { return max_threads_; }
    std::size_t queue_limit() const noexcept { return queue_limit_; }
    std::size_t started_threads() const {
        std::lock_guard lock(mutex_);
        return threads_.size();
    }

private:
    // The job a pool thread runs: its pool, and whether it said it is finishing.
    struct job_on_thread {
        worker_pool* pool = nullptr;
        bool finished = false;
    };
    static job_on_thread& running_job() noexcept {
        thread_local job_on_thread job;
        return job;
    }

    void work() {
        std::unique_lock lock(mutex_);
        --starting_;  // at the queue from now on: counted as idle or busy
        ++idle_;
        for (;;) {
            wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            --idle_;
            if (queue_.empty()) return;  // stopping
            auto job = std::move(queue_.front());
            queue_.pop_front();
            detail::count_worker_queue(-1);
            lock.unlock();
            running_job() = {this, false};
            job();  // jobs catch their own exceptions (blocking.hpp); a stray one ends the process
            job = nullptr;
            bool finished = std::exchange(running_job(), {}).finished;
            lock.lock();
            if (!finished) ++idle_;  // counted already by job_finishing()
        }
    }

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::function<void()>> queue_;
    std::vector<std::thread> threads_;
    std::size_t max_threads_;
    std::size_t startable_ = max_threads_;  // threads_.size() from a failed start till one starts
    std::size_t queue_limit_;
    std::size_t idle_ = 0;      // threads waiting for a job, or whose job is finishing
    std::size_t starting_ = 0;  // threads started that have not yet reached the queue
    bool stopping_ = false;
};

}  // namespace porthole

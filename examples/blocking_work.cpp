// blocking_work: slow work that holds up nobody else.
//   GET /slow?ms=N   a handler that sleeps N ms, run on the worker pool (porthole::blocking)
//   GET /later?ms=N  answered after N ms by a timer thread, through a responder: no thread waits
//   GET /fast        answered at once
//   build/examples/blocking_work --port 8080 --threads 2 [--worker-threads 16 --worker-queue 256]
#include <porthole/porthole.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

namespace {

// One thread that sends each answer when its time comes.
class timer_thread {
public:
    timer_thread() : thread_([this] { run(); }) {}
    ~timer_thread() {
        {
            std::lock_guard lock(mutex_);
            done_ = true;
        }
        wake_.notify_one();
        thread_.join();
    }

    void answer_after(std::chrono::milliseconds delay, porthole::responder answer, std::string body) {
        {
            std::lock_guard lock(mutex_);
            due_.emplace(std::chrono::steady_clock::now() + delay, entry{std::move(answer), std::move(body)});
        }
        wake_.notify_one();
    }

private:
    struct entry {
        porthole::responder answer;
        std::string body;
    };

    void run() {
        std::unique_lock lock(mutex_);
        while (!done_) {
            if (due_.empty()) {
                wake_.wait(lock);
                continue;
            }
            auto first = due_.begin();
            if (wake_.wait_until(lock, first->first) == std::cv_status::no_timeout) continue;
            entry e = std::move(first->second);
            due_.erase(first);
            lock.unlock();
            (void)e.answer.send(porthole::response::text(std::move(e.body)));  // false: the client left
            lock.lock();
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_;
    std::multimap<std::chrono::steady_clock::time_point, entry> due_;
    bool done_ = false;
    std::thread thread_;  // last: starts once the rest exists
};

std::chrono::milliseconds requested_delay(porthole::request const& req) {
    auto ms = req.query("ms");
    long n = ms ? std::strtol(ms->c_str(), nullptr, 10) : 0;
    return std::chrono::milliseconds(n < 0 ? 0 : n > 60000 ? 60000 : n);
}

}  // namespace

int main(int argc, char** argv) {
    timer_thread timer;
    auto app = porthole::router(
        porthole::get<"/slow">(porthole::blocking([](porthole::request const& req) {
            auto delay = requested_delay(req);
            std::this_thread::sleep_for(delay);  // stands for a slow database call
            return "slept " + std::to_string(delay.count()) + " ms on a worker thread\n";
        })),
        porthole::get<"/later">([&timer](porthole::request const& req, porthole::responder answer) {
            auto delay = requested_delay(req);
            timer.answer_after(delay, std::move(answer), "answered after " + std::to_string(delay.count()) + " ms\n");
        }),
        porthole::get<"/fast">([] { return "fast\n"; }));
    return porthole::serve(app, porthole::server_options::from_command_line(argc, argv));
}

// porthole/mailbox.hpp: how another thread reaches a connection. Only the thread that drives a
// connection (its event loop, a poll() caller, a test) ever touches it; any other thread leaves
// word in that driver's mailbox and wakes it, and the driver hands the word to the connection.
//
//   any thread ──► connection_link::notify() ──► mailbox (per loop) ──► wake-up
//        ──► driver's step: mailbox::run() ──► connection reads its link's state ──► bytes
//
// A connection_link exists only for a connection that asked for one (a deferred answer, a live
// stream): a connection that answers at once has none and pays nothing. The state a thread
// hands over (a response, stream bytes) lives in an object the link's owner knows (a
// responder's answer_state, a stream's channel); the mailbox carries only "look again".
//
// Plugging another protocol in (WebSocket after a 101, say): give its per-connection state a
// connection_link from connection_link::open(), keep outgoing frames in a queue behind its own
// mutex, and have the sending thread append and call link->notify(). The driver's step then
// calls the link's on_notify on the owning thread, where the protocol moves the queued frames
// into its output and says ready(); the driver writes them like any other output. Nothing but
// the owner thread reads or changes the protocol's output, and nothing more is needed from
// the loop.
#pragma once

#include <porthole/detail/cxx20.hpp>

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace porthole {

class mailbox;

// A connection's address for other threads. Shared by the connection and every handle that
// reaches it from elsewhere; outlives either. on_notify and owner are the owner thread's.
class connection_link {
public:
    // Any thread: the owner should look at what this link carries. Cheap when repeated: one
    // entry waits in the mailbox however often it is called before the owner runs. False once
    // the connection is gone (the call did nothing). Allocates nothing, so it may be called
    // from a destructor or where memory has run out.
    bool notify() noexcept;

    // Any thread: whether the connection still exists (the client has not left, the server has
    // not closed it). Advisory: it can change right after the call.
    bool connected() const noexcept { return connected_.load(std::memory_order_acquire); }

    // Owner thread: who hears notify(), and the end of the connection.
    void set_owner(void* owner, void (*on_notify)(void*)) noexcept {
        owner_ = owner;
        on_notify_ = on_notify;
    }
    void disconnect() noexcept {
        connected_.store(false, std::memory_order_release);
        owner_ = nullptr;
        on_notify_ = nullptr;
    }

    // A link into `box` for a connection whose driver knows it by `tag`.
    static std::shared_ptr<connection_link> open(std::shared_ptr<mailbox> box, void* tag) {
        auto l = std::make_shared<connection_link>(private_tag{});
        l->box_ = std::move(box);
        l->tag_ = tag;
        l->self_ = l;
        return l;
    }

    struct private_tag {};
    explicit connection_link(private_tag) noexcept {}

private:
    friend class mailbox;
    std::shared_ptr<mailbox> box_;
    std::weak_ptr<connection_link> self_;
    void* tag_ = nullptr;
    void* owner_ = nullptr;
    void (*on_notify_)(void*) = nullptr;
    std::atomic<bool> connected_{true};
    std::atomic<bool> queued_{false};
    // While queued (the mailbox's lock guards both): the next link in the queue, and this link
    // itself, kept alive by the queue. The queue is made of the links, so posting never allocates.
    connection_link* next_ = nullptr;
    std::shared_ptr<connection_link> held_;
};

// One driver's queue of links to look at. Any thread posts; the driver runs it in its own step.
class mailbox : public std::enable_shared_from_this<mailbox> {
public:
    // `wake` interrupts the driver's wait (an eventfd write); it must be thread-safe, cheap and
    // not throw (it runs inside notify(), which is noexcept). A driver that steps on its own (a
    // test) may leave it empty.
    explicit mailbox(std::function<void()> wake = {}) : wake_(std::move(wake)) {}
    mailbox(mailbox const&) = delete;
    mailbox& operator=(mailbox const&) = delete;

    // Owner thread: for each link posted since the last run, in order, its owner's on_notify
    // runs, then ready(tag) for the connection that the driver should write for. Returns how many.
    // Should either throw, the exception goes on, and the links after it wait for the next run.
    template <class Ready>
    std::size_t run(Ready&& ready) {
        connection_link* l = nullptr;
        {
            std::lock_guard lock(mutex_);
            l = std::exchange(head_, nullptr);
            tail_ = nullptr;
        }
        std::size_t n = 0;
        for (; l; ++n) {
            // Taken before queued_ is cleared: from then on another thread may post l again.
            connection_link* next = std::exchange(l->next_, nullptr);
            std::shared_ptr<connection_link> held = std::move(l->held_);
            l->queued_.store(false, std::memory_order_release);
            if (l->on_notify_) {
                try {
                    l->on_notify_(l->owner_);
                    ready(l->tag_);
                } catch (...) {
                    put_back(next);  // the links after it are run next time, not lost
                    throw;
                }
            }
            l = next;
        }
        return n;
    }

    // Owner thread, when the driver ends: nothing posted afterwards is kept or wakes anyone.
    void close() noexcept {
        connection_link* l = nullptr;
        {
            std::lock_guard lock(mutex_);
            closed_ = true;
            l = std::exchange(head_, nullptr);
            tail_ = nullptr;
        }
        drop(l);  // links hold the mailbox: the cycle is broken now (nothing posts them again)
    }

    bool empty() const {
        std::lock_guard lock(mutex_);
        return head_ == nullptr;
    }

private:
    friend class connection_link;
    bool post(std::shared_ptr<connection_link> l) noexcept {
        std::lock_guard lock(mutex_);
        if (closed_) return false;
        connection_link* link = l.get();
        link->held_ = std::move(l);
        (tail_ ? tail_->next_ : head_) = link;
        bool was_empty = tail_ == nullptr;
        tail_ = link;
        // Under the lock: once close() has run, the driver (and what wake touches) may be gone.
        if (was_empty && wake_) wake_();
        return true;
    }

    // Links taken by run() and not run (one before them threw) go back to the front, still
    // queued, and the driver is woken to run them; dropped as close() drops them if it ran.
    void put_back(connection_link* first) noexcept {
        if (!first) return;
        connection_link* last = first;
        while (last->next_) last = last->next_;
        {
            std::lock_guard lock(mutex_);
            if (!closed_) {
                last->next_ = head_;
                head_ = first;
                if (!tail_) tail_ = last;
                if (wake_) wake_();
                return;
            }
        }
        drop(first);
    }

    // Lets go of a chain of links taken from the queue: outside the lock, since the last link
    // may take the mailbox with it.
    static void drop(connection_link* l) noexcept {
        while (l) {
            connection_link* next = std::exchange(l->next_, nullptr);
            std::shared_ptr<connection_link> held = std::move(l->held_);
            l = next;
        }
    }

    mutable std::mutex mutex_;
    connection_link* head_ = nullptr;  // the links posted, oldest first, through next_
    connection_link* tail_ = nullptr;
    std::function<void()> wake_;
    bool closed_ = false;
};

inline bool connection_link::notify() noexcept {
    if (!connected()) return false;
    if (queued_.exchange(true, std::memory_order_acq_rel)) return true;
    auto self = self_.lock();
    if (!self || !box_->post(std::move(self))) {
        queued_.store(false, std::memory_order_release);
        return false;
    }
    return true;
}

}  // namespace porthole

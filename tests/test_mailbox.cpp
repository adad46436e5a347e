// How other threads reach a connection (mailbox.hpp): links posted to their driver's mailbox,
// once however often notified, run in order on the driver's thread, with one wake-up per batch.
#include <porthole/mailbox.hpp>

#include "allocation_count.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <stdexcept>
#include <utility>
#include <vector>

using porthole::connection_link;
using porthole::mailbox;

namespace {

// A connection as the mailbox sees it: an owner whose on_notify counts, and the tag its driver knows.
struct fake_connection {
    int id = 0;
    std::vector<int>* order = nullptr;
    int notified = 0;
    std::thread::id notified_on{};
    static void on_notify(void* self) {
        auto* c = static_cast<fake_connection*>(self);
        ++c->notified;
        c->notified_on = std::this_thread::get_id();
        if (c->order) c->order->push_back(c->id);
    }
};

}  // namespace

TEST_CASE("a link notified many times before the driver runs is run once; the first post wakes the driver") {
    int wakes = 0;
    auto box = std::make_shared<mailbox>([&] { ++wakes; });
    fake_connection conn;
    int tag = 0;
    auto link = connection_link::open(box, &tag);
    link->set_owner(&conn, &fake_connection::on_notify);
    CHECK(box->empty());
    CHECK(link->notify());
    CHECK(link->notify());
    CHECK(link->notify());
    CHECK_FALSE(box->empty());
    CHECK(wakes == 1);
    std::vector<void*> ready;
    CHECK(box->run([&](void* t) { ready.push_back(t); }) == 1);
    CHECK(conn.notified == 1);
    CHECK(ready == std::vector<void*>{&tag});
    CHECK(box->empty());
    CHECK(box->run([&](void*) { FAIL("nothing was posted"); }) == 0);
    // After a run, the next notify posts again and wakes again.
    CHECK(link->notify());
    CHECK(wakes == 2);
    CHECK(box->run([](void*) {}) == 1);
    CHECK(conn.notified == 2);
}

TEST_CASE("links run in the order they were posted; one wake-up serves a whole batch") {
    int wakes = 0;
    auto box = std::make_shared<mailbox>([&] { ++wakes; });
    std::vector<int> order;
    std::vector<fake_connection> conns(5);
    std::vector<std::shared_ptr<connection_link>> links;
    for (int i = 0; i < 5; ++i) {
        conns[i].id = i;
        conns[i].order = &order;
        links.push_back(connection_link::open(box, &conns[i]));
        links.back()->set_owner(&conns[i], &fake_connection::on_notify);
    }
    for (int i : {3, 1, 4, 0, 2}) links[i]->notify();
    links[3]->notify();  // already waiting: keeps its place
    CHECK(wakes == 1);
    std::vector<void*> ready;
    CHECK(box->run([&](void* tag) { ready.push_back(tag); }) == 5);
    CHECK(order == std::vector<int>{3, 1, 4, 0, 2});
    CHECK(ready == std::vector<void*>{&conns[3], &conns[1], &conns[4], &conns[0], &conns[2]});
}

TEST_CASE("a disconnected link posts nothing; one without an owner is run but not made ready") {
    auto box = std::make_shared<mailbox>();  // a driver that steps on its own: no wake
    fake_connection conn;
    auto link = connection_link::open(box, &conn);
    CHECK(link->connected());
    link->set_owner(&conn, &fake_connection::on_notify);
    link->disconnect();
    CHECK_FALSE(link->connected());
    CHECK_FALSE(link->notify());
    CHECK(box->empty());

    auto ownerless = connection_link::open(box, &conn);
    CHECK(ownerless->notify());
    int ready = 0;
    CHECK(box->run([&](void*) { ++ready; }) == 1);
    CHECK(ready == 0);
    CHECK(conn.notified == 0);
    // Disconnected while waiting in the mailbox: dropped at the run, its owner not called.
    link = connection_link::open(box, &conn);
    link->set_owner(&conn, &fake_connection::on_notify);
    CHECK(link->notify());
    link->disconnect();
    CHECK(box->run([&](void*) { ++ready; }) == 1);
    CHECK(ready == 0);
    CHECK(conn.notified == 0);
}

TEST_CASE("a closed mailbox takes nothing and wakes nobody; closing breaks the link-mailbox cycle") {
    int wakes = 0;
    auto box = std::make_shared<mailbox>([&] { ++wakes; });
    std::weak_ptr<mailbox> watch = box;
    fake_connection conn;
    auto waiting = connection_link::open(box, &conn);
    waiting->set_owner(&conn, &fake_connection::on_notify);
    CHECK(waiting->notify());
    CHECK(wakes == 1);
    box->close();
    CHECK(box->empty());  // what waited is dropped
    auto later = connection_link::open(box, &conn);
    later->set_owner(&conn, &fake_connection::on_notify);
    CHECK_FALSE(later->notify());
    CHECK(wakes == 1);
    CHECK(box->run([](void*) {}) == 0);
    CHECK(conn.notified == 0);
    // Nothing holds the mailbox but the links' own references.
    box.reset();
    waiting.reset();
    later.reset();
    CHECK(watch.expired());
}

TEST_CASE("posting allocates nothing, however many links wait: notify() can be called where memory ran out") {
    static_assert(noexcept(std::declval<connection_link&>().notify()));
    int wakes = 0;
    auto box = std::make_shared<mailbox>([&] { ++wakes; });
    std::vector<fake_connection> conns(1000);
    std::vector<int> order;
    std::vector<std::shared_ptr<connection_link>> links;
    for (int i = 0; i < 1000; ++i) {
        conns[i].id = i;
        conns[i].order = &order;
        links.push_back(connection_link::open(box, &conns[i]));
        links.back()->set_owner(&conns[i], &fake_connection::on_notify);
    }
    order.reserve(2000);
    for (int round = 0; round < 2; ++round) {
        std::size_t before = allocation_count::now();
        for (auto& l : links) CHECK(l->notify());
        CHECK(box->run([](void*) {}) == 1000);
        if (allocation_count::counted) CHECK(allocation_count::now() == before);
    }
    CHECK(wakes == 2);
    REQUIRE(order.size() == 2000);
    for (int i = 0; i < 2000; ++i) CHECK(order[i] == i % 1000);
    // Links dropped by everyone else while they wait are freed by the run that takes them.
    std::weak_ptr<connection_link> first = links[0], second = links[1];
    CHECK(links[0]->notify());
    CHECK(links[1]->notify());
    links.clear();
    CHECK_FALSE(first.expired());
    CHECK(box->run([](void*) {}) == 2);
    CHECK(first.expired());
    CHECK(second.expired());
}

TEST_CASE("a run that throws leaves the links after it queued for the next run, and wakes the driver") {
    int wakes = 0;
    auto box = std::make_shared<mailbox>([&] { ++wakes; });
    std::vector<int> order;
    fake_connection conns[3];
    std::vector<std::shared_ptr<connection_link>> links;
    for (int i = 0; i < 3; ++i) {
        conns[i].id = i;
        conns[i].order = &order;
        links.push_back(connection_link::open(box, &conns[i]));
        links.back()->set_owner(&conns[i], &fake_connection::on_notify);
        CHECK(links.back()->notify());
    }
    CHECK(wakes == 1);
    CHECK_THROWS_AS(box->run([&](void* tag) {
        if (tag == &conns[0]) throw std::runtime_error("a driver's step ran out of memory");
    }),
                    std::runtime_error);
    CHECK(order == std::vector<int>{0});
    CHECK(wakes == 2);  // the driver runs again for the two left
    CHECK_FALSE(box->empty());
    CHECK(links[2]->notify());  // still queued: not posted twice
    CHECK(box->run([](void*) {}) == 2);
    CHECK(order == std::vector<int>{0, 1, 2});
    CHECK(links[0]->notify());  // the one that threw can be posted again
    CHECK(box->run([](void*) {}) == 1);
    // After close(), what would go back is dropped instead, so nothing keeps the mailbox alive.
    std::weak_ptr<mailbox> watch = box;
    for (auto& l : links) CHECK(l->notify());
    CHECK_THROWS_AS(box->run([&](void* tag) {
        if (tag == &conns[0]) {
            box->close();
            throw std::runtime_error("closed and thrown");
        }
    }),
                    std::runtime_error);
    box.reset();
    links.clear();
    CHECK(watch.expired());
}

TEST_CASE("notifications from many threads reach the owner on the driver's thread, each link once per wake-up") {
    std::mutex m;
    std::condition_variable cv;
    bool woken = false;
    auto box = std::make_shared<mailbox>([&] {
        std::lock_guard lock(m);  // called under the mailbox's lock: a cheap, thread-safe signal
        woken = true;
        cv.notify_one();
    });
    constexpr int links_n = 8, rounds = 200;
    std::vector<fake_connection> conns(links_n);
    std::vector<std::shared_ptr<connection_link>> links;
    for (auto& c : conns) {
        links.push_back(connection_link::open(box, &c));
        links.back()->set_owner(&c, &fake_connection::on_notify);
    }
    std::atomic<int> done{0};
    std::vector<std::thread> senders;
    for (int t = 0; t < links_n; ++t)
        senders.emplace_back([&, t] {
            for (int r = 0; r < rounds; ++r) CHECK(links[t]->notify());
            ++done;
        });
    // The driver: waits for a wake-up (bounded), runs its mailbox, until every sender is done
    // and nothing waits.
    auto const driver = std::this_thread::get_id();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    std::size_t runs = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        {
            std::unique_lock lock(m);
            cv.wait_for(lock, std::chrono::milliseconds(50), [&] { return woken; });
            woken = false;
        }
        runs += box->run([](void*) {});
        if (done == links_n && box->empty()) break;
    }
    for (auto& s : senders) s.join();
    runs += box->run([](void*) {});
    CHECK(box->empty());
    int total = 0;
    for (auto const& c : conns) {
        CHECK(c.notified >= 1);       // every sender was heard
        CHECK(c.notified <= rounds);  // and never more often than it notified
        CHECK(c.notified_on == driver);
        total += c.notified;
    }
    CHECK(static_cast<std::size_t>(total) == runs);
    box->close();
}

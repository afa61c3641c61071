// An inbox's bound on queued records: a batch that fits is queued and its producer goes on; a
// batch larger than the bound moves hand to hand (its producer waits until the consumer took
// it), unless the stage's buffer says producers never wait for it.

#include "../../lib/src/exec/inbox.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

namespace conveyor::exec {
namespace {

namespace asio = boost::asio;

Batch rows(std::size_t n) {
    Batch b(make_schema({"id"}));
    for (std::size_t i = 0; i < n; ++i)
        b.append_row()[0] = Value::integer(static_cast<std::int64_t>(i));
    return b;
}

/// Pushes `batch` on port 0 of `inbox`; `*done` once push() returned.
void spawn_push(asio::io_context& io, Inbox& inbox, Batch batch, bool* done) {
    asio::co_spawn(
        io,
        [&inbox, b = std::move(batch), done]() mutable -> asio::awaitable<void> {
            co_await inbox.push(0, std::move(b));
            *done = true;
        },
        asio::detached);
}

/// Pops one event; `*rows` is the batch's records.
void spawn_pop(asio::io_context& io, Inbox& inbox, std::size_t* rows) {
    asio::co_spawn(
        io,
        [&inbox, rows]() -> asio::awaitable<void> {
            std::optional<InputEvent> e = co_await inbox.pop();
            if (e && e->batch) *rows = e->batch->rows();
        },
        asio::detached);
}

TEST(Inbox, ABatchThatFitsIsQueuedAndItsProducerGoesOn) {
    asio::io_context io;
    Inbox inbox(1, 100, false);
    bool first = false;
    bool second = false;
    spawn_push(io, inbox, rows(60), &first);
    io.poll();
    EXPECT_TRUE(first);
    spawn_push(io, inbox, rows(60), &second); // 120 > 100: waits for room
    io.restart();
    io.poll();
    EXPECT_FALSE(second);
    EXPECT_EQ(inbox.queued_records(), 60u);
    std::size_t got = 0;
    spawn_pop(io, inbox, &got);
    io.restart();
    io.poll();
    EXPECT_EQ(got, 60u);
    EXPECT_TRUE(second);
    EXPECT_EQ(inbox.queued_records(), 60u);
}

TEST(Inbox, ABatchLargerThanTheBoundMovesHandToHand) {
    asio::io_context io;
    Inbox inbox(1, 10, false);
    bool pushed = false;
    spawn_push(io, inbox, rows(1000), &pushed);
    io.poll();
    EXPECT_FALSE(pushed) << "the producer waits until its batch is taken";
    EXPECT_EQ(inbox.queued_records(), 1000u);
    std::size_t got = 0;
    spawn_pop(io, inbox, &got);
    io.restart();
    io.poll();
    EXPECT_EQ(got, 1000u);
    EXPECT_TRUE(pushed);
    EXPECT_EQ(inbox.max_queued_records(), 1000u) << "never more than the one batch";
}

TEST(Inbox, AProducerWaitingToHandOverIsReleasedByCancel) {
    asio::io_context io;
    Inbox inbox(1, 10, false);
    bool pushed = false;
    spawn_push(io, inbox, rows(50), &pushed);
    io.poll();
    EXPECT_FALSE(pushed);
    inbox.cancel();
    io.restart();
    io.poll();
    EXPECT_TRUE(pushed);
}

TEST(Inbox, UnderDropNewestAnOversizedBatchDoesNotMakeItsProducerWait) {
    asio::io_context io;
    Inbox inbox(1, 10, false);
    InboxOverflow o;
    o.mode = InboxOverflow::Mode::DropNewest;
    inbox.set_overflow(std::move(o));
    bool first = false;
    bool second = false;
    spawn_push(io, inbox, rows(50), &first);
    io.poll();
    EXPECT_TRUE(first) << "producers never wait for a drop_newest stage";
    spawn_push(io, inbox, rows(50), &second);
    io.restart();
    io.poll();
    EXPECT_TRUE(second);
    EXPECT_EQ(inbox.queued_records(), 50u) << "the second batch found no room and was dropped";
}

} // namespace
} // namespace conveyor::exec

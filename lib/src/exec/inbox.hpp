#pragma once

#include "conveyor/core/batch.hpp"
#include "conveyor/core/error.hpp"
#include "conveyor/stage/stream_stage.hpp"

#include <atomic>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace conveyor {
class TempFiles;
namespace obs {
class Counter;
}
} // namespace conveyor

namespace conveyor::exec {

class EdgeSpillFile;

/// What a full inbox does with a push ([stages.buffer] of its stage): wait for room (the
/// default), drop the batch's records (its checkpoint marker and metadata still go in), or put
/// them in a file of their own under `spill_dir`, read back in order.
struct InboxOverflow {
    enum class Mode : std::uint8_t { Block, DropNewest, Disk };
    Mode mode = Mode::Block;
    std::uint64_t max_bytes = 0; ///< bytes of records held in memory; 0: no such bound
    std::string spill_dir;       ///< Disk
    std::string name;            ///< Disk: what the files are named after
    TempFiles* temp_files = nullptr;
    obs::Counter* dropped = nullptr; ///< records dropped
    obs::Counter* on_disk = nullptr; ///< records that waited in files
};

/// The bounded input of one stage: one queue per input port, capacity counted in records.
///
/// - per-port capacity (`channel` executor): every edge is its own bounded channel.
/// - shared capacity (`async` executor): one mailbox bounded as a whole.
/// A push is admitted while the bound has room for the whole batch, or when the queue is
/// empty: a batch larger than the bound then moves hand to hand (push() returns once the
/// consumer has taken it), so no queue holds more than max(capacity, one batch) records, and
/// one that holds more holds only that batch, with its producer waiting. A full queue
/// suspends the producer until the consumer takes something. The single consumer takes batches from
/// whichever port has them (round-robin), then learns each port's end once it has drained.
///
/// Thread-safe: producers and the consumer may run on different executors. Suspended
/// coroutines are resumed on their own executor.
class Inbox {
public:
    Inbox(std::size_t ports, std::size_t capacity, bool shared_capacity);
    Inbox(const Inbox&) = delete;
    Inbox& operator=(const Inbox&) = delete;

    /// Suspends while full. False if the inbox was cancelled (the consumer is gone): the batch
    /// is dropped and the producer should stop sending here.
    boost::asio::awaitable<bool> push(std::size_t port, Batch batch);
    /// The producer of `port` has finished.
    void close_port(std::size_t port);
    /// Next batch or port end; nullopt when every port has ended (or after cancel()). Also
    /// nullopt when the consumer's coroutine is cancelled through its cancellation slot (a
    /// stream stage that has to stop reading before its inputs end, e.g. http.fetch failing).
    boost::asio::awaitable<std::optional<InputEvent>> pop();
    /// pop(), giving up at `deadline` (timed_out) when nothing came by then.
    boost::asio::awaitable<StreamInput::Timed>
    pop_until(std::chrono::steady_clock::time_point deadline);
    /// How a push that finds no room behaves (before use; Block when never called).
    void set_overflow(InboxOverflow overflow);
    /// Why pop() ended the input early: a disk buffer's file could not be written or read.
    [[nodiscard]] std::optional<Error> failure() const;

    /// Wakes everyone; later pushes fail and pops return nullopt. Idempotent.
    void cancel();
    /// Calls `fn` once the inbox is cancelled (the consumer takes nothing more), on the thread
    /// that cancels it; at once when it is already.
    void on_cancel(std::function<void()> fn);
    /// Checkpoint alignment (consumer only): while `port` is held, pop() takes nothing from it
    /// (neither batches nor its end); its producer may still fill its share. With a shared
    /// bound, the records waiting in held ports do not count against the other ports, so they
    /// can still bring their checkpoint markers (at most twice the bound is queued then).
    void hold(std::size_t port, bool held);

    /// Keeps `*gauge` equal to the records queued (for live metrics); call before use.
    void publish_fill(std::atomic<std::uint64_t>* gauge) { fill_ = gauge; }

    /// Records queued now and the most ever queued at once (for tests and metrics).
    [[nodiscard]] std::size_t queued_records() const;
    [[nodiscard]] std::size_t max_queued_records() const;

private:
    /// A suspended coroutine: its completion handler and the executor it resumes on.
    /// Held by pointer: Boost 1.81's any_completion_handler move-assignment recurses
    /// without end (it re-wraps its argument), so it must never be move-assigned.
    struct Handler {
        std::unique_ptr<boost::asio::any_completion_handler<void()>> fn;
        boost::asio::any_io_executor executor;
    };
    /// A queued batch; `spilled_rows` of its records wait in `file` (disk buffer).
    struct Entry {
        Batch batch;
        std::size_t spilled_rows = 0;
        std::shared_ptr<EdgeSpillFile> file;
        std::size_t bytes = 0; ///< memory of the records held here (for max_bytes)
    };
    struct Port {
        std::deque<Entry> queue;
        std::size_t records = 0; ///< records held in memory
        std::size_t bytes = 0;
        std::size_t spilled = 0; ///< entries whose records wait in files
        bool closed = false;
        bool end_reported = false;
        bool held = false;
    };
    struct Waiter {
        std::size_t port;
        Handler handler;
    };

    bool has_room(std::size_t port, std::size_t n, std::size_t bytes = 0) const;
    /// Queues `e` on `port` (under the lock); the consumer to wake, if it waits.
    std::optional<Handler> enqueue_locked(std::size_t port, Entry e);
    void publish() const noexcept {
        if (fill_) fill_->store(total_, std::memory_order_relaxed);
    }
    // Suspend until the condition may hold (callers re-check under the lock).
    boost::asio::awaitable<void> wait_for_room(std::size_t port, std::size_t n);
    /// Suspends until `port`'s queue is empty (what the producer put there was taken) or the
    /// inbox is cancelled.
    boost::asio::awaitable<void> wait_until_taken(std::size_t port);
    boost::asio::awaitable<void> wait_for_data();
    /// pop() and pop_until(): the next event, waiting without end or until `deadline`.
    boost::asio::awaitable<StreamInput::Timed>
    pop_impl(std::optional<std::chrono::steady_clock::time_point> deadline);
    /// wait_for_data(), woken at `deadline` at the latest (possibly earlier: callers re-check).
    boost::asio::awaitable<void>
    wait_for_data_until(std::chrono::steady_clock::time_point deadline);
    /// Under the lock: the next batch or port end, if any; `finished` when every port has
    /// ended; producers that may now fit go to `wake`.
    std::optional<InputEvent> take_locked(std::vector<Handler>& wake, bool& finished,
                                          Entry* spilled);
    template <class H>
    static Handler erase(H&& handler);
    static void resume(Handler h);

    mutable std::mutex mu_;
    InboxOverflow overflow_;
    std::size_t spill_seq_ = 0;
    std::optional<Error> failure_;
    std::vector<std::function<void()>> on_cancel_;
    std::vector<Port> ports_;
    std::size_t capacity_;
    bool shared_;
    std::size_t total_ = 0;
    std::size_t held_records_ = 0; ///< records queued in held ports
    std::size_t max_total_ = 0;
    std::size_t next_port_ = 0;
    bool cancelled_ = false;
    std::optional<Handler> consumer_;
    std::vector<Waiter> producers_;
    std::atomic<std::uint64_t>* fill_ = nullptr;
};

} // namespace conveyor::exec

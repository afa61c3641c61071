#include "inbox.hpp"

#include "conveyor/obs/extra_metrics.hpp"
#include "edge_spill.hpp"

#include <algorithm>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace asio = boost::asio;

namespace conveyor::exec {

Inbox::Inbox(std::size_t ports, std::size_t capacity, bool shared_capacity)
    : ports_(ports), capacity_(std::max<std::size_t>(capacity, 1)), shared_(shared_capacity) {}

template <class H>
Inbox::Handler Inbox::erase(H&& handler) {
    asio::any_io_executor ex = asio::get_associated_executor(handler);
    return Handler{std::make_unique<asio::any_completion_handler<void()>>(std::forward<H>(handler)),
                   std::move(ex)};
}

void Inbox::resume(Handler h) {
    asio::post(h.executor, [fn = std::move(h.fn)]() mutable { std::move (*fn)(); });
}

bool Inbox::has_room(std::size_t port, std::size_t n, std::size_t bytes) const {
    const std::size_t fill = !shared_            ? ports_[port].records
                             : ports_[port].held ? total_
                                                 : total_ - held_records_;
    if (fill == 0) return true;
    if (fill + n > capacity_) return false;
    if (overflow_.max_bytes == 0) return true;
    std::size_t held_bytes = 0;
    if (!shared_) {
        held_bytes = ports_[port].bytes;
    } else {
        for (const Port& p : ports_)
            held_bytes += p.bytes;
    }
    return held_bytes + bytes <= overflow_.max_bytes;
}

void Inbox::set_overflow(InboxOverflow overflow) {
    std::lock_guard lock(mu_);
    overflow_ = std::move(overflow);
}

std::optional<Error> Inbox::failure() const {
    std::lock_guard lock(mu_);
    return failure_;
}

std::optional<Inbox::Handler> Inbox::enqueue_locked(std::size_t port, Entry e) {
    Port& p = ports_[port];
    const std::size_t n = e.batch.rows();
    p.records += n;
    p.bytes += e.bytes;
    total_ += n;
    if (p.held) held_records_ += n;
    if (e.spilled_rows > 0) ++p.spilled;
    max_total_ = std::max(max_total_, total_);
    p.queue.push_back(std::move(e));
    publish();
    return std::exchange(consumer_, std::nullopt);
}

asio::awaitable<void> Inbox::wait_for_room(std::size_t port, std::size_t n) {
    co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
        [this, port, n](auto handler) {
            std::unique_lock lock(mu_);
            if (cancelled_ || has_room(port, n)) {
                lock.unlock();
                resume(erase(std::move(handler)));
                return;
            }
            producers_.push_back(Waiter{port, erase(std::move(handler))});
        },
        asio::use_awaitable);
}

asio::awaitable<void> Inbox::wait_until_taken(std::size_t port) {
    for (;;) {
        bool taken = false;
        co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
            [this, port, &taken](auto handler) {
                std::unique_lock lock(mu_);
                if (cancelled_ || ports_[port].queue.empty()) {
                    taken = true;
                    lock.unlock();
                    resume(erase(std::move(handler)));
                    return;
                }
                // Woken (with the other producers of the port) by every take from it.
                producers_.push_back(Waiter{port, erase(std::move(handler))});
            },
            asio::use_awaitable);
        if (taken) co_return;
    }
}

asio::awaitable<void> Inbox::wait_for_data() {
    co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
        [this](auto handler) {
            auto slot = asio::get_associated_cancellation_slot(handler);
            std::unique_lock lock(mu_);
            bool ready = cancelled_;
            for (const Port& p : ports_)
                if (!p.held && (!p.queue.empty() || (p.closed && !p.end_reported))) ready = true;
            if (ready) {
                lock.unlock();
                resume(erase(std::move(handler)));
                return;
            }
            consumer_.emplace(erase(std::move(handler)));
            // A consumer whose coroutine has a cancellation slot (a stream stage that stops
            // reading early) can be woken; pop() then returns nullopt.
            if (slot.is_connected()) {
                slot.assign([this](asio::cancellation_type) {
                    std::optional<Handler> wake;
                    {
                        std::lock_guard guard(mu_);
                        wake = std::exchange(consumer_, std::nullopt);
                    }
                    if (wake) resume(std::move(*wake));
                });
            }
        },
        asio::use_awaitable);
}

asio::awaitable<bool> Inbox::push(std::size_t port, Batch batch) {
    const std::size_t n = batch.rows();
    const std::size_t bytes = overflow_.max_bytes ? batch.memory_bytes() : 0;
    using Mode = InboxOverflow::Mode;
    for (;;) {
        std::optional<Handler> wake;
        bool enqueued = false;
        Mode full = Mode::Block; // what to do when there is no room
        std::size_t seq = 0;
        {
            std::lock_guard lock(mu_);
            if (cancelled_ || ports_[port].closed) co_return false;
            // Behind records waiting on disk, the next ones wait there too: order is kept.
            const bool behind_disk = overflow_.mode == Mode::Disk && ports_[port].spilled > 0;
            if (!behind_disk && has_room(port, n, bytes)) {
                // Enqueued at most once: the loop ends right after (enqueued = true).
                wake = enqueue_locked(port, Entry{std::move(batch), 0,
                                                  nullptr, // NOLINT(bugprone-use-after-move)
                                                  bytes});
                enqueued = true;
            } else {
                full = overflow_.mode;
                seq = spill_seq_++;
            }
        }
        if (wake) resume(std::move(*wake));
        if (enqueued) {
            // A batch larger than the bound went into an empty queue: it moves hand to hand,
            // so the producer waits until the consumer has taken it (unless the stage's
            // buffer says producers never wait for it: drop_newest, disk). Nothing then waits in
            // the queue while the producer fills its next batch, and the records a queue
            // holds stay within the bound whatever the batch size.
            if (n > capacity_ && overflow_.mode == Mode::Block) co_await wait_until_taken(port);
            co_return true;
        }
        if (full == Mode::DropNewest) {
            if (overflow_.dropped) overflow_.dropped->add(n);
            // The records go; a checkpoint marker or metadata after them still goes in.
            if (batch.checkpoint_id() == 0 && batch.infos().empty()) co_return true;
            {
                std::lock_guard lock(mu_);
                if (cancelled_ || ports_[port].closed) co_return false;
                wake = enqueue_locked(port, Entry{batch.control_only(), 0, nullptr, 0});
            }
            if (wake) resume(std::move(*wake));
            co_return true;
        }
        if (full == Mode::Disk) {
            // Written on the producer's thread, outside the lock: the consumer goes on.
            Result<EdgeItem> item = spill_alone(overflow_.spill_dir, overflow_.name, seq,
                                                *overflow_.temp_files, std::move(batch));
            if (!item) {
                {
                    std::lock_guard lock(mu_);
                    if (!failure_) failure_ = std::move(item).error();
                }
                cancel(); // the consumer sees its input end, and failure() says why
                co_return false;
            }
            {
                std::lock_guard lock(mu_);
                if (cancelled_ || ports_[port].closed) co_return false;
                if (overflow_.on_disk) overflow_.on_disk->add(item->spilled_rows);
                wake = enqueue_locked(port, Entry{std::move(item->batch), item->spilled_rows,
                                                  std::move(item->file), 0});
            }
            if (wake) resume(std::move(*wake));
            co_return true;
        }
        co_await wait_for_room(port, n);
    }
}

void Inbox::close_port(std::size_t port) {
    std::optional<Handler> wake;
    {
        std::lock_guard lock(mu_);
        ports_[port].closed = true;
        wake = std::exchange(consumer_, std::nullopt);
    }
    if (wake) resume(std::move(*wake));
}

std::optional<InputEvent> Inbox::take_locked(std::vector<Handler>& wake, bool& finished,
                                             Entry* spilled) {
    std::optional<InputEvent> event;
    const std::size_t n = ports_.size();
    for (std::size_t k = 0; k < n && !event; ++k) {
        const std::size_t i = (next_port_ + k) % n;
        Port& p = ports_[i];
        if (p.held || p.queue.empty()) continue;
        event.emplace();
        event->port = i;
        Entry& front = p.queue.front();
        const std::size_t rows = front.batch.rows();
        p.bytes -= front.bytes;
        if (front.spilled_rows > 0) {
            --p.spilled;
            spilled->spilled_rows = front.spilled_rows;
            spilled->file = std::move(front.file);
        }
        event->batch.emplace(std::move(front.batch));
        p.queue.pop_front();
        p.records -= rows;
        total_ -= rows;
        publish();
        next_port_ = (i + 1) % n;
        // Wake every producer that may now fit; they re-check under the lock.
        auto it = std::partition(producers_.begin(), producers_.end(),
                                 [&](const Waiter& w) { return !(shared_ || w.port == i); });
        for (auto j = it; j != producers_.end(); ++j)
            wake.push_back(std::move(j->handler));
        producers_.erase(it, producers_.end());
    }
    if (!event) {
        for (std::size_t i = 0; i < n; ++i) {
            Port& p = ports_[i];
            if (!p.held && p.closed && !p.end_reported) {
                p.end_reported = true;
                event.emplace();
                event->port = i;
                break;
            }
        }
    }
    if (!event)
        finished =
            std::all_of(ports_.begin(), ports_.end(), [](const Port& p) { return p.end_reported; });
    return event;
}

asio::awaitable<std::optional<InputEvent>> Inbox::pop() {
    StreamInput::Timed t = co_await pop_impl(std::nullopt);
    co_return std::move(t.event);
}

asio::awaitable<StreamInput::Timed>
Inbox::pop_until(std::chrono::steady_clock::time_point deadline) {
    return pop_impl(deadline);
}

asio::awaitable<StreamInput::Timed>
Inbox::pop_impl(std::optional<std::chrono::steady_clock::time_point> deadline) {
    StreamInput::Timed out;
    for (;;) {
        std::vector<Handler> wake;
        bool finished = false;
        Entry spilled;
        {
            std::lock_guard lock(mu_);
            if (cancelled_) co_return out;
            out.event = take_locked(wake, finished, &spilled);
        }
        for (Handler& h : wake)
            resume(std::move(h));
        if (out.event && spilled.spilled_rows > 0) {
            // Records that waited on disk: read back here, on the consumer's thread.
            EdgeSpillReader reader;
            Result<Batch> b = reader.restore(
                EdgeItem{std::move(*out.event->batch), spilled.spilled_rows, spilled.file});
            if (!b) {
                std::lock_guard lock(mu_);
                if (!failure_) failure_ = std::move(b).error();
                out.event.reset();
                co_return out;
            }
            out.event->batch.emplace(std::move(*b));
        }
        if (out.event || finished) co_return out;
        if (!deadline) {
            co_await wait_for_data();
        } else if (std::chrono::steady_clock::now() >= *deadline) {
            out.timed_out = true;
            co_return out;
        } else {
            co_await wait_for_data_until(*deadline);
        }
        if ((co_await asio::this_coro::cancellation_state).cancelled() !=
            asio::cancellation_type::none)
            co_return out;
    }
}

asio::awaitable<void> Inbox::wait_for_data_until(std::chrono::steady_clock::time_point deadline) {
    // The timer runs on the consumer's own executor (its strand), as does the consumer: once
    // the wait is over `over` is set before anything else runs there, so a timer that fired
    // meanwhile (its handler queued, beyond cancel's reach) touches nothing, not even a
    // destroyed inbox.
    struct State {
        explicit State(const asio::any_io_executor& ex) : timer(ex) {}
        asio::steady_timer timer;
        bool over = false;
    };
    const asio::any_io_executor ex = co_await asio::this_coro::executor;
    auto state = std::make_shared<State>(ex);
    state->timer.expires_at(deadline);
    state->timer.async_wait([this, state](const boost::system::error_code& ec) {
        if (ec || state->over) return;
        std::optional<Handler> wake;
        {
            std::lock_guard lock(mu_);
            wake = std::exchange(consumer_, std::nullopt);
        }
        if (wake) resume(std::move(*wake));
    });
    co_await wait_for_data();
    state->over = true;
    state->timer.cancel();
}

void Inbox::on_cancel(std::function<void()> fn) {
    {
        std::lock_guard lock(mu_);
        if (!cancelled_) {
            on_cancel_.push_back(std::move(fn));
            return;
        }
    }
    fn();
}

void Inbox::cancel() {
    std::vector<Handler> wake;
    std::vector<std::function<void()>> observers;
    {
        std::lock_guard lock(mu_);
        if (cancelled_) return;
        cancelled_ = true;
        observers = std::move(on_cancel_);
        for (Waiter& w : producers_)
            wake.push_back(std::move(w.handler));
        producers_.clear();
        if (consumer_) wake.push_back(std::move(*consumer_));
        consumer_.reset();
        for (Port& p : ports_) {
            p.queue.clear();
            p.records = 0;
        }
        total_ = 0;
        held_records_ = 0;
        publish();
    }
    for (Handler& h : wake)
        resume(std::move(h));
    for (auto& fn : observers)
        fn();
}

void Inbox::hold(std::size_t port, bool held) {
    std::vector<Handler> wake;
    {
        std::lock_guard lock(mu_);
        Port& p = ports_[port];
        if (p.held == held) return;
        p.held = held;
        if (held)
            held_records_ += p.records;
        else
            held_records_ -= p.records;
        // With a shared bound the other ports may have room now: let their producers re-check.
        if (shared_) {
            for (Waiter& w : producers_)
                wake.push_back(std::move(w.handler));
            producers_.clear();
        }
    }
    for (Handler& h : wake)
        resume(std::move(h));
}

std::size_t Inbox::queued_records() const {
    std::lock_guard lock(mu_);
    return total_;
}

std::size_t Inbox::max_queued_records() const {
    std::lock_guard lock(mu_);
    return max_total_;
}

} // namespace conveyor::exec

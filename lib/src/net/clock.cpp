#include "conveyor/net/clock.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <list>

namespace asio = boost::asio;

namespace conveyor::net {

namespace {

class SteadyClock final : public Clock {
public:
    explicit SteadyClock(asio::any_io_executor ex) : ex_(std::move(ex)) {}

    std::chrono::steady_clock::time_point now() const override {
        return std::chrono::steady_clock::now();
    }
    std::chrono::system_clock::time_point system_now() const override {
        return std::chrono::system_clock::now();
    }

    asio::awaitable<bool> wait_for(std::chrono::nanoseconds d) override {
        if (cancelled_) co_return false;
        if (d <= std::chrono::nanoseconds::zero()) co_return true;
        // Timers live in a list (stable addresses) so cancel_all() can reach them.
        auto it = timers_.emplace(timers_.end(), ex_);
        it->expires_after(d);
        auto [ec] = co_await it->async_wait(asio::as_tuple(asio::use_awaitable));
        timers_.erase(it);
        co_return !ec && !cancelled_;
    }

    void cancel_all() override {
        cancelled_ = true;
        for (auto& t : timers_)
            t.cancel();
    }

private:
    asio::any_io_executor ex_;
    std::list<asio::steady_timer> timers_;
    bool cancelled_ = false;
};

} // namespace

std::unique_ptr<Clock> make_steady_clock(asio::any_io_executor executor) {
    return std::make_unique<SteadyClock>(std::move(executor));
}

} // namespace conveyor::net

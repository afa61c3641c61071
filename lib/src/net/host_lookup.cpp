#include "host_lookup.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace conveyor::net {

void LookupWait::abort() {
    aborted_ = true;
    if (resolver_) resolver_->cancel();
    if (timer_) timer_->cancel();
}

HostLookups::HostLookups(asio::any_io_executor executor) : executor_(std::move(executor)) {}

HostLookups::~HostLookups() = default;

asio::awaitable<LookupResult> HostLookups::resolve(const std::string& host, std::uint16_t port,
                                                   LookupWait& wait) {
    const std::string key = host + ':' + std::to_string(port);
    for (;;) {
        if (wait.aborted()) co_return LookupResult{{}, asio::error::operation_aborted};
        if (auto it = remembered_.find(key); it != remembered_.end()) {
            if (std::chrono::steady_clock::now() < it->second.until) co_return it->second.result;
            remembered_.erase(it);
        }
        auto running = in_progress_.find(key);
        if (running == in_progress_.end()) co_return co_await look_up(key, host, port, wait);
        // Someone is looking this name up: wait for its outcome, then look again (it is
        // remembered, or it failed for now and this request makes its own lookup).
        const std::shared_ptr<InProgress> lookup = running->second;
        asio::steady_timer timer(executor_, asio::steady_timer::time_point::max());
        lookup->waiting.push_back(&timer);
        wait.timer_ = &timer;
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        wait.timer_ = nullptr;
        std::erase(lookup->waiting, &timer);
    }
}

asio::awaitable<LookupResult> HostLookups::look_up(const std::string& key, const std::string& host,
                                                   std::uint16_t port, LookupWait& wait) {
    const auto lookup = std::make_shared<InProgress>();
    in_progress_.emplace(key, lookup);
    tcp::resolver resolver(executor_);
    wait.resolver_ = &resolver;
    auto [ec, found] = co_await resolver.async_resolve(host, std::to_string(port),
                                                       asio::as_tuple(asio::use_awaitable));
    wait.resolver_ = nullptr;
    ++lookups_;
    in_progress_.erase(key);
    LookupResult result;
    result.error = ec;
    for (const auto& entry : found)
        result.endpoints.push_back(entry.endpoint());
    remember(key, result);
    for (asio::steady_timer* t : lookup->waiting)
        t->cancel();
    co_return result;
}

void HostLookups::remember(const std::string& key, const LookupResult& result) {
    std::chrono::seconds keep{0};
    if (!result.error && !result.endpoints.empty())
        keep = kFoundFor;
    else if (result.error == asio::error::host_not_found)
        keep = kNotFoundFor;
    if (keep.count() == 0) return;
    const auto now = std::chrono::steady_clock::now();
    if (remembered_.size() >= kMaxRemembered) {
        std::erase_if(remembered_, [&](const auto& entry) { return entry.second.until <= now; });
        if (remembered_.size() >= kMaxRemembered) remembered_.clear();
    }
    remembered_[key] = Remembered{now + keep, result};
}

} // namespace conveyor::net

// The Redis Streams queue. For a queue NAME:
//   NAME:meta    hash: the QueueSpec of `queue push` (its presence is the queue's existence)
//   NAME:chunks  stream: one entry per chunk {chunk, chunks, digest}; consumer group "workers"
//   NAME:done    hash: chunk -> the attempt that committed it
//   NAME:errors  hash: chunk -> its last attempt's error
//   NAME:dead    stream: dead letters {chunk, deliveries, error}
//   NAME:claim:I string: the attempt that passed the fence for chunk I, expiring after a lease
// A lease is the entry's place in the group's pending list: XREADGROUP hands a new entry out,
// XAUTOCLAIM with a min-idle time of one lease hands out one whose holder stopped renewing
// (counting a delivery), and the holder renews by XCLAIM ... JUSTID (redis_scripts.hpp).

#include "redis_queue.hpp"

#include "queue_errors.hpp"
#include "redis_scripts.hpp"

#include <algorithm>
#include <charconv>
#include <hiredis/hiredis.h>
#include <map>
#include <mutex>

namespace conveyor::queue {

namespace {

struct ReplyDeleter {
    void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

struct ContextDeleter {
    void operator()(redisContext* c) const { redisFree(c); }
};

constexpr const char* kGroup = "workers";

std::string text(const redisReply* r) {
    if (r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS))
        return {r->str, r->len};
    if (r && r->type == REDIS_REPLY_INTEGER) return std::to_string(r->integer);
    return {};
}

std::uint64_t number(const redisReply* r) {
    if (r && r->type == REDIS_REPLY_INTEGER) return static_cast<std::uint64_t>(r->integer);
    const std::string s = text(r);
    std::uint64_t v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
}

/// A reply's array element, or null.
const redisReply* at(const redisReply* r, std::size_t i) {
    return r && r->type == REDIS_REPLY_ARRAY && i < r->elements ? r->element[i] : nullptr;
}

/// A field list [f1, v1, f2, v2, ...] as a map.
std::map<std::string, std::string> fields(const redisReply* r) {
    std::map<std::string, std::string> m;
    for (std::size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
        m[text(r->element[i])] = text(r->element[i + 1]);
    return m;
}

timeval to_timeval(std::chrono::milliseconds d) {
    return {static_cast<time_t>(d.count() / 1000),
            static_cast<suseconds_t>((d.count() % 1000) * 1000)};
}

class RedisQueue final : public WorkQueue {
public:
    RedisQueue(QueueUrl url, std::chrono::milliseconds timeout)
        : url_(std::move(url)), timeout_(timeout), meta_(url_.name + ":meta"),
          stream_(url_.name + ":chunks"), done_(url_.name + ":done"),
          errors_(url_.name + ":errors"), dead_(url_.name + ":dead") {}

    Status connect() {
        ctx_.reset(redisConnectWithTimeout(url_.host.c_str(), url_.port, to_timeval(timeout_)));
        if (!ctx_ || ctx_->err) return unreachable();
        redisSetTimeout(ctx_.get(), to_timeval(timeout_));
        return ok_status();
    }

    Status ping() {
        Result<Reply> r = command({"PING"});
        if (!r) return std::move(r).error();
        return ok_status();
    }

    Status push(const QueueSpec& spec) override {
        Result<Reply> created = command({"HSETNX", meta_, "pipeline", spec.pipeline});
        if (!created) return std::move(created).error();
        if (number(created->get()) != 1) return queue_exists(url_);
        CONVEYOR_TRY(command({"HSET", meta_, "digest", spec.pipeline_digest, "lease_ms",
                              std::to_string(spec.lease.count()), "max_deliveries",
                              std::to_string(spec.max_deliveries)}));
        CONVEYOR_TRY(command({"XGROUP", "CREATE", stream_, kGroup, "0", "MKSTREAM"}));
        for (std::uint32_t i = 0; i < spec.chunks; ++i)
            CONVEYOR_TRY(command({"XADD", stream_, "*", "chunk", std::to_string(i), "chunks",
                                  std::to_string(spec.chunks), "digest", spec.pipeline_digest}));
        // The number of chunks goes last: a queue without it was never completely pushed.
        CONVEYOR_TRY(command({"HSET", meta_, "chunks", std::to_string(spec.chunks)}));
        return ok_status();
    }

    Result<QueueSpec> spec() override {
        {
            std::lock_guard lock(spec_mutex_);
            if (spec_) return *spec_;
        }
        Result<Reply> r = command({"HGETALL", meta_});
        if (!r) return std::move(r).error();
        auto m = fields(r->get());
        if (m.empty()) return no_such_queue(url_);
        QueueSpec s;
        s.pipeline = m["pipeline"];
        s.pipeline_digest = m["digest"];
        std::int64_t lease = 0;
        if (!parse_count(m["chunks"], s.chunks) || !parse_count(m["lease_ms"], lease) ||
            !parse_count(m["max_deliveries"], s.max_deliveries))
            return incomplete_queue(url_);
        s.lease = std::chrono::milliseconds(lease);
        std::lock_guard lock(spec_mutex_);
        spec_ = s;
        return s;
    }

    Result<std::optional<Lease>> take(const std::string& consumer) override {
        Result<QueueSpec> s = spec();
        if (!s) return std::move(s).error();
        std::string cursor = "0-0";
        for (;;) {
            Result<Reply> r = command({"XAUTOCLAIM", stream_, kGroup, consumer,
                                       std::to_string(s->lease.count()), cursor, "COUNT", "1"});
            if (!r) return std::move(r).error();
            const std::string next = text(at(r->get(), 0));
            if (const redisReply* entry = at(at(r->get(), 1), 0)) {
                Result<std::optional<Lease>> got = reclaimed(*s, consumer, entry);
                if (!got || *got) return got;
            }
            if (next == "0-0" || next.empty()) break;
            cursor = next;
        }
        for (;;) {
            Result<Reply> r = command(
                {"XREADGROUP", "GROUP", kGroup, consumer, "COUNT", "1", "STREAMS", stream_, ">"});
            if (!r) return std::move(r).error();
            const redisReply* entry = at(at(at(r->get(), 0), 1), 0);
            if (!entry) return std::optional<Lease>{};
            Lease l = lease_of(entry, consumer, 1);
            Result<bool> fresh = skip_if_done(l);
            if (!fresh) return std::move(fresh).error();
            if (*fresh) return std::optional<Lease>{std::move(l)};
        }
    }

    Result<bool> renew(const Lease& l) override {
        Result<QueueSpec> s = spec();
        if (!s) return std::move(s).error();
        Result<Reply> r = eval(redis_scripts::kRenew, {stream_, claim_key(l.chunk)},
                               {kGroup, l.message_id, l.consumer, std::to_string(l.delivery),
                                std::to_string(s->lease.count()), l.attempt()});
        if (!r) return std::move(r).error();
        return number(r->get()) == 1;
    }

    Result<Fence> fence(const Lease& l) override {
        Result<QueueSpec> s = spec();
        if (!s) return std::move(s).error();
        Result<Reply> r =
            eval(redis_scripts::kFence, {stream_, done_, claim_key(l.chunk)},
                 {kGroup, l.message_id, l.consumer, std::to_string(l.delivery),
                  std::to_string(s->lease.count()), l.attempt(), std::to_string(l.chunk)});
        if (!r) return std::move(r).error();
        const std::string verdict = text(at(r->get(), 0));
        if (verdict == "ok") return Fence::Commit;
        if (verdict == "done") return Fence::AlreadyCommitted;
        return Fence::LeaseLost;
    }

    Status ack(const Lease& l, const std::string& committed_by) override {
        Result<Reply> r = eval(redis_scripts::kAck, {stream_, done_, claim_key(l.chunk)},
                               {kGroup, l.message_id, std::to_string(l.chunk), committed_by});
        if (!r) return std::move(r).error();
        return ok_status();
    }

    Status fail_attempt(const Lease& l, const std::string& error) override {
        Result<QueueSpec> s = spec();
        if (!s) return std::move(s).error();
        const bool dead = l.delivery >= s->max_deliveries;
        return give_up(*s, l, error.empty() ? "(no error message)" : error, dead, l.delivery);
    }

    Result<QueueStatus> status() override {
        Result<QueueSpec> s = spec();
        if (!s) return std::move(s).error();
        QueueStatus st;
        st.chunks = s->chunks;
        Result<Reply> done = command({"HLEN", done_});
        if (!done) return std::move(done).error();
        st.done = number(done->get());
        Result<Reply> dead = command({"XLEN", dead_});
        if (!dead) return std::move(dead).error();
        st.dead = number(dead->get());
        Result<Reply> pel = command({"XPENDING", stream_, kGroup});
        if (!pel) return std::move(pel).error();
        st.in_flight = number(at(pel->get(), 0));
        const std::uint64_t accounted = st.done + st.dead + st.in_flight;
        st.pending = st.chunks > accounted ? st.chunks - accounted : 0;
        return st;
    }

    Result<std::vector<std::pair<std::uint32_t, std::string>>> done() override {
        Result<Reply> r = command({"HGETALL", done_});
        if (!r) return std::move(r).error();
        std::vector<std::pair<std::uint32_t, std::string>> out;
        for (auto& [chunk, attempt] : fields(r->get()))
            out.emplace_back(static_cast<std::uint32_t>(std::stoul(chunk)), attempt);
        std::sort(out.begin(), out.end());
        return out;
    }

    Result<std::vector<DeadLetter>> dead_letters() override {
        Result<Reply> r = command({"XRANGE", dead_, "-", "+"});
        if (!r) return std::move(r).error();
        std::vector<DeadLetter> out;
        for (std::size_t i = 0; const redisReply* e = at(r->get(), i); ++i) {
            auto m = fields(at(e, 1));
            out.push_back({static_cast<std::uint32_t>(std::stoul(m["chunk"])),
                           static_cast<std::uint32_t>(std::stoul(m["deliveries"])), m["error"]});
        }
        return out;
    }

private:
    Failure unreachable() const {
        const std::string why = ctx_ ? std::string(ctx_->errstr) : "out of memory";
        return engine_unreachable(url_, "Redis", why, "redis-server");
    }

    /// One command; a broken connection is made again once. An error reply is a Runtime error.
    Result<Reply> command(const std::vector<std::string>& args) {
        std::lock_guard lock(mutex_);
        std::vector<const char*> argv;
        std::vector<std::size_t> lens;
        for (const std::string& a : args) {
            argv.push_back(a.data());
            lens.push_back(a.size());
        }
        for (int tries = 0;; ++tries) {
            if (!ctx_ || ctx_->err) {
                if (tries > 0) return unreachable();
                if (ctx_ ? redisReconnect(ctx_.get()) != REDIS_OK : !connect())
                    return unreachable();
                redisSetTimeout(ctx_.get(), to_timeval(timeout_));
            }
            Reply r(static_cast<redisReply*>(redisCommandArgv(
                ctx_.get(), static_cast<int>(argv.size()), argv.data(), lens.data())));
            if (!r) {
                if (tries > 0) return unreachable();
                continue;
            }
            if (r->type == REDIS_REPLY_ERROR) {
                const std::string msg(r->str, r->len);
                // The group exists already (the stream was made before the queue's spec): the
                // chunks are added to it all the same.
                if (msg.starts_with("BUSYGROUP")) return r;
                return fail(ErrorKind::Runtime, "Redis " + url_.host + ":" +
                                                    std::to_string(url_.port) + ": " + args[0] +
                                                    ": " + msg);
            }
            return r;
        }
    }

    Result<Reply> eval(const char* script, const std::vector<std::string>& keys,
                       const std::vector<std::string>& args) {
        std::vector<std::string> cmd = {"EVAL", script, std::to_string(keys.size())};
        cmd.insert(cmd.end(), keys.begin(), keys.end());
        cmd.insert(cmd.end(), args.begin(), args.end());
        return command(cmd);
    }

    std::string claim_key(std::uint32_t chunk) const {
        return url_.name + ":claim:" + std::to_string(chunk);
    }

    static Lease lease_of(const redisReply* entry, const std::string& consumer,
                          std::uint32_t delivery) {
        Lease l;
        l.message_id = text(at(entry, 0));
        auto m = fields(at(entry, 1));
        l.chunk = static_cast<std::uint32_t>(std::stoul(m["chunk"]));
        l.consumer = consumer;
        l.delivery = delivery;
        return l;
    }

    /// A chunk done already (a redelivery raced with the commit): acknowledged and passed over.
    /// True when `l` is still to do.
    Result<bool> skip_if_done(const Lease& l) {
        Result<Reply> d = command({"HGET", done_, std::to_string(l.chunk)});
        if (!d) return std::move(d).error();
        if ((*d)->type == REDIS_REPLY_NIL) return true;
        CONVEYOR_TRY(ack(l, text(d->get())));
        return false;
    }

    /// An entry XAUTOCLAIM gave `consumer`: a lease, or nullopt once it went to the dead
    /// letters (delivered max_deliveries times) or was found done.
    Result<std::optional<Lease>> reclaimed(const QueueSpec& s, const std::string& consumer,
                                           const redisReply* entry) {
        Lease l = lease_of(entry, consumer, 0);
        Result<Reply> p =
            command({"XPENDING", stream_, kGroup, l.message_id, l.message_id, "1", consumer});
        if (!p) return std::move(p).error();
        l.delivery = static_cast<std::uint32_t>(number(at(at(p->get(), 0), 3)));
        if (l.delivery == 0) return std::optional<Lease>{}; // acknowledged meanwhile
        if (l.delivery > s.max_deliveries) {
            CONVEYOR_TRY(give_up(s, l, "", true, l.delivery - 1));
            return std::optional<Lease>{};
        }
        Result<bool> fresh = skip_if_done(l);
        if (!fresh) return std::move(fresh).error();
        if (!*fresh) return std::optional<Lease>{};
        return std::optional<Lease>{std::move(l)};
    }

    Status give_up(const QueueSpec& s, const Lease& l, const std::string& error, bool dead,
                   std::uint32_t deliveries) {
        Result<Reply> r = eval(redis_scripts::kFail, {stream_, errors_, dead_},
                               {kGroup, l.message_id, l.consumer, std::to_string(l.delivery),
                                std::to_string(l.chunk), error, dead ? "1" : "0",
                                std::to_string(s.lease.count()), std::to_string(deliveries)});
        if (!r) return std::move(r).error();
        return ok_status();
    }

    QueueUrl url_;
    std::chrono::milliseconds timeout_;
    std::string meta_, stream_, done_, errors_, dead_;
    std::mutex mutex_; ///< one command at a time on the connection
    std::unique_ptr<redisContext, ContextDeleter> ctx_;
    std::mutex spec_mutex_;
    std::optional<QueueSpec> spec_;
};

} // namespace

Result<std::unique_ptr<WorkQueue>> open_redis_queue(const QueueUrl& url,
                                                    std::chrono::milliseconds timeout) {
    auto q = std::make_unique<RedisQueue>(url, timeout);
    CONVEYOR_TRY(q->connect());
    // A listening port that is not Redis fails here, not on the first real command.
    CONVEYOR_TRY(q->ping());
    return std::unique_ptr<WorkQueue>(std::move(q));
}

} // namespace conveyor::queue

// The NATS JetStream queue. For a queue NAME:
//   stream CONVEYOR_NAME       subject conveyor.NAME.chunks, work-queue retention: one message
//                              per chunk ("I"), removed when acknowledged
//   consumer "workers"         durable pull consumer, explicit acks, AckWait = the lease (the
//                              server redelivers a chunk whose holder stopped renewing),
//                              MaxDeliver unlimited: the delivery count (NumDelivered) is
//                              checked here so that a chunk past max_deliveries becomes a dead
//                              letter with its last error, as on Redis
//   stream CONVEYOR_NAME_DEAD  subject conveyor.NAME.dead: dead letters "I\nDELIVERIES\nERROR"
//   KV bucket conveyor_NAME    meta (the QueueSpec), lease.I (the attempt holding chunk I, put by
//                              each delivery), done.I (the committer, create-only), error.I
// Renewal is an in-progress ack (natsMsg_InProgress) after checking lease.I still names the
// attempt; the fence is a compare-and-set of lease.I on the revision the attempt's own take
// wrote (kvStore_Update), which fails once any later delivery of the chunk was taken.

#include "nats_queue.hpp"

#include "nats_api.hpp"
#include "queue_errors.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <sstream>

namespace conveyor::queue {

namespace {

/// Destroys through the loaded library: `Destroy` is the NatsApi member to call.
template <class T, auto Destroy>
struct Deleter {
    void operator()(T* p) const {
        if (p) (nats().*Destroy)(p);
    }
};
using Connection =
    std::unique_ptr<natsConnection, Deleter<natsConnection, &NatsApi::natsConnection_Destroy>>;
using Js = std::unique_ptr<jsCtx, Deleter<jsCtx, &NatsApi::jsCtx_Destroy>>;
using Kv = std::unique_ptr<kvStore, Deleter<kvStore, &NatsApi::kvStore_Destroy>>;
using Msg = std::unique_ptr<natsMsg, Deleter<natsMsg, &NatsApi::natsMsg_Destroy>>;
using Sub = std::unique_ptr<natsSubscription,
                            Deleter<natsSubscription, &NatsApi::natsSubscription_Destroy>>;
using Entry = std::unique_ptr<kvEntry, Deleter<kvEntry, &NatsApi::kvEntry_Destroy>>;
using Options = std::unique_ptr<natsOptions, Deleter<natsOptions, &NatsApi::natsOptions_Destroy>>;

constexpr const char* kConsumer = "workers";
/// The meta key's value while `queue push` puts the chunks on the queue (its spec after).
constexpr const char* kPushing = "(being pushed)\n";

class NatsQueue final : public WorkQueue {
public:
    NatsQueue(QueueUrl url, std::chrono::milliseconds timeout)
        : url_(std::move(url)), timeout_(timeout), stream_("CONVEYOR_" + url_.name),
          dead_stream_(stream_ + "_DEAD"), subject_("conveyor." + url_.name + ".chunks"),
          dead_subject_("conveyor." + url_.name + ".dead"), bucket_("conveyor_" + url_.name) {}

    Status connect() {
        natsOptions* o = nullptr;
        if (nats().natsOptions_Create(&o) != NATS_OK) return error("options", NATS_NO_MEMORY);
        Options opts(o);
        const std::string address = "nats://" + url_.host + ":" + std::to_string(url_.port);
        nats().natsOptions_SetURL(o, address.c_str());
        nats().natsOptions_SetTimeout(o, timeout_.count());
        natsConnection* nc = nullptr;
        if (natsStatus s = nats().natsConnection_Connect(&nc, o); s != NATS_OK)
            return engine_unreachable(url_, "NATS", nats().natsStatus_GetText(s), "nats-server");
        nc_.reset(nc);
        jsOptions jo;
        nats().jsOptions_Init(&jo);
        jo.Wait = timeout_.count();
        jsCtx* js = nullptr;
        if (natsStatus s = nats().natsConnection_JetStream(&js, nc, &jo); s != NATS_OK)
            return error("JetStream", s);
        js_.reset(js);
        return ok_status();
    }

    Status push(const QueueSpec& spec) override {
        CONVEYOR_TRY(open_bucket(true));
        std::ostringstream meta;
        meta << spec.pipeline << "\n"
             << spec.pipeline_digest << "\n"
             << spec.chunks << "\n"
             << spec.lease.count() << "\n"
             << spec.max_deliveries << "\n";
        const std::string m = meta.str();
        // The name is taken first; the spec goes in once every chunk is on the queue, so that
        // a push that ends before leaves a queue no worker takes from.
        const std::string claim = kPushing;
        std::uint64_t rev = 0;
        if (natsStatus s = nats().kvStore_Create(&rev, kv_.get(), "meta", claim.data(),
                                                 static_cast<int>(claim.size()));
            s != NATS_OK)
            return s == NATS_ERR ? queue_exists(url_) : error("creating the queue", s);
        CONVEYOR_TRY(add_stream(stream_, subject_, js_WorkQueuePolicy));
        CONVEYOR_TRY(add_stream(dead_stream_, dead_subject_, js_LimitsPolicy));
        jsConsumerConfig cc;
        nats().jsConsumerConfig_Init(&cc);
        cc.Durable = kConsumer;
        cc.AckPolicy = js_AckExplicit;
        cc.AckWait = std::chrono::nanoseconds(spec.lease).count();
        cc.MaxDeliver = -1;
        cc.MaxAckPending = -1;
        jsErrCode jerr{};
        if (natsStatus s =
                nats().js_AddConsumer(nullptr, js_.get(), stream_.c_str(), &cc, nullptr, &jerr);
            s != NATS_OK)
            return error("creating the consumer", s);
        for (std::uint32_t i = 0; i < spec.chunks; ++i) {
            const std::string body = std::to_string(i);
            if (natsStatus s = nats().js_Publish(nullptr, js_.get(), subject_.c_str(), body.data(),
                                                 static_cast<int>(body.size()), nullptr, &jerr);
                s != NATS_OK)
                return error("publishing chunk " + body, s);
        }
        if (natsStatus s = nats().kvStore_PutString(&rev, kv_.get(), "meta", m.c_str());
            s != NATS_OK)
            return error("recording the queue's spec", s);
        return ok_status();
    }

    Result<QueueSpec> spec() override {
        std::lock_guard lock(mutex_);
        if (spec_) return *spec_;
        CONVEYOR_TRY(open_bucket(false));
        std::optional<std::string> m = get("meta");
        if (!m) return no_such_queue(url_);
        std::istringstream in(*m);
        QueueSpec s;
        std::string chunks, lease, max;
        std::getline(in, s.pipeline);
        std::getline(in, s.pipeline_digest);
        std::getline(in, chunks);
        std::getline(in, lease);
        std::getline(in, max);
        std::int64_t lease_ms = 0;
        if (!parse_count(chunks, s.chunks) || !parse_count(lease, lease_ms) ||
            !parse_count(max, s.max_deliveries))
            return incomplete_queue(url_);
        s.lease = std::chrono::milliseconds(lease_ms);
        spec_ = s;
        return s;
    }

    Result<std::optional<Lease>> take(const std::string& consumer) override {
        Result<QueueSpec> s = spec();
        if (!s) return std::move(s).error();
        std::lock_guard lock(mutex_);
        if (!sub_) {
            jsSubOptions so;
            nats().jsSubOptions_Init(&so);
            so.Stream = stream_.c_str();
            so.Consumer = kConsumer;
            natsSubscription* sub = nullptr;
            jsErrCode jerr{};
            if (natsStatus st = nats().js_PullSubscribe(&sub, js_.get(), subject_.c_str(),
                                                        kConsumer, nullptr, &so, &jerr);
                st != NATS_OK)
                return error("subscribing", st);
            sub_.reset(sub);
        }
        for (;;) {
            natsMsgList list{};
            jsErrCode jerr{};
            const natsStatus st = nats().natsSubscription_Fetch(&list, sub_.get(), 1, 100, &jerr);
            if (st == NATS_TIMEOUT) return std::optional<Lease>{};
            if (st != NATS_OK) return error("fetching a chunk", st);
            Msg msg(list.Count > 0 ? list.Msgs[0] : nullptr);
            if (list.Count > 0) list.Msgs[0] = nullptr;
            nats().natsMsgList_Destroy(&list);
            if (!msg) return std::optional<Lease>{};
            jsMsgMetaData* meta = nullptr;
            if (natsStatus ms = nats().natsMsg_GetMetaData(&meta, msg.get()); ms != NATS_OK)
                return error("reading a delivery", ms);
            Lease l;
            l.message_id = std::to_string(meta->Sequence.Stream);
            l.delivery = static_cast<std::uint32_t>(meta->NumDelivered);
            nats().jsMsgMetaData_Destroy(meta);
            l.chunk = static_cast<std::uint32_t>(std::stoul(std::string(
                nats().natsMsg_GetData(msg.get()), nats().natsMsg_GetDataLength(msg.get()))));
            l.consumer = consumer;
            if (get(key("done", l.chunk))) {
                nats().natsMsg_AckSync(msg.get(), nullptr, nullptr);
                continue;
            }
            if (l.delivery > s->max_deliveries) {
                CONVEYOR_TRY(to_dead_letters(msg.get(), l, l.delivery - 1, ""));
                continue;
            }
            std::uint64_t rev = 0;
            const std::string a = l.attempt();
            if (natsStatus ps = nats().kvStore_PutString(&rev, kv_.get(),
                                                         key("lease", l.chunk).c_str(), a.c_str());
                ps != NATS_OK)
                return error("recording the lease", ps);
            held_[a] = Held{std::move(msg), rev};
            return std::optional<Lease>{std::move(l)};
        }
    }

    Result<bool> renew(const Lease& l) override {
        std::lock_guard lock(mutex_);
        auto it = held_.find(l.attempt());
        if (it == held_.end()) return false;
        std::optional<std::string> holder = get(key("lease", l.chunk));
        if (!holder || (*holder != l.attempt() && *holder != "commit:" + l.attempt())) {
            held_.erase(it); // another delivery holds it: this one is never acknowledged
            return false;
        }
        if (natsStatus s = nats().natsMsg_InProgress(it->second.msg.get(), nullptr); s != NATS_OK)
            return error("renewing the lease", s);
        return true;
    }

    Result<Fence> fence(const Lease& l) override {
        std::lock_guard lock(mutex_);
        if (get(key("done", l.chunk))) return Fence::AlreadyCommitted;
        auto it = held_.find(l.attempt());
        if (it == held_.end()) return Fence::LeaseLost;
        const std::string v = "commit:" + l.attempt();
        std::uint64_t rev = 0;
        if (nats().kvStore_UpdateString(&rev, kv_.get(), key("lease", l.chunk).c_str(), v.c_str(),
                                        it->second.revision) != NATS_OK) {
            held_.erase(it);
            return Fence::LeaseLost;
        }
        it->second.revision = rev;
        return Fence::Commit;
    }

    Status ack(const Lease& l, const std::string& committed_by) override {
        std::lock_guard lock(mutex_);
        std::uint64_t rev = 0;
        if (!committed_by.empty())
            nats().kvStore_CreateString(&rev, kv_.get(), key("done", l.chunk).c_str(),
                                        committed_by.c_str());
        auto it = held_.find(l.attempt());
        if (it == held_.end()) return ok_status();
        nats().natsMsg_AckSync(it->second.msg.get(), nullptr, nullptr);
        held_.erase(it);
        return ok_status();
    }

    Status fail_attempt(const Lease& l, const std::string& error_text) override {
        Result<QueueSpec> s = spec();
        if (!s) return std::move(s).error();
        std::lock_guard lock(mutex_);
        auto it = held_.find(l.attempt());
        if (it == held_.end()) return ok_status();
        Msg msg = std::move(it->second.msg);
        held_.erase(it);
        const std::string e = error_text.empty() ? "(no error message)" : error_text;
        if (l.delivery >= s->max_deliveries) return to_dead_letters(msg.get(), l, l.delivery, e);
        std::uint64_t rev = 0;
        nats().kvStore_PutString(&rev, kv_.get(), key("error", l.chunk).c_str(), e.c_str());
        if (natsStatus st = nats().natsMsg_Nak(msg.get(), nullptr); st != NATS_OK)
            return error("giving the chunk back", st);
        return ok_status();
    }

    Result<QueueStatus> status() override {
        Result<QueueSpec> s = spec();
        if (!s) return std::move(s).error();
        std::lock_guard lock(mutex_);
        QueueStatus st;
        st.chunks = s->chunks;
        st.done = keys_with("done.").size();
        jsConsumerInfo* ci = nullptr;
        jsErrCode jerr{};
        if (natsStatus e = nats().js_GetConsumerInfo(&ci, js_.get(), stream_.c_str(), kConsumer,
                                                     nullptr, &jerr);
            e != NATS_OK)
            return error("reading the consumer", e);
        st.in_flight = static_cast<std::uint64_t>(ci->NumAckPending);
        nats().jsConsumerInfo_Destroy(ci);
        st.dead = dead_messages().size();
        const std::uint64_t accounted = st.done + st.dead + st.in_flight;
        st.pending = st.chunks > accounted ? st.chunks - accounted : 0;
        return st;
    }

    Result<std::vector<std::pair<std::uint32_t, std::string>>> done() override {
        Result<QueueSpec> s = spec();
        if (!s) return std::move(s).error();
        std::lock_guard lock(mutex_);
        std::vector<std::pair<std::uint32_t, std::string>> out;
        for (const std::string& k : keys_with("done."))
            if (auto v = get(k))
                out.emplace_back(static_cast<std::uint32_t>(std::stoul(k.substr(5))), *v);
        std::sort(out.begin(), out.end());
        return out;
    }

    Result<std::vector<DeadLetter>> dead_letters() override {
        std::lock_guard lock(mutex_);
        std::vector<DeadLetter> out;
        for (const std::string& body : dead_messages()) {
            std::istringstream in(body);
            std::string chunk, deliveries, error_text;
            std::getline(in, chunk);
            std::getline(in, deliveries);
            std::getline(in, error_text, '\0');
            out.push_back({static_cast<std::uint32_t>(std::stoul(chunk)),
                           static_cast<std::uint32_t>(std::stoul(deliveries)), error_text});
        }
        return out;
    }

private:
    struct Held {
        Msg msg;
        std::uint64_t revision = 0; ///< of lease.I as this delivery's take wrote it
    };

    Failure error(const std::string& what, natsStatus s) const {
        const char* detail = nats().nats_GetLastError(nullptr);
        return fail(s == NATS_CONNECTION_CLOSED || s == NATS_NO_SERVER || s == NATS_TIMEOUT ||
                            s == NATS_NO_RESPONDERS
                        ? ErrorKind::TempFail
                        : ErrorKind::Runtime,
                    "NATS " + url_.host + ":" + std::to_string(url_.port) + ": " + what + ": " +
                        nats().natsStatus_GetText(s) +
                        (detail && *detail ? std::string(" (") + detail + ")" : ""));
    }

    static std::string key(const char* kind, std::uint32_t chunk) {
        return std::string(kind) + "." + std::to_string(chunk);
    }

    Status open_bucket(bool create) {
        if (kv_) return ok_status();
        kvStore* kv = nullptr;
        natsStatus s = nats().js_KeyValue(&kv, js_.get(), bucket_.c_str());
        if (s == NATS_NOT_FOUND && create) {
            kvConfig cfg;
            nats().kvConfig_Init(&cfg);
            cfg.Bucket = bucket_.c_str();
            cfg.History = 1;
            s = nats().js_CreateKeyValue(&kv, js_.get(), &cfg);
        }
        if (s == NATS_NOT_FOUND) return no_such_queue(url_);
        if (s != NATS_OK) return error("opening the queue's bucket", s);
        kv_.reset(kv);
        return ok_status();
    }

    std::optional<std::string> get(const std::string& k) {
        kvEntry* e = nullptr;
        if (nats().kvStore_Get(&e, kv_.get(), k.c_str()) != NATS_OK) return std::nullopt;
        Entry entry(e);
        return std::string(nats().kvEntry_ValueString(e));
    }

    std::vector<std::string> keys_with(const std::string& prefix) {
        kvKeysList list{};
        std::vector<std::string> out;
        if (nats().kvStore_Keys(&list, kv_.get(), nullptr) != NATS_OK) return out;
        for (int i = 0; i < list.Count; ++i)
            if (std::string_view(list.Keys[i]).starts_with(prefix)) out.emplace_back(list.Keys[i]);
        nats().kvKeysList_Destroy(&list);
        return out;
    }

    Status add_stream(const std::string& name, const std::string& subject, jsRetentionPolicy r) {
        jsStreamConfig cfg;
        nats().jsStreamConfig_Init(&cfg);
        cfg.Name = name.c_str();
        const char* subjects[] = {subject.c_str()};
        cfg.Subjects = subjects;
        cfg.SubjectsLen = 1;
        cfg.Retention = r;
        cfg.Storage = js_FileStorage;
        jsErrCode jerr{};
        if (natsStatus s = nats().js_AddStream(nullptr, js_.get(), &cfg, nullptr, &jerr);
            s != NATS_OK)
            return error("creating stream " + name, s);
        return ok_status();
    }

    /// Publishes the dead letter, then acknowledges the chunk (a crash between the two leaves it
    /// to be dead-lettered again by the next take: at least once).
    Status to_dead_letters(natsMsg* msg, const Lease& l, std::uint32_t deliveries,
                           const std::string& error_text) {
        std::string e = error_text;
        if (e.empty())
            e = get(key("error", l.chunk))
                    .value_or("the lease expired " + std::to_string(deliveries) +
                              " times (worker lost or too slow)");
        else {
            std::uint64_t rev = 0;
            nats().kvStore_PutString(&rev, kv_.get(), key("error", l.chunk).c_str(), e.c_str());
        }
        const std::string body =
            std::to_string(l.chunk) + "\n" + std::to_string(deliveries) + "\n" + e;
        jsErrCode jerr{};
        if (natsStatus s = nats().js_Publish(nullptr, js_.get(), dead_subject_.c_str(), body.data(),
                                             static_cast<int>(body.size()), nullptr, &jerr);
            s != NATS_OK)
            return error("writing a dead letter", s);
        if (natsStatus s = nats().natsMsg_AckSync(msg, nullptr, &jerr); s != NATS_OK)
            return error("acknowledging a dead chunk", s);
        return ok_status();
    }

    std::vector<std::string> dead_messages() {
        std::vector<std::string> out;
        jsStreamInfo* si = nullptr;
        jsErrCode jerr{};
        if (nats().js_GetStreamInfo(&si, js_.get(), dead_stream_.c_str(), nullptr, &jerr) !=
            NATS_OK)
            return out;
        const std::uint64_t first = si->State.FirstSeq, last = si->State.LastSeq;
        nats().jsStreamInfo_Destroy(si);
        for (std::uint64_t seq = first; seq != 0 && seq <= last; ++seq) {
            natsMsg* m = nullptr;
            if (nats().js_GetMsg(&m, js_.get(), dead_stream_.c_str(), seq, nullptr, &jerr) !=
                NATS_OK)
                continue;
            Msg msg(m);
            out.emplace_back(nats().natsMsg_GetData(m), nats().natsMsg_GetDataLength(m));
        }
        return out;
    }

    QueueUrl url_;
    std::chrono::milliseconds timeout_;
    std::string stream_, dead_stream_, subject_, dead_subject_, bucket_;
    Connection nc_;
    Js js_;
    std::mutex mutex_; ///< the bucket, the subscription, the held deliveries and the spec
    Kv kv_;
    Sub sub_;
    std::map<std::string, Held> held_; ///< by attempt id
    std::optional<QueueSpec> spec_;
};

} // namespace

Result<std::unique_ptr<WorkQueue>> open_nats_queue(const QueueUrl& url,
                                                   std::chrono::milliseconds timeout) {
    CONVEYOR_TRY(load_libnats());
    auto q = std::make_unique<NatsQueue>(url, timeout);
    CONVEYOR_TRY(q->connect());
    return std::unique_ptr<WorkQueue>(std::move(q));
}

} // namespace conveyor::queue

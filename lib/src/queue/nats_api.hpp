#pragma once

// The NATS C client (libnats), loaded when a nats:// queue is first opened rather than linked
// into conveyor: linked, it and the OpenSSL libraries it pulls in are loaded and relocated at
// every start (see conveyor/core/shared_library.hpp). The declarations still come from
// nats/nats.h (libnats-dev), so every call is type-checked against the library's own header.

#include "conveyor/core/result.hpp"

#include <nats/nats.h>

namespace conveyor::queue {

/// The libnats functions the queue calls, each listed once.
#define CONVEYOR_NATS_FUNCTIONS(X)                                                                 \
    X(jsConsumerConfig_Init)                                                                       \
    X(jsConsumerInfo_Destroy)                                                                      \
    X(jsCtx_Destroy)                                                                               \
    X(jsMsgMetaData_Destroy)                                                                       \
    X(jsOptions_Init)                                                                              \
    X(jsStreamConfig_Init)                                                                         \
    X(jsStreamInfo_Destroy)                                                                        \
    X(jsSubOptions_Init)                                                                           \
    X(js_AddConsumer)                                                                              \
    X(js_AddStream)                                                                                \
    X(js_CreateKeyValue)                                                                           \
    X(js_GetConsumerInfo)                                                                          \
    X(js_GetMsg)                                                                                   \
    X(js_GetStreamInfo)                                                                            \
    X(js_KeyValue)                                                                                 \
    X(js_Publish)                                                                                  \
    X(js_PullSubscribe)                                                                            \
    X(kvConfig_Init)                                                                               \
    X(kvEntry_Destroy)                                                                             \
    X(kvEntry_ValueString)                                                                         \
    X(kvKeysList_Destroy)                                                                          \
    X(kvStore_Create)                                                                              \
    X(kvStore_CreateString)                                                                        \
    X(kvStore_Destroy)                                                                             \
    X(kvStore_Get)                                                                                 \
    X(kvStore_Keys)                                                                                \
    X(kvStore_PutString)                                                                           \
    X(kvStore_UpdateString)                                                                        \
    X(natsConnection_Connect)                                                                      \
    X(natsConnection_Destroy)                                                                      \
    X(natsConnection_JetStream)                                                                    \
    X(natsMsgList_Destroy)                                                                         \
    X(natsMsg_AckSync)                                                                             \
    X(natsMsg_Destroy)                                                                             \
    X(natsMsg_GetData)                                                                             \
    X(natsMsg_GetDataLength)                                                                       \
    X(natsMsg_GetMetaData)                                                                         \
    X(natsMsg_InProgress)                                                                          \
    X(natsMsg_Nak)                                                                                 \
    X(natsOptions_Create)                                                                          \
    X(natsOptions_Destroy)                                                                         \
    X(natsOptions_SetTimeout)                                                                      \
    X(natsOptions_SetURL)                                                                          \
    X(natsStatus_GetText)                                                                          \
    X(natsSubscription_Destroy)                                                                    \
    X(natsSubscription_Fetch)                                                                      \
    X(nats_GetLastError)

/// The loaded functions, named as in nats.h.
struct NatsApi {
#define CONVEYOR_NATS_MEMBER(name) decltype(&::name) name = nullptr;
    CONVEYOR_NATS_FUNCTIONS(CONVEYOR_NATS_MEMBER)
#undef CONVEYOR_NATS_MEMBER
};

/// libnats, loaded once (thread-safe); a Config error naming the library and what the loader
/// said when it cannot be loaded or lacks a function.
Result<const NatsApi*> load_libnats();

/// The loaded library; only after load_libnats() succeeded (every queue is opened so).
const NatsApi& nats() noexcept;

} // namespace conveyor::queue

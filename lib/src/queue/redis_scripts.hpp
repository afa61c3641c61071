#pragma once

// The Lua scripts the Redis queue runs with EVAL: each is one atomic step on the server, so that
// "does this delivery still hold the chunk?" and what follows from the answer cannot be split by
// another worker's step. A delivery holds a chunk while the chunk's entry is in the group's
// pending list under its consumer with its delivery count: XAUTOCLAIM by another worker changes
// both, an acknowledgement removes the entry.

namespace conveyor::queue::redis_scripts {

/// KEYS: stream. ARGV: group, id, consumer, delivery. Local helper pasted into each script.
#define CONVEYOR_REDIS_HOLDS                                                                       \
    "local function holds()\n"                                                                     \
    "  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)\n"                  \
    "  return #p == 1 and p[1][2] == ARGV[3] and p[1][4] == tonumber(ARGV[4])\n"                   \
    "end\n"

/// KEYS: stream, claim. ARGV: group, id, consumer, delivery, lease ms, attempt.
/// XCLAIM by the owner with JUSTID restarts the entry's idle time without counting a delivery.
inline constexpr const char* kRenew = CONVEYOR_REDIS_HOLDS
    "if not holds() then return 0 end\n"
    "redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[3], 0, ARGV[2], 'JUSTID')\n"
    "if redis.call('GET', KEYS[2]) == ARGV[6] then redis.call('PEXPIRE', KEYS[2], ARGV[5]) end\n"
    "return 1\n";

/// KEYS: stream, done, claim. ARGV: group, id, consumer, delivery, lease ms, attempt, chunk.
/// Returns {verdict, attempt}: 'done' with the committer, 'lost' with the claim's holder if
/// any, 'ok' after taking the claim for one lease.
inline constexpr const char* kFence =
    CONVEYOR_REDIS_HOLDS "local d = redis.call('HGET', KEYS[2], ARGV[7])\n"
                         "if d then return {'done', d} end\n"
                         "if not holds() then return {'lost', ''} end\n"
                         "local c = redis.call('GET', KEYS[3])\n"
                         "if c and c ~= ARGV[6] then return {'lost', c} end\n"
                         "redis.call('SET', KEYS[3], ARGV[6], 'PX', ARGV[5])\n"
                         "return {'ok', ''}\n";

/// KEYS: stream, done, claim. ARGV: group, id, chunk, committer. The first committer recorded
/// stays; the entry is acknowledged whoever holds it now (the chunk is done).
inline constexpr const char* kAck = "redis.call('HSETNX', KEYS[2], ARGV[3], ARGV[4])\n"
                                    "redis.call('DEL', KEYS[3])\n"
                                    "redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])\n"
                                    "return redis.call('HGET', KEYS[2], ARGV[3])\n";

/// KEYS: stream, errors, dead. ARGV: group, id, consumer, delivery, chunk, error (empty: the
/// last one recorded, else that the leases expired), dead (1: to the dead letters; 0: give it
/// back at once by backdating its idle time to one lease), lease ms, deliveries to report.
/// Returns 'lost', 'dead' or 'retry'.
inline constexpr const char* kFail = CONVEYOR_REDIS_HOLDS
    "if not holds() then return 'lost' end\n"
    "local e = ARGV[6]\n"
    "if e == '' then e = redis.call('HGET', KEYS[2], ARGV[5]) or "
    "('the lease expired ' .. ARGV[9] .. ' times (worker lost or too slow)') else "
    "redis.call('HSET', KEYS[2], ARGV[5], e) end\n"
    "if ARGV[7] == '1' then\n"
    "  redis.call('XADD', KEYS[3], '*', 'chunk', ARGV[5], 'deliveries', ARGV[9], 'error', e)\n"
    "  redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])\n"
    "  return 'dead'\n"
    "end\n"
    "redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[3], 0, ARGV[2], 'IDLE', ARGV[8], 'JUSTID')\n"
    "return 'retry'\n";

#undef CONVEYOR_REDIS_HOLDS

} // namespace conveyor::queue::redis_scripts

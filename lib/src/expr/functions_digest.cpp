// Digests and ids in the expression language: sha256, md5, hmac_sha256 (hex, by OpenSSL)
// and random version-4 UUIDs.

#include "conveyor/core/ascii.hpp"
#include "function_args.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

namespace conveyor::expr {

namespace {

std::string hex(const unsigned char* p, std::size_t n) {
    std::string out;
    append_hex(out, std::string_view(reinterpret_cast<const char*>(p), n));
    return out;
}

Value digest(EvalContext& ctx, const Node& call, std::span<const Value> args, const EVP_MD* md) {
    if (args[0].is_null()) return Value::null();
    auto t = text_arg(ctx, call, args, 0);
    if (!t) return {};
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(t->data(), t->size(), out, &n, md, nullptr) != 1)
        return ctx.fail(call, fname(call) + "() failed in OpenSSL");
    return ctx.string(hex(out, n));
}

Value fn_sha256(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    return digest(ctx, call, args, EVP_sha256());
}
Value fn_md5(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    return digest(ctx, call, args, EVP_md5());
}

Value fn_hmac_sha256(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    if (any_null(args)) return Value::null();
    auto s = text_arg(ctx, call, args, 0);
    auto key = s ? text_arg(ctx, call, args, 1) : std::nullopt;
    if (!key) return {};
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!HMAC(EVP_sha256(), key->data(), static_cast<int>(key->size()),
              reinterpret_cast<const unsigned char*>(s->data()), s->size(), out, &n))
        return ctx.fail(call, "hmac_sha256() failed in OpenSSL");
    return ctx.string(hex(out, n));
}

Value fn_uuid(EvalContext& ctx, const Node& call, std::span<const Value>) {
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1) return ctx.fail(call, "uuid(): no random bytes available");
    b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40); // version 4
    b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80); // RFC 4122 variant
    const std::string h = hex(b, sizeof b);
    return ctx.string(h.substr(0, 8) + '-' + h.substr(8, 4) + '-' + h.substr(12, 4) + '-' +
                      h.substr(16, 4) + '-' + h.substr(20));
}

} // namespace

std::span<const Function> digest_functions() noexcept {
    static const Function kTable[] = {
        {{"sha256", "sha256(s)", "SHA-256 of text, hex"}, 1, 1, Type::String, -1, fn_sha256},
        {{"md5", "md5(s)", "MD5 of text, hex"}, 1, 1, Type::String, -1, fn_md5},
        {{"hmac_sha256", "hmac_sha256(s, key)", "HMAC-SHA-256 of text with a key, hex"},
         2,
         2,
         Type::String,
         -1,
         fn_hmac_sha256},
        {{"uuid", "uuid()", "a random (version 4) UUID"}, 0, 0, Type::String, -1, fn_uuid},
    };
    return kTable;
}

} // namespace conveyor::expr
